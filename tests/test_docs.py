"""The Markdown documents' tables are whole: rows under every header, as many cells as the header."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = sorted([ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("benchmarks/**/*.md")])
SEPARATOR = re.compile(r"^\|(\s*:?-+:?\s*\|)+$")


def cells(line: str) -> int:
    return len(line.strip().strip("|").replace(r"\|", "").split("|"))


def tables(text: str):
    """(line number, header, rows) of each table: a header line, a separator line, then rows."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if SEPARATOR.match(line.strip()) and i > 0:
            rows = []
            for row in lines[i + 1:]:
                if not row.startswith("|"):
                    break
                rows.append(row)
            yield i, lines[i - 1], rows


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_table_is_whole(path):
    found = list(tables(path.read_text()))
    for number, header, rows in found:
        assert rows, f"{path.name}:{number + 1}: the table under {header[:60]!r} has no rows"
        bad = [row[:60] for row in rows if cells(row) != cells(header)]
        assert not bad, f"{path.name}:{number + 1}: rows whose cell count differs from the header's: {bad}"
    if path == ROOT / "README.md":
        assert len(found) >= 8  # the tables were found at all
