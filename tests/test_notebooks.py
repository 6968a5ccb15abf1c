"""The notebooks: committed clean, in the chapter's order, defining nothing, and running top to bottom.

CI executes every notebook in quick mode (``RIDERSHIP_QUICK=1``: at most 2 epochs per training),
the same code as a full run; any cell error fails the test.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))


def code_cells(path: Path):
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def test_ten_notebooks_in_the_chapters_order():
    numbers = [int(p.name[:2]) for p in PATHS]
    assert numbers == list(range(1, 11)), [p.name for p in PATHS]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    for cell in code_cells(path):
        assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: clear the outputs before committing"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_imports_from_the_package_and_defines_nothing(path):
    source = "\n".join(c.source for c in code_cells(path))
    assert "import ridership" in source or "from ridership" in source
    assert not re.search(r"^\s*(def|class)\s", source, re.MULTILINE), f"{path.name} defines code the package should own"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_runs_top_to_bottom_in_quick_mode(path, monkeypatch, tmp_path):
    from nbclient import NotebookClient

    monkeypatch.setenv("RIDERSHIP_QUICK", "1")
    monkeypatch.setenv("RIDERSHIP_RESULTS", str(tmp_path / "no-results-here"))  # notebook 10 trains quickly
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("quick mode: True" in o.get("text", "") for o in outputs), "the kernel did not see RIDERSHIP_QUICK"
