"""The CTA ridership data: find, verify, read and clean it as the chapter does.

Where the archive comes from, in this order (``ridership.fetch``): an explicit ``path``
argument, the ``RIDERSHIP_DATA`` environment variable (the ``.tgz`` archive, its ``.csv``, or
a folder holding ``ridership.tgz``), the cache folder, and last a download from the
canonical URL. A downloaded or cached archive must match the published sha256; a file the
user names is read as it is, and its checksum is reported.
"""

from __future__ import annotations

import io
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .archive import ArchiveInfo, fix_hint, open_archive
from .errors import RidershipError
from .fetch import RemoteFile, fetch, sha256sum

RIDERSHIP = RemoteFile(filename="ridership.tgz", url="https://github.com/ageron/data/raw/main/ridership.tgz",
                       sha256="0ff99f3dddd886ddea161b68f25f90b56b0468f5c91949b75376fb494516c794",
                       env="RIDERSHIP_DATA", title="the ridership data")
CSV_MEMBER = "ridership/CTA_-_Ridership_-_Daily_Boarding_Totals.csv"

RAW_COLUMNS = {"service_date": "date", "day_type": "day_type", "bus": "bus", "rail_boardings": "rail"}
DAY_TYPES = ("A", "U", "W")  # Saturday, Sunday or holiday, weekday
#: Riders a day above this are taken for a typing or export error: the CTA carries under 2 million.
MAX_RIDERS = 50_000_000

#: The chapter's periods (inclusive month bounds; ``None`` means the end of the data).
PERIODS = {
    "train": ("2016-01", "2018-12"),
    "valid": ("2019-01", "2019-05"),
    "test": ("2019-06", None),
}
SCALE = 1e6  # the chapter feeds the networks millions of riders

_FIX = fix_hint(RIDERSHIP)


@dataclass(frozen=True)
class DataInfo(ArchiveInfo):
    """Where the data came from and what cleaning did to it."""

    rows_raw: int
    rows: int
    duplicates_removed: int
    start: str
    end: str

    def as_dict(self) -> dict:
        return asdict(self)


def _read_csv_bytes(file: Path) -> bytes:
    """The CSV's bytes, from a ``.csv`` file or straight out of the archive."""
    if file.suffix.lower() == ".csv":
        return file.read_bytes()
    with open_archive(file, _FIX) as tar:
        members = [m for m in tar.getmembers() if m.isfile() and m.name.lower().endswith(".csv")]
        if not members:
            raise RidershipError(f"{file} holds no CSV file (expected {CSV_MEMBER}). {_FIX}")
        member = next((m for m in members if m.name == CSV_MEMBER), members[0])
        return tar.extractfile(member).read()


def parse_csv(raw: bytes, name: str = "the CSV") -> pd.DataFrame:
    """Parse and check the portal's CSV; return it with the chapter's column names."""
    try:
        frame = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise RidershipError(f"{name} is not a readable CSV file ({exc}). {_FIX}") from None
    missing = [c for c in RAW_COLUMNS if c not in frame.columns]
    if missing:
        raise RidershipError(
            f"{name} lacks the column(s) {', '.join(missing)}; found {', '.join(map(str, frame.columns))}. "
            f"Expected the CTA export with columns {', '.join(RAW_COLUMNS)}[, total_rides]."
        )
    frame = frame[list(RAW_COLUMNS)].rename(columns=RAW_COLUMNS)
    if frame.empty:
        raise RidershipError(f"{name} has a header but no rows. {_FIX}")
    dates = pd.to_datetime(frame["date"].str.strip(), format="%m/%d/%Y", errors="coerce")
    _reject(frame["date"], dates.isna(), name, "date", "a date as MM/DD/YYYY")
    frame["date"] = dates
    for col in ("bus", "rail"):
        values = pd.to_numeric(frame[col].str.strip().str.replace(",", "", regex=False), errors="coerce")
        values = values.astype("float64")  # huge integers too: compared as numbers, never wrapped around
        bad = ~np.isfinite(values) | (values < 0) | (values > MAX_RIDERS) | (values != np.floor(values))
        _reject(frame[col], bad, name, col, f"a whole number of riders from 0 to {MAX_RIDERS:,}")
        frame[col] = values.astype("int64")
    frame["day_type"] = frame["day_type"].str.strip()
    _reject(frame["day_type"], ~frame["day_type"].isin(DAY_TYPES), name, "day_type", "one of W, A, U")
    return frame


def _reject(raw: pd.Series, bad: pd.Series, name: str, column: str, expected: str) -> None:
    if bad.any():
        rows = np.flatnonzero(bad.to_numpy())
        shown = ", ".join(f"line {r + 2}: {raw.iloc[r]!r}" for r in rows[:3])
        more = f" and {len(rows) - 3} more" if len(rows) > 3 else ""
        raise RidershipError(f"{name}: column {column!r} must hold {expected}; bad values at {shown}{more}. Fix or remove those rows.")


def clean(frame: pd.DataFrame, name: str = "the data") -> tuple[pd.DataFrame, int]:
    """Sort by date, drop repeated rows, insist on one row a day; return (df, rows dropped)."""
    frame = frame.sort_values("date", kind="stable")
    deduped = frame.drop_duplicates()
    conflicts = deduped["date"][deduped["date"].duplicated()]
    if len(conflicts):
        days = ", ".join(d.strftime("%Y-%m-%d") for d in conflicts.iloc[:3])
        raise RidershipError(f"{name} has different counts for the same day ({days}). Keep one row per day.")
    df = deduped.set_index("date")
    full = pd.date_range(df.index[0], df.index[-1], freq="D")
    if len(full) != len(df):
        gaps = full.difference(df.index)
        days = ", ".join(d.strftime("%Y-%m-%d") for d in gaps[:5])
        more = f" and {len(gaps) - 5} more" if len(gaps) > 5 else ""
        raise RidershipError(f"{name} has gaps in its dates: no row for {days}{more}. The series must have one row per day.")
    df = df.asfreq("D")
    df.index.name = "date"
    return df, len(frame) - len(deduped)


def read_ridership(path: str | os.PathLike | None = None, **fetch_kwargs) -> tuple[pd.DataFrame, DataInfo]:
    """Load the cleaned daily data and a :class:`DataInfo` saying where it came from.

    Args:
        path: the archive, its CSV, or a folder holding ``ridership.tgz`` (default: see the module).
        **fetch_kwargs: ``cache``, ``url`` or ``download`` for :func:`ridership.fetch.fetch`.
    """
    file, source = fetch(RIDERSHIP, path, **fetch_kwargs)
    raw = _read_csv_bytes(file)
    frame = parse_csv(raw, name=str(file))
    df, dropped = clean(frame, name=str(file))
    digest = sha256sum(file)
    info = DataInfo(
        path=str(file), source=source, sha256=digest, checksum_ok=digest == RIDERSHIP.sha256,
        rows_raw=len(frame), rows=len(df), duplicates_removed=dropped,
        start=df.index[0].strftime("%Y-%m-%d"), end=df.index[-1].strftime("%Y-%m-%d"),
    )
    return df, info


def load_ridership(path: str | os.PathLike | None = None, **fetch_kwargs) -> pd.DataFrame:
    """The chapter's ``df``: daily ``day_type, bus, rail`` indexed by date, 2001-01-01 to 2021-11-30.

    Example:

    >>> df = ridership.load_ridership()          # or load_ridership("/path/to/ridership.tgz")
    >>> day = df.loc["2019-03-01"]
    >>> day.day_type, int(day.bus), int(day.rail)
    ('W', 812238, 682969)
    """
    return read_ridership(path, **fetch_kwargs)[0]


def select(data: pd.DataFrame | pd.Series, start: str | None, end: str | None) -> pd.DataFrame | pd.Series:
    """Rows from ``start`` to ``end`` (inclusive, any pandas date string), checked to lie inside the data."""
    first, last = data.index[0], data.index[-1]
    try:
        lo = pd.Period(start).start_time if start else first
        hi = pd.Period(end).end_time.normalize() if end else last
    except (ValueError, TypeError):
        raise RidershipError(f"Cannot read the period {start!r} to {end!r}: use dates like 2019-03 or 2019-03-01.") from None
    if lo < first or hi > last or lo > hi:
        raise RidershipError(
            f"The period {start or 'start'} to {end or 'end'} is outside the data, which runs from "
            f"{first:%Y-%m-%d} to {last:%Y-%m-%d}. Choose dates inside that range."
        )
    return data.loc[start:end]


def period(data: pd.DataFrame | pd.Series, name: str) -> pd.DataFrame | pd.Series:
    """One of the chapter's periods (``train``, ``valid``, ``test``) of ``data``."""
    if name not in PERIODS:
        raise RidershipError(f"Unknown period {name!r}; choose one of {', '.join(PERIODS)}.")
    return select(data, *PERIODS[name])


def split(data: pd.DataFrame | pd.Series, scale: float = SCALE) -> dict:
    """Train, valid and test parts of ``data`` divided by ``scale`` (the chapter's ``rail_train``...)."""
    return {name: period(data, name) / scale for name in PERIODS}


def multivariate_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Bus and rail in millions plus the next day's type one-hot: five float columns.

    The last day has no next day, so its three day-type columns are all zero, as in the chapter.
    """
    out = df[["bus", "rail"]] / SCALE
    next_day = pd.Categorical(df["day_type"].shift(-1), categories=list(DAY_TYPES))
    dummies = pd.get_dummies(next_day, prefix="next_day_type", dtype=float)
    dummies.index = df.index
    return pd.concat([out, dummies], axis=1).astype("float64")
