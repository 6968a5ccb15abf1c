"""Shared fixtures: the data taken the way the package takes it.

1. ``RIDERSHIP_DATA`` and ``RIDERSHIP_CHORALES``: the archive, or a folder that holds it;
2. else ``../shared/data`` beside the clone, when there is one (this project's offline copy);
3. else the package's cache (``RIDERSHIP_CACHE``, ...), else a download into it (from
   ``RIDERSHIP_MIRROR`` when set), checked against the published sha256.

What is found is put in the variables, so the notebooks and commands the tests start read the
same file. Without data and without a network, the data tests fail with one line naming both
variables.
"""

import os
import tarfile
from pathlib import Path

import pytest

import ridership

ridership.choose_backend()  # before any test imports Keras: JAX unless KERAS_BACKEND says otherwise

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
for _env, _name in (("RIDERSHIP_DATA", "ridership.tgz"), ("RIDERSHIP_CHORALES", "jsb_chorales.tgz")):
    if not os.environ.get(_env) and (SHARED / _name).is_file():
        os.environ[_env] = str(SHARED / _name)


def _archive(remote) -> Path:
    """The archive's file, found (or downloaded) by the package; one line on failure."""
    from ridership import RidershipError
    from ridership.fetch import fetch

    error = None
    try:
        file, _ = fetch(remote)
    except RidershipError as exc:
        error = exc
    if error:  # outside the except block: one line, no chained traceback
        pytest.fail(f"No {remote.filename}: set RIDERSHIP_DATA and RIDERSHIP_CHORALES to the archives (or their "
                    f"folder), or run the tests with a network. {error}", pytrace=False)
    os.environ[remote.env] = str(file.resolve())
    return file.resolve()


@pytest.fixture(scope="session")
def data_path() -> Path:
    from ridership.data import RIDERSHIP

    return _archive(RIDERSHIP)


@pytest.fixture(scope="session")
def chorales_path() -> Path:
    from ridership.chorales.data import CHORALES

    return _archive(CHORALES)


@pytest.fixture(scope="session")
def df(data_path):
    from ridership.data import load_ridership

    return load_ridership(data_path)


@pytest.fixture(scope="session")
def csv_text(data_path) -> str:
    """The raw CSV from the archive, for tests that make broken copies of it."""
    with tarfile.open(data_path, "r:gz") as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith(".csv"))
        return tar.extractfile(member).read().decode()
