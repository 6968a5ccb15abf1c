"""Shared fixtures: the data comes from ../shared/data unless RIDERSHIP_DATA says otherwise."""

import os
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "ridership.tgz"
if not os.environ.get("RIDERSHIP_DATA") and SHARED.is_file():
    os.environ["RIDERSHIP_DATA"] = str(SHARED)
DATA = Path(os.environ.get("RIDERSHIP_DATA", SHARED))


@pytest.fixture(scope="session")
def data_path() -> Path:
    if not DATA.is_file():
        pytest.fail(f"The ridership archive is needed at {DATA}: set RIDERSHIP_DATA=/path/to/ridership.tgz")
    return DATA


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
