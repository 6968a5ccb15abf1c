"""The package's import graph: no cycles, and ``import ridership`` changes nothing in the process."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "ridership"
MODULES = sorted(
    ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    for p in PACKAGE.rglob("*.py") if p.name != "__main__.py")

# One interpreter loads the third-party libraries once, then forks a child per module: each child
# starts with no module of the package loaded, imports one, and reports which of ours came with it.
_PROBE = r"""
import importlib, json, os, sys
import numpy, pandas, matplotlib, scipy, keras  # shared by the children; none of them imports ridership
assert not [m for m in sys.modules if m.split(".")[0] == "ridership"]
found = {}
for name in json.loads(sys.argv[1]):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        importlib.import_module(name)
        loaded = sorted(m for m in sys.modules if m.split(".")[0] == "ridership")
        os.write(write, json.dumps(loaded).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        text = pipe.read()
    _, status = os.waitpid(pid, 0)
    found[name] = json.loads(text) if status == 0 and text else None
print(json.dumps(found))
"""


@pytest.fixture(scope="module")
def imported() -> dict[str, list[str]]:
    """Each module of the package -> the package's modules that importing it alone loads."""
    if not hasattr(os, "fork"):
        pytest.skip("needs os.fork")
    done = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(MODULES)], capture_output=True, text=True,
                          cwd=ROOT, timeout=600, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1])


def _ancestors(name: str) -> set[str]:
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def test_every_module_imports_alone(imported):
    failed = [name for name, loaded in imported.items() if loaded is None]
    assert not failed, f"modules that fail to import alone: {failed}"


def _own(imported: dict, name: str) -> set[str]:
    """What importing ``name`` loads beyond what its parent packages load (Python imports them first)."""
    inherited = set().union(*(imported.get(parent) or () for parent in _ancestors(name)))
    return set(imported.get(name) or ()) - inherited - _ancestors(name) - {name}


def test_no_module_imports_one_of_its_importers(imported):
    """If importing A loads B, importing B must not load A."""
    cycles = sorted({tuple(sorted((a, b))) for a in imported for b in _own(imported, a) if a in _own(imported, b)})
    assert not cycles, f"import cycles: {cycles}"


def test_the_settings_and_the_package_load_no_keras():
    code = "import ridership, ridership.settings, sys; print('keras' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "False"


def _imports_in_source(name: str) -> set[str]:
    """The package's modules that ``name``'s source imports, at its top or inside a function."""
    path = PACKAGE.parent / (name.replace(".", "/") + ("/__init__.py" if (ROOT / name.replace(".", "/")).is_dir()
                                                       else ".py"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([node.module] if node.module else []))
            found |= {f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names}
    return {m for m in found if m in MODULES and m != name and m not in _ancestors(name)}


def test_no_cycle_even_through_deferred_imports():
    """An import inside a function counts too: ``training`` importing ``experiments`` while
    ``experiments.fit_experiment`` imports ``training`` is a cycle, however it is deferred."""
    graph = {name: _imports_in_source(name) for name in MODULES}
    cycles = []

    def visit(name, path):
        for nxt in sorted(graph[name]):
            if nxt in path:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in seen:
                seen.add(nxt)
                visit(nxt, path + [nxt])

    seen: set[str] = set()
    for start in MODULES:
        if start not in seen:
            seen.add(start)
            visit(start, [start])
    assert not cycles, f"import cycles: {cycles}"


@pytest.mark.parametrize("backend", [None, "tensorflow"])
def test_importing_the_package_changes_nothing_in_the_process(backend):
    """No environment variable set, no import hook added: the backend is chosen by ``choose_backend()`` only."""
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND" and not k.startswith("TF_")}
    if backend:
        env["KERAS_BACKEND"] = backend
    code = ("import os, sys; before = (dict(os.environ), list(sys.meta_path)); import ridership; "
            "print(os.environ.get('KERAS_BACKEND'), dict(os.environ) == before[0], sys.meta_path == before[1])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, check=True)
    assert done.stdout.split() == [str(backend), "True", "True"]
    chosen = subprocess.run([sys.executable, "-c", "import ridership; print(ridership.choose_backend())"],
                            capture_output=True, text=True, cwd=ROOT, env=env, check=True)
    assert chosen.stdout.strip() == (backend or "jax")  # a KERAS_BACKEND of yours wins; else JAX (installed here)
