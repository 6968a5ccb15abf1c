"""The JSB chorales: find, verify and read them, with a clear line for every kind of bad file.

Where the archive comes from, in this order (``ridership.fetch``): an explicit ``path``
argument, the ``RIDERSHIP_CHORALES`` environment variable (the ``.tgz`` archive or a folder
holding ``jsb_chorales.tgz``), the cache folder, and last a download from the canonical URL.
The chorales are read straight out of the archive: nothing is extracted to disk.

Each chorale is an integer array of shape ``(chords, 4)``: one row per sixteenth note, one
column per voice (``note0`` to ``note3``, soprano to bass), holding piano-key numbers from 36
to 81, or 0 for silence. The splits are the published ones; within a split the chorales are
in the order of their file names, so ``test[2]`` is the third test chorale.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from ..archive import ArchiveInfo, fix_hint, open_archive
from ..errors import RidershipError
from ..fetch import RemoteFile, fetch, sha256sum

CHORALES = RemoteFile(filename="jsb_chorales.tgz", url="https://github.com/ageron/data/raw/main/jsb_chorales.tgz",
                      sha256="e722fbc866fc1ba0bac56a6fcad95d7e3e584da80173e13932e3da441440efd7",
                      env="RIDERSHIP_CHORALES", title="the JSB chorales")
SPLITS = ("train", "valid", "test")
VOICES = ("note0", "note1", "note2", "note3")
MIN_NOTE, MAX_NOTE = 36, 81  # the lowest and highest piano keys the chorales use; 0 is silence
SILENCE = 0

_FIX = fix_hint(CHORALES)
#: The advice when the user named the file (``--data``, the ``path`` argument).
_FIX_GIVEN = (f"Give a good copy of {CHORALES.filename} (--data PATH), or leave the path out to use "
              f"{CHORALES.env}, the cache or a download.")


@dataclass(frozen=True)
class ChoralesInfo(ArchiveInfo):
    """Where the chorales came from, and how many each split holds."""

    counts: dict  # split -> number of chorales
    chords: dict  # split -> number of chords (rows) in all its chorales


def _split_of(name: str) -> str | None:
    """``train`` for ``jsb_chorales/train/chorale_000.csv``; None for anything else."""
    parts = PurePosixPath(name).parts
    if len(parts) >= 2 and parts[-1].lower().endswith(".csv") and parts[-2] in SPLITS:
        return parts[-2]
    return None


def _read_members(file: Path, fix: str = _FIX) -> dict[str, list[tuple[str, bytes]]]:
    """The CSV files of each split, as ``(member name, bytes)`` sorted by name; ``fix`` ends an error's line."""
    found: dict[str, list[tuple[str, bytes]]] = {split: [] for split in SPLITS}
    with open_archive(file, fix) as tar:
        for member in tar:
            split = _split_of(member.name)
            if member.isfile() and split:
                found[split].append((member.name, tar.extractfile(member).read()))
    missing = [split for split in SPLITS if not found[split]]
    if missing:
        raise RidershipError(f"{file} holds no chorales for the split(s) {', '.join(missing)} (expected CSV files "
                             f"under jsb_chorales/{missing[0]}/): it is not the JSB chorales archive. {fix}")
    return {split: sorted(members) for split, members in found.items()}


def parse_chorale(raw: bytes, name: str = "the chorale", fix: str = _FIX) -> np.ndarray:
    """One chorale's CSV (header ``note0,note1,note2,note3``) as an int array of shape ``(chords, 4)``.

    Raises ``RidershipError`` naming the line and the value for a row without four voices, a
    value that is not a whole number, or a note outside 36..81 (0, silence, is allowed);
    ``fix`` ends the line of a file that is no chorale at all.
    """
    try:
        lines = raw.decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise RidershipError(f"{name} is not a text CSV file ({exc}). {fix}") from None
    header = [field.strip() for field in lines[0].split(",")] if lines else []
    if header != list(VOICES):
        found = lines[0] if lines else ""
        raise RidershipError(f"{name}: line 1 must be the header {','.join(VOICES)}; found {found!r}. {fix}")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split(",")
        if len(fields) != len(VOICES):
            raise RidershipError(f"{name}, line {number}: {line!r} has {len(fields)} value(s), not one per voice "
                                 f"({len(VOICES)}). Fix or remove that line.")
        try:
            rows.append([int(field) for field in fields])
        except ValueError:
            bad = next(f for f in fields if not _is_int(f))
            raise RidershipError(f"{name}, line {number}: {bad.strip()!r} is not a whole number (a piano key "
                                 f"{MIN_NOTE}..{MAX_NOTE}, or 0 for silence). Fix or remove that line.") from None
        wrong = [v for v in rows[-1] if v != SILENCE and not MIN_NOTE <= v <= MAX_NOTE]
        if wrong:
            raise RidershipError(f"{name}, line {number}: note {wrong[0]} is outside {MIN_NOTE}..{MAX_NOTE} "
                                 "(0 means silence). Fix or remove that line.")
    if not rows:
        raise RidershipError(f"{name} has a header but no chords. {fix}")
    return np.asarray(rows, dtype=np.int64)


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def read_chorales(path: str | os.PathLike | None = None, **fetch_kwargs) -> tuple[dict, ChoralesInfo]:
    """The chorales as ``{"train": [...], "valid": [...], "test": [...]}`` and where they came from.

    Args:
        path: the archive (or a folder holding ``jsb_chorales.tgz``); default: ``$RIDERSHIP_CHORALES``,
            then the cache, then a download.
        **fetch_kwargs: ``cache``, ``url`` and ``download`` for :func:`ridership.fetch.fetch`.
    """
    file, source = fetch(CHORALES, path, **fetch_kwargs)
    fix = _FIX_GIVEN if source == "argument" else _FIX
    members = _read_members(file, fix)
    chorales = {split: [parse_chorale(raw, f"{file}: {name}", fix) for name, raw in members[split]]
                for split in SPLITS}
    digest = sha256sum(file)
    info = ChoralesInfo(path=str(file), source=source, sha256=digest, checksum_ok=digest == CHORALES.sha256,
                        counts={s: len(chorales[s]) for s in SPLITS},
                        chords={s: int(sum(len(c) for c in chorales[s])) for s in SPLITS})
    return chorales, info


def load_chorales(path: str | os.PathLike | None = None, **fetch_kwargs) -> dict:
    """The exercise's chorales: ``{"train": [...], "valid": [...], "test": [...]}`` of ``(chords, 4)`` arrays.

    Example:

    >>> chorales = load_chorales()            # or load_chorales("/path/to/jsb_chorales.tgz")
    >>> [len(chorales[s]) for s in ("train", "valid", "test")]
    [229, 76, 77]
    >>> chorales["test"][2][0].tolist()       # the first chord of test chorale 2
    [73, 68, 61, 53]
    """
    return read_chorales(path, **fetch_kwargs)[0]
