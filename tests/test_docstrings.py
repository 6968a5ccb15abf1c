"""Every ``>>>`` example in the package's docstrings runs, in quick mode, and shows what it says.

Each module's examples run with its own names and these, as a reader would have them: ``ridership``,
``np``, ``pd``, ``keras`` and ``df`` (the ridership data, ``ridership.load_ridership()``); on both
backends (the second pass of the test command runs them on TensorFlow).
"""

import doctest
import importlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ridership

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
                 for p in (ROOT / "ridership").rglob("*.py") if p.name != "__main__.py" and ">>>" in p.read_text())
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.mark.both_backends
@pytest.mark.parametrize("name", MODULES)
def test_the_docstring_examples_run(name, df, monkeypatch):
    import keras

    monkeypatch.setenv("RIDERSHIP_QUICK", "1")
    monkeypatch.chdir(ROOT)
    module = importlib.import_module(name)
    tests = [t for t in doctest.DocTestFinder().find(module, name) if t.examples]
    assert tests, f"{name} has '>>>' but no example doctest finds"
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    failures = []
    for test in tests:
        test.globs = {**vars(module), "ridership": ridership, "np": np, "pd": pd, "keras": keras, "df": df}
        report = []
        result = runner.run(test, out=report.append)
        if result.failed:
            failures.append("".join(report))
    assert not failures, "\n".join(failures)[-4000:]
