"""JAX's persistent compilation cache for ``ridership reproduce``: compile a program once.

Every run compiles its training and evaluation steps and a few dozen small functions
(initializers, metrics, optimizer updates), which takes a second or more of a run that
may train for only a few seconds. Other seeds of the same network compile the very same
programs, and other networks many of the small ones. JAX can keep compiled programs on
disk, keyed by the computation, the JAX and XLA versions and ``XLA_FLAGS`` (which carry
our thread count), so a hit loads the program a compile would have built and the results
do not change. The cache lives in the results folder: a fresh folder starts cold, and
more seeds or a rerun into the same folder find it warm.
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path

#: The cache's folder inside a results folder.
CACHE_DIR = "compile-cache"

# JAX warns and compiles afresh when an entry cannot be read (one process reading what
# another is still writing, or a file cut short by an interrupted run): harmless here.
_READ_ERROR = "Error reading persistent compilation cache entry"


@contextlib.contextmanager
def persistent_compile_cache(path: str | Path | None):
    """Within the block, JAX keeps its compiled programs in ``path`` and looks there first.

    Processes forked inside the block inherit the setting. On other backends, with
    ``path=None``, or when JAX already has a cache folder of its own (for instance from
    ``JAX_COMPILATION_CACHE_DIR``), nothing changes. The previous settings come back after.
    """
    import keras

    if path is None or keras.backend.backend() != "jax":
        yield
        return
    import jax
    from jax.experimental.compilation_cache import compilation_cache as cc

    if jax.config.jax_compilation_cache_dir:
        yield
        return
    names = ("jax_compilation_cache_dir", "jax_persistent_cache_min_compile_time_secs")
    before = {name: getattr(jax.config, name) for name in names}
    Path(path).mkdir(parents=True, exist_ok=True)
    cc.reset_cache()  # JAX decides once per process whether to use a cache: ask it again
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)  # the small ones add up
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_READ_ERROR)
            yield
    finally:
        for name, value in before.items():
            jax.config.update(name, value)
        cc.reset_cache()
