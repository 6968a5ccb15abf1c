"""The outputs committed in the notebooks: made by ``notebooks/execute.py`` from the cells as they
are, free of errors, noise and machine paths, and small enough to read on GitHub.

Two kinds of test:

- on the committed notebooks (``test_committed_*``): every code cell's source matches the hash its
  outputs were made from (else: stale, rerun ``python notebooks/execute.py NN``), no output holds
  an error, a traceback, TensorFlow's or absl's start-up noise or a path of the machine, and the
  notebooks total at most ``MAX_TOTAL_BYTES``. Until the full run's outputs are committed
  (``OUTPUTS_COMMITTED``), the per-notebook checks are expected to fail, strictly: they report
  as xfailed, with the reason, and the first one to pass turns into a failure that says to set
  ``OUTPUTS_COMMITTED = True``;
- on the checker itself, with a small notebook executed into a temporary folder: a clean run
  passes, and an edited cell, an error, noise, a machine path or a rewritten progress line is
  caught or tidied.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("notebooks_execute", ROOT / "notebooks" / "execute.py")
execute = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(execute)

PATHS = execute.notebooks()

#: False until the commit that adds the full run's outputs (``python notebooks/execute.py``), which
#: sets it to True and drops the test that the notebooks are committed without outputs.
OUTPUTS_COMMITTED = True
_until_committed = pytest.mark.xfail(
    not OUTPUTS_COMMITTED, strict=True,
    reason="the full run's outputs are not committed yet (python notebooks/execute.py); "
           "once they are, set OUTPUTS_COMMITTED = True")


# --- the committed notebooks --------------------------------------------------------------------

@_until_committed
@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_committed_outputs_are_current_and_clean(path):
    notebook = nbformat.read(path, as_version=4)
    found = execute.problems(notebook, path.name)
    assert not found, "\n".join(found)
    run = notebook.metadata.get(execute.KEY, {})
    assert run.get("mode") == "full" and run.get("seed") == 42, f"{path.name}: not a full run of seed 42: {run}"


def test_committed_notebooks_total_at_most_10_mb():
    assert execute.too_big(PATHS) is None, execute.too_big(PATHS)


# --- the checker, on a small notebook executed for the purpose -----------------------------------

SMALL = [
    "print('Keras backend: none; quick mode: True')\nimport pandas as pd\npd.DataFrame({'a': [1]}).style",
    "import sys\nfor i in range(3):\n    print(f'\\rstep {i + 1}/3', end='', file=sys.stdout, flush=True)\nprint()",
    "1 + 1",
]


@pytest.fixture(scope="module")
def executed_small(tmp_path_factory):
    folder = tmp_path_factory.mktemp("small")
    source = folder / "source" / "01_small.ipynb"
    source.parent.mkdir()
    nbformat.write(new_notebook(cells=[new_code_cell(s) for s in SMALL]), source)
    target = folder / "out" / "01_small.ipynb"
    execute.execute(source, target, quick=True, timeout=120)
    return target


@pytest.fixture
def small(executed_small, tmp_path):
    """A fresh copy of the executed small notebook, to spoil."""
    copy = tmp_path / executed_small.name
    shutil.copy(executed_small, copy)
    return nbformat.read(copy, as_version=4)


def test_a_clean_execution_passes_and_records_hashes_and_the_run(small):
    assert execute.problems(small, "01_small.ipynb") == []
    for cell in small.cells:
        assert cell.metadata[execute.KEY]["source_sha256"] == execute.source_hash(cell.source)
        assert "execution" not in cell.metadata  # no timestamps: a rerun changes only what changed
    run = small.metadata[execute.KEY]
    assert run["mode"] == "quick" and run["seed"] == 42 and run["backend"] == "none"


def test_a_rewritten_line_keeps_its_last_state(small):
    assert small.cells[1].outputs[0].text == "step 3/3\n"


def test_a_text_that_only_gives_an_address_is_dropped_beside_the_html(small):
    styled = small.cells[0].outputs[-1]
    assert "text/html" in styled.data and "text/plain" not in styled.data
    assert small.cells[2].outputs[0].data == {"text/plain": "2"}  # a plain value keeps its text


def test_an_edited_cell_is_stale(small):
    small.cells[2].source = "1 + 2"
    found = execute.problems(small, "01_small.ipynb")
    assert len(found) == 1 and "cell 2" in found[0] and "stale" in found[0]


def test_a_cell_never_executed_has_no_hash(small):
    small.cells.append(new_code_cell("print('new')"))
    assert any("no source hash" in line for line in execute.problems(small, "01_small.ipynb"))


def test_a_notebook_without_outputs_is_not_executed(small):
    for cell in small.cells:
        cell.outputs = []
    assert execute.problems(small, "01_small.ipynb") == [
        "01_small.ipynb: no outputs: it was never executed (python notebooks/execute.py 01)"]


@pytest.mark.parametrize("output, word", [
    (new_output("error", ename="ValueError", evalue="bad", traceback=["..."]), "an error"),
    (new_output("stream", name="stderr", text="Traceback (most recent call last):\n"), "Traceback"),
    (new_output("stream", name="stderr", text="WARNING: All log messages before absl::InitializeLog() is called\n"),
     "absl"),
    (new_output("stream", name="stderr", text="I0000 00:00:1 cpu_feature_guard.cc:210] This TensorFlow binary\n"),
     "noise"),
    (new_output("stream", name="stdout", text="reading /home/someone/ridership/results\n"), "path"),
    (new_output("execute_result", data={"text/plain": "PosixPath('/work/wt/data.tgz')"}, execution_count=3), "path"),
    (new_output("stream", name="stdout", text="C:\\Users\\someone\\data\n"), "path"),
])
def test_errors_noise_and_machine_paths_are_caught(small, output, word):
    small.cells[2].outputs.append(output)
    found = execute.problems(small, "01_small.ipynb")
    assert len(found) == 1 and word in found[0], found


def test_a_figure_is_not_read_as_text(small):
    small.cells[2].outputs.append(new_output("display_data", data={"image/png": "L2hvbWUvSTAwMDA=" * 50}))
    assert execute.problems(small, "01_small.ipynb") == []


def test_relative_paths_and_urls_are_fine(small):
    small.cells[2].outputs.append(new_output("stream", name="stdout",
                                             text="reading ../docs/results and https://example.org/tmp/x\n"))
    assert execute.problems(small, "01_small.ipynb") == []


def test_the_size_limit(tmp_path, monkeypatch):
    paths = [tmp_path / "01_a.ipynb", tmp_path / "02_b.ipynb"]
    for path in paths:
        path.write_bytes(b"x" * 600)
    assert execute.too_big(paths) is None
    monkeypatch.setattr(execute, "MAX_TOTAL_BYTES", 1000)
    assert "over" in execute.too_big(paths)


def test_notebooks_are_chosen_by_number_or_name():
    assert execute.select(["4"]) == execute.select(["04"]) == [p for p in PATHS if p.name.startswith("04_")]
    assert execute.select([PATHS[0].stem, PATHS[0].name]) == [PATHS[0]]
    with pytest.raises(SystemExit, match="no notebook '99'"):
        execute.select(["99"])


def test_a_rerun_skips_only_what_is_current(executed_small, tmp_path):
    """Resuming: a notebook executed from its source as it is now, in this mode, is skipped; one whose
    source changed since, or that was executed in the other mode, is run again."""
    source = executed_small.parent.parent / "source" / executed_small.name
    assert execute.up_to_date(source, executed_small, quick=True)
    assert not execute.up_to_date(source, executed_small, quick=False)
    edited = nbformat.read(source, as_version=4)
    edited.cells[2].source = "1 + 2"
    nbformat.write(edited, tmp_path / source.name)
    assert not execute.up_to_date(tmp_path / source.name, executed_small, quick=True)
    assert not execute.up_to_date(source, tmp_path / "missing.ipynb", quick=True)
