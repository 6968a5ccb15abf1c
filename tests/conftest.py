"""Shared fixtures: the data comes from ../shared/data unless the environment says otherwise.

``RIDERSHIP_DATA`` and ``RIDERSHIP_CHORALES`` may name the archive or the folder that holds it.
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


def _archive(env: str, name: str) -> Path:
    given = Path(os.environ.get(env, SHARED / name))
    return given / name if given.is_dir() else given


DATA = _archive("RIDERSHIP_DATA", "ridership.tgz")
CHORALES = _archive("RIDERSHIP_CHORALES", "jsb_chorales.tgz")


@pytest.fixture(scope="session")
def data_path() -> Path:
    if not DATA.is_file():
        pytest.fail(f"The ridership archive is needed at {DATA}: set RIDERSHIP_DATA=/path/to/ridership.tgz")
    return DATA


@pytest.fixture(scope="session")
def chorales_path() -> Path:
    if not CHORALES.is_file():
        pytest.fail(f"The chorales archive is needed at {CHORALES}: set RIDERSHIP_CHORALES=/path/to/jsb_chorales.tgz")
    return CHORALES


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
