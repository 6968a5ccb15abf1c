"""The documents: whole tables, a README that is a product page, and commands that are really run."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCUMENTS = sorted([README, *ROOT.glob("docs/*.md"), *ROOT.glob("benchmarks/**/*.md")])
SEPARATOR = re.compile(r"^\|(\s*:?-+:?\s*\|)+$")
COMMIT = re.compile(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{7,40}\b")
CLOCK = re.compile(r"\b[0-2]?[0-9]:[0-5][0-9]( UTC)?\b")


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").replace(r"\|", "").split("|")]


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


def section(text: str, title: str) -> str:
    """The text under the ``## title`` heading, up to the next heading of that level."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, f"README.md has no '## {title}' section"
    return match.group(1)


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_table_is_whole(path):
    found = list(tables(path.read_text()))
    for number, header, rows in found:
        assert rows, f"{path.name}:{number + 1}: the table under {header[:60]!r} has no rows"
        bad = [row[:60] for row in rows if len(cells(row)) != len(cells(header))]
        assert not bad, f"{path.name}:{number + 1}: rows whose cell count differs from the header's: {bad}"


def test_the_readme_is_a_product_page():
    lines = README.read_text().splitlines()
    assert len(lines) <= 200
    assert not [line for line in lines if COMMIT.search(line)], "a commit hash in README.md"
    assert not [line for line in lines if CLOCK.search(line)], "a clock time in README.md"
    assert len(list(tables(README.read_text()))) >= 4


def test_the_modules_table_names_every_module():
    table = section(README.read_text(), "Layout")
    named = set(re.findall(r"`([\w/]+\.py)`", table))
    modules = {p.relative_to(ROOT / "ridership").as_posix() for p in (ROOT / "ridership").rglob("*.py")
               if p.name not in ("__init__.py", "__main__.py")}
    assert modules - named == set(), "modules missing from the README's Layout table"
    assert named - modules == set(), "the README's Layout table names modules that do not exist"


def test_the_readmes_two_commands_are_the_ones_ci_runs():
    blocks = re.findall(r"```bash\n(.*?)\n```", section(README.read_text(), "Two commands"), re.DOTALL)
    assert len(blocks) == 2, blocks
    main_job, tests = blocks
    setup = "python3 -m venv .venv && . .venv/bin/activate && pip install -r requirements.txt -e . && "
    assert main_job.startswith(setup) and "ridership reproduce" in main_job
    assert tests.startswith(setup)
    # Both passes run it: requirements.txt in .ci/run, Colab's stack in .ci/colab-stack.
    for script, install in (("run", "-r requirements.txt -e ."), ("colab-stack", "-c .ci/colab-constraints.txt")):
        lines = [line.strip() for line in (ROOT / ".ci" / script).read_text().splitlines()]
        assert tests[len(setup):] in lines, f"the README's test command is not the one .ci/{script} runs"
        assert any(install in line for line in lines), f".ci/{script} does not install with {install}"


@pytest.mark.parametrize("path", sorted(ROOT.glob("docs/*.md")), ids=lambda p: p.name)
def test_docs_are_documents_not_logs(path):
    text = path.read_text()
    assert len(text.splitlines()) < 300
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert not [h for h in headings if re.search(r"session|\b20\d\d-\d\d|\brun \d|round \d", h, re.IGNORECASE)]
    assert not COMMIT.search(text), f"{path.name} holds a commit hash"


def test_the_package_holds_no_dated_measurements():
    dated = [f"{p.relative_to(ROOT)}:{n}" for p in (ROOT / "ridership").rglob("*.py")
             for n, line in enumerate(p.read_text().splitlines(), 1) if re.search(r"202[4-9]-[01][0-9]", line)]
    assert not dated


def test_benchmarks_are_few_and_each_is_documented_with_its_command():
    scripts = sorted(p.name for p in (ROOT / "benchmarks").glob("*.py")  # what they share (timing.py) is no benchmark
                     if 'if __name__ == "__main__"' in p.read_text())
    assert len(scripts) <= 9  # each defends a target of its own; cluster.py (56) and backtest.py (57) made nine
    text = (ROOT / "docs" / "benchmarks.md").read_text()
    assert not [s for s in scripts if f"python benchmarks/{s}" not in text], "a benchmark without its command"
