"""The notebooks: committed clean, in order, defining nothing, teaching what the chapter teaches, running quietly.

Two kinds of check:

- on the committed files: no outputs, imports from the package and no ``def``/``class``,
  ``import ridership`` before Keras, no learning rate typed in, every model of
  ``ridership.MODELS`` shown in the notebook that introduces it, the Dense / TimeDistributed /
  Conv1D(kernel_size=1) equality asserted in a cell;
- on the notebooks executed: every cell runs, the first cell prints ``quick mode: True`` and the
  backend, no output holds TensorFlow's, absl's, malloc's or Keras' noise or a traceback, MAEs
  print with thousands separators, each model's code appears in the output where it is shown,
  and ``return_sequences`` appears in the code and the prose of the notebooks that teach it.

The notebooks are executed once per test session, by the module-scoped fixture ``executed``:
each in a fresh kernel, in quick mode (``RIDERSHIP_QUICK=1``: at most 2 epochs per training, the
same code as a full run), two at a time, the longest first, and only those the selected tests
read. Every check of an output reads that one execution.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
BY_NUMBER = {int(p.name[:2]): p for p in PATHS}

#: Words that mark start-up or runtime noise (TensorFlow, absl, malloc tuning, tracing) or a crash.
NOISE = ("absl", "oneDNN", "cpu_feature_guard", "retracing", "Memory patch", "Traceback")
#: Where ``return_sequences`` must be taught, in code and in prose: the shapes section, the deep RNN, seq2seq.
RETURN_SEQUENCES_IN = {3: "the shapes section", 4: "the deep RNN", 6: "sequence to sequence"}
#: Rough relative run times, so that the longest notebooks start first.
COST = {10: 10, 14: 6, 9: 5, 11: 5, 7: 4, 6: 3, 8: 3, 12: 3, 13: 3, 4: 2.5, 5: 1.5, 3: 1.5}
JOBS = 2
TIMEOUT = 1800  # seconds, for one notebook

_RUNNER = """
import sys
import nbformat
from nbclient import NotebookClient

source, target, folder = sys.argv[1:4]
notebook = nbformat.read(source, as_version=4)
NotebookClient(notebook, timeout=900, kernel_name="python3", allow_errors=True,
               resources={"metadata": {"path": folder}}).execute()
nbformat.write(notebook, target)
"""


def number(path: Path) -> int:
    return int(path.name[:2])


def read(path: Path):
    return nbformat.read(path, as_version=4)


def code_cells(notebook):
    return [c for c in notebook.cells if c.cell_type == "code"]


def markdown(notebook) -> str:
    return "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")


def output_text(output) -> str:
    """Every text an output holds: a stream, a value's representations, an error and its traceback."""
    if output.output_type == "stream":
        return output.get("text", "")
    if output.output_type == "error":
        return "\n".join([output.get("ename", ""), output.get("evalue", ""), *output.get("traceback", [])])
    data = output.get("data", {})
    return "\n".join(str(value) for key, value in data.items() if key.startswith("text/") or key.endswith("json"))


#: Embedded files (an audio player's WAV, an inline image) are base64, where any word can turn up by chance.
EMBEDDED = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=\s]+")


def outputs_text(cell) -> str:
    return EMBEDDED.sub("data:...", "\n".join(output_text(o) for o in cell.get("outputs", [])))


def python_of(cell) -> str:
    """A code cell's source as Python: IPython's magics and shell lines blanked out."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in cell.source.splitlines())


# --- executing the notebooks, once per session ----------------------------------------------

def _needed(session, module_name: str) -> list[Path]:
    """The notebooks the selected tests of this module read executed."""
    wanted = set()
    for item in session.items:
        module = getattr(item, "module", None)
        if module is None or module.__name__ != module_name or "executed" not in getattr(item, "fixturenames", ()):
            continue
        params = item.callspec.params if hasattr(item, "callspec") else {}
        if "path" in params:
            wanted.add(params["path"])
        elif "name" in params and introduced_in(params["name"]):
            wanted.add(introduced_in(params["name"]))
        else:
            wanted.update(PATHS)
    return sorted(wanted)


def _execute(paths: list[Path], out: Path) -> dict[Path, tuple]:
    """Run ``paths`` ``JOBS`` at a time, longest first; return {path: (notebook or None, seconds, stderr)}."""
    env = {**os.environ, "RIDERSHIP_QUICK": "1", "RIDERSHIP_RESULTS": str(out / "no-results-here"),
           "MPLBACKEND": "module://matplotlib_inline.backend_inline",
           # one JAX compile cache for the session's kernels, as `ridership reproduce` keeps one for its runs:
           # a model that two notebooks train is compiled once
           "JAX_COMPILATION_CACHE_DIR": str(out / "compile-cache"), "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}
    queue = sorted(paths, key=lambda p: COST.get(number(p), 1), reverse=True)
    running, done = {}, {}
    try:
        _run_queue(queue, running, done, env, out)
    finally:  # interrupted: stop what is still running (each kernel exits with its parent)
        for process, _, log, _ in running.values():
            process.kill()
            process.wait()
            log.close()
    return done


def _run_queue(queue: list[Path], running: dict, done: dict, env: dict, out: Path) -> None:
    while queue or running:
        while queue and len(running) < JOBS:
            path = queue.pop(0)
            target = out / path.name
            log = open(out / f"{path.stem}.log", "w+")
            process = subprocess.Popen([sys.executable, "-c", _RUNNER, str(path), str(target), str(NOTEBOOKS)],
                                       env=env, stdout=log, stderr=subprocess.STDOUT)
            running[path] = (process, target, log, time.monotonic())
        time.sleep(0.2)
        for path, (process, target, log, start) in list(running.items()):
            elapsed = time.monotonic() - start
            if process.poll() is None and elapsed < TIMEOUT:
                continue
            if process.poll() is None:
                process.kill()
                process.wait()
            log.seek(0)
            notebook = read(target) if process.returncode == 0 and target.is_file() else None
            done[path] = (notebook, elapsed, log.read()[-3000:])
            log.close()
            del running[path]


@pytest.fixture(scope="module")
def executed(request, data_path, chorales_path):
    """{path: executed notebook} for the notebooks the selected tests need, each run once (the
    data fixtures first: they put the archives' paths in the environment the kernels inherit)."""
    paths = _needed(request.session, __name__)
    with tempfile.TemporaryDirectory(prefix="ridership-notebooks-") as out:
        tick = time.monotonic()
        runs = _execute(paths, Path(out))
        total = time.monotonic() - tick
    times = ", ".join(f"{p.name[:2]} {runs[p][1]:.0f} s" for p in paths)
    print(f"\nexecuted {len(paths)} notebook(s) in {total:.0f} s ({JOBS} at a time): {times}")
    return runs


def ran(executed, path: Path):
    notebook, seconds, log = executed[path]
    if notebook is None:
        pytest.fail(f"{path.name} did not finish executing ({seconds:.0f} s):\n{log}")
    return notebook


# --- the committed files ----------------------------------------------------------------------

def test_notebooks_are_numbered_in_the_chapters_order():
    numbers = [number(p) for p in PATHS]
    assert len(numbers) == len(set(numbers)), f"two notebooks share a number: {[p.name for p in PATHS]}"
    assert set(range(1, 11)) | {13, 14} <= set(numbers) <= set(range(1, 15)), [p.name for p in PATHS]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_imports_from_the_package_and_defines_nothing(path):
    source = "\n".join(c.source for c in code_cells(read(path)))
    assert "import ridership" in source or "from ridership" in source
    defines = re.search(r"^\s*(async\s+)?(def|class)\s", source, re.MULTILINE)
    assert not defines, f"{path.name} defines code the package should own"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_ridership_is_imported_before_keras(path):
    """``import ridership`` chooses the backend and quiets TensorFlow, so it must come before Keras loads."""
    source = "\n".join(python_of(c) for c in code_cells(read(path)))
    first_ridership = re.search(r"^\s*(import ridership|from ridership)", source, re.MULTILINE)
    first_backend = re.search(r"^\s*(import|from)\s+(keras|tensorflow|jax)\b", source, re.MULTILINE)
    assert first_ridership, f"{path.name} never imports ridership"
    assert not first_backend or first_ridership.start() < first_backend.start(), \
        f"{path.name} imports {first_backend.group(2)} before ridership"


def _typed_learning_rates(tree) -> list[str]:
    """Learning rates written as numbers: ``learning_rate=0.1``, or a number in its place in a call."""
    found = []
    positional = {"fit_and_evaluate": 3, "compile_model": 1}
    number_like = (ast.Constant, ast.UnaryOp, ast.BinOp)
    names = (ast.Name, ast.Attribute, ast.Subscript, ast.Call)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        for keyword in node.keywords:
            if keyword.arg in ("learning_rate", "lr") and not isinstance(keyword.value, names):
                found.append(ast.unparse(node))
        index = positional.get(name)
        if index is not None and len(node.args) > index and isinstance(node.args[index], number_like):
            found.append(ast.unparse(node))
        module = ast.unparse(node.func.value) if isinstance(node.func, ast.Attribute) else ""
        if module.endswith("optimizers") and node.args and isinstance(node.args[0], number_like):
            found.append(ast.unparse(node))
    return found


def test_the_learning_rate_check_catches_typed_rates():
    for code in ["fit_and_evaluate(m, t, v, learning_rate=0.05)", "fit_and_evaluate(m, t, v, 0.05)",
                 "ridership.training.fit_and_evaluate(m, t, v, 5e-2)", "keras.optimizers.SGD(0.1)",
                 "compile_model(model, 1 / 20)", "fit_experiment('univar', df, learning_rate=-0.1 + 0.2)"]:
        assert _typed_learning_rates(ast.parse(code)), code
    for code in ["fit_and_evaluate(m, t, v, rate)", "fit_experiment('univar', df)",
                 "fit_and_evaluate(m, t, v, ridership.EXPERIMENTS['univar'].learning_rate, epochs=2)"]:
        assert not _typed_learning_rates(ast.parse(code)), code


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_no_learning_rate_is_typed(path):
    """Settings come from the experiment records (``ridership.EXPERIMENTS``), never typed again."""
    for cell in code_cells(read(path)):
        typed = _typed_learning_rates(ast.parse(python_of(cell)))
        assert not typed, f"{path.name} types a learning rate: {typed[0]}; take it from ridership.EXPERIMENTS"


def _shows(name: str) -> re.Pattern:
    return re.compile(rf"(show_code|inspect\.getsource)\(\s*(ridership\.)?models\.{name}\s*\)")


def introduced_in(name: str) -> Path | None:
    """The first notebook that shows the code of ``models.NAME``."""
    return next((p for p in PATHS if any(_shows(name).search(c.source) for c in code_cells(read(p)))), None)


def _model_names() -> list[str]:
    from ridership.models import MODELS

    return sorted(MODELS)


@pytest.mark.parametrize("name", _model_names(), ids=str)
def test_every_model_is_shown_as_code_then_summarised(name):
    """Every model of ``ridership.MODELS`` is shown where a notebook introduces it: a code cell calls
    ``show_code(models.NAME)`` (or ``inspect.getsource``), and a later one prints
    ``models.NAME(...).summary()``; the executed output holding the code is checked below."""
    path = introduced_in(name)
    assert path, f"no notebook shows the code of models.{name}: show_code(models.{name}) where it is introduced"
    sources = [c.source for c in code_cells(read(path))]
    shown = [i for i, s in enumerate(sources) if _shows(name).search(s)]
    summarised = [i for i, s in enumerate(sources) if re.search(rf"models\.{name}\([^)]*\)\.summary\(\)", s)]
    assert shown, f"{path.name} does not show the code of models.{name} (show_code(models.{name}))"
    assert summarised and summarised[-1] > shown[0], f"{path.name} shows no summary of models.{name} after its code"


def test_a_cell_asserts_that_dense_timedistributed_and_conv1d_agree():
    cells = [c.source for p in PATHS for c in code_cells(read(p))]
    proofs = [s for s in cells if "TimeDistributed" in s and "Conv1D" in s and "kernel_size=1" in s
              and re.search(r"assert\s+np\.allclose", s)]
    assert proofs, "no cell asserts that Dense, TimeDistributed(Dense) and Conv1D(kernel_size=1) give the same output"


# --- the notebooks executed ---------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_runs_top_to_bottom_in_quick_mode(path, executed):
    notebook = ran(executed, path)
    for index, cell in enumerate(notebook.cells):
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        assert not errors, f"{path.name}, cell {index}: {errors[0].ename}: {errors[0].evalue}"
    # The set-up: the Colab cell (tests/test_colab.py), then the notebook's own first cell.
    first = "\n".join(outputs_text(cell) for cell in code_cells(notebook)[:2])
    assert "quick mode: True" in first, f"{path.name}: the first cells do not print 'quick mode: True'"
    assert re.search(r"\b(jax|tensorflow)\b", first), f"{path.name}: the first cells do not say which backend runs"


@pytest.mark.slow
@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_no_output_holds_noise(path, executed):
    notebook = ran(executed, path)
    for index, cell in enumerate(notebook.cells):
        text = outputs_text(cell)
        noise = [word for word in NOISE if word in text]
        assert not noise, f"{path.name}, cell {index} prints {noise[0]!r}:\n{text[:1500]}"


@pytest.mark.slow
@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_big_numbers_print_with_thousands_separators(path, executed):
    """An MAE printed as 97148.29176664352 is unreadable: format it (f"{mae:,.0f}", ``riders_table``)."""
    notebook = ran(executed, path)
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            text = output.get("text", "") if output.output_type == "stream" else data.get("text/plain", "")
            raw = re.findall(r"(?<![\d,.])\d{4,}\.\d{3,}", text)
            assert not raw, f"{path.name}, cell {index} prints {raw[0]}: format it with thousands separators"


@pytest.mark.slow
@pytest.mark.parametrize("name", _model_names(), ids=str)
def test_each_models_code_is_in_the_output(name, executed):
    path = introduced_in(name)
    assert path, f"no notebook shows the code of models.{name}"
    notebook = ran(executed, path)
    shown = [outputs_text(c) for c in code_cells(notebook) if _shows(name).search(c.source)]
    assert shown and any(f"def {name}(" in text for text in shown), f"{path.name} does not display models.{name}'s code"


@pytest.mark.slow
@pytest.mark.parametrize("path", [BY_NUMBER[n] for n in RETURN_SEQUENCES_IN if n in BY_NUMBER], ids=lambda p: p.stem)
def test_return_sequences_is_in_code_and_prose(path, executed):
    """In code: a code cell's source or the code it displays; in prose: a markdown cell."""
    notebook = ran(executed, path)
    code = "\n".join(c.source + "\n" + outputs_text(c) for c in code_cells(notebook))
    what = RETURN_SEQUENCES_IN[number(path)]
    assert "return_sequences" in code, f"{path.name} ({what}) has no return_sequences in its code"
    assert "return_sequences" in markdown(notebook), f"{path.name} ({what}) never explains return_sequences"
