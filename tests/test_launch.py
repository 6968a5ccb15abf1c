"""How `ridership reproduce` picks its Keras backend before the package imports Keras."""

import pytest

from ridership.launch import command_args, reproduce_backend

PY = "/usr/bin/python3"


@pytest.mark.parametrize("argv, expected", [
    ([PY, "-m", "ridership", "reproduce", "--quick"], ["reproduce", "--quick"]),
    ([PY, "-X", "importtime", "-u", "-m", "ridership", "data"], ["data"]),
    (["/venv/bin/python", "/venv/bin/ridership", "reproduce"], ["reproduce"]),
    ([PY, "-m", "pytest", "tests"], None),
    ([PY, "-m", "ridership.cli"], None),
    ([PY, "-c", "import ridership"], None),
    ([PY, "notebook.py", "ridership"], None),
    ([PY], None),
])
def test_command_args_recognises_only_the_ridership_command(argv, expected):
    assert command_args(argv) == expected


def test_reproduce_backend_follows_the_backend_option(monkeypatch):
    monkeypatch.setattr("ridership.launch.fastest_backend", lambda: "jax")
    assert reproduce_backend(["reproduce"]) == "jax"
    assert reproduce_backend(["reproduce", "--only", "lstm", "--backend", "auto"]) == "jax"
    assert reproduce_backend(["reproduce", "--backend", "tensorflow"]) == "tensorflow"
    assert reproduce_backend(["reproduce", "--backend=tensorflow"]) == "tensorflow"
    assert reproduce_backend(["reproduce", "--backend", "torch"]) is None  # argparse will refuse it
    assert reproduce_backend(["figures", "--backend", "jax"]) is None  # only reproduce chooses
    assert reproduce_backend([]) is None
    monkeypatch.setattr("ridership.launch.fastest_backend", lambda: None)
    assert reproduce_backend(["reproduce"]) is None  # no JAX: Keras' configured backend
