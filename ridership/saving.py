"""Loading a saved ``.keras`` model that may hold the package's custom layers.

Keras finds a custom layer in a saved file by the name it was registered under, and a layer
registers when the module defining it is imported (``@keras.saving.register_keras_serializable``),
as Keras' own layers do. :func:`load_model` imports those modules first, so a model saved by
``ridership reproduce`` or ``ridership chorales train`` loads in a process that imported nothing else.
"""

from __future__ import annotations

import importlib
import os

#: The modules whose import registers the package's Keras layers.
LAYER_MODULES = ("ridership.layers", "ridership.chorales.layers")


def load_model(path: str | os.PathLike, **kwargs):
    """Load a ``.keras`` file with the package's custom layers registered first.

    Args:
        path: the ``.keras`` file.
        **kwargs: passed to ``keras.saving.load_model`` (``compile``, ``safe_mode``).

    Example:

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "custom_ln.keras"
    >>> ridership.models.custom_ln().save(path)
    >>> type(ridership.load_model(path).layers[0].cell).__name__
    'LNSimpleRNNCell'
    """
    for name in LAYER_MODULES:
        importlib.import_module(name)  # registers the layers it defines
    import keras

    return keras.saving.load_model(path, **kwargs)
