"""``python -m ridership``: the same as the ``ridership`` command."""

import sys

from .cli import main

sys.exit(main())
