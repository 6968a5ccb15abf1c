"""Google Colab: every notebook opens there from its badge, and its first code cell installs the
package beside Colab's own packages without changing any of them.

The repository's public address is written once, in ``pyproject.toml``'s ``[project.urls]``;
the badges and the setup cell's install source must agree with it. The setup cell is run as
Colab runs it: in IPython, with a stand-in ``google.colab`` module, in an environment whose
packages play Colab's preinstalled ones (this test environment's, seen through a ``.pth``
file), installing from this checkout (``RIDERSHIP_INSTALL_SOURCE``) with no package index.
"""

import json
import os
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
REPOSITORY = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]


def _setup_cell(path: Path) -> str:
    return next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code").source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_badge_opens_this_notebook_from_the_repository(path):
    first = nbformat.read(path, as_version=4).cells[0]
    github = REPOSITORY.removeprefix("https://github.com/")
    url = f"https://colab.research.google.com/github/{github}/blob/main/notebooks/{path.name}"
    assert first.cell_type == "markdown" and f"]({url})" in first.source, f"{path.name}: no badge opening {url}"


def test_every_notebook_starts_with_the_same_setup_cell():
    cells = {path.name: _setup_cell(path) for path in NOTEBOOKS}
    cell = cells[NOTEBOOKS[0].name]
    assert all(other == cell for other in cells.values()), [n for n, c in cells.items() if c != cell]
    assert 'if "google.colab" in sys.modules:' in cell and f'"git+{REPOSITORY}"' in cell
    assert "%pip install --quiet -c " in cell  # held: every preinstalled package as a constraint
    assert "ridership.choose_backend()" in cell and "keras" not in cell.replace("Keras", "")


_PACKAGES = """
import json, sys
from importlib.metadata import distributions
seen = {}
for d in distributions():  # in sys.path order: the first of a name is the one imported
    name = (d.metadata["Name"] or "").lower().replace("_", "-")
    if name and name not in seen:
        seen[name] = [d.version, str(d.locate_file(""))]
print(json.dumps(seen))
"""


def _packages(python: Path, env: dict) -> dict:
    done = subprocess.run([str(python), "-c", _PACKAGES], capture_output=True, text=True, env=env, check=True,
                          cwd=python.parent)
    return json.loads(done.stdout)


@pytest.mark.slow
def test_the_setup_cell_on_colab_installs_the_package_and_changes_nothing(tmp_path):
    venv = tmp_path / "colab"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # "Preinstalled": this environment's packages (pip and IPython included), behind the new one's.
    (site / "preinstalled.pth").write_text(f"import site; site.addsitedir({sysconfig.get_path('purelib')!r})\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PIP_", "PYTHON"))}
    env.update(RIDERSHIP_INSTALL_SOURCE=str(ROOT), PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1",
               PIP_NO_BUILD_ISOLATION="0", PIP_DISABLE_PIP_VERSION_CHECK="1")
    python = venv / "bin" / "python"
    before = _packages(python, env)
    script = tmp_path / "first_cell.ipy"
    script.write_text('import sys, types\nsys.modules["google.colab"] = types.ModuleType("google.colab")\n'
                      + _setup_cell(NOTEBOOKS[0]) + "\n")
    done = subprocess.run([str(python), "-m", "IPython", "--quick", "--no-banner", str(script)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert done.returncode == 0 and "Keras backend: " in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]
    after = _packages(python, env)
    assert Path(after["ridership"][1]).resolve() == site.resolve()  # installed into the new environment
    changed = {name: (before.get(name), version) for name, version in after.items()
               if name != "ridership" and before.get(name) != version}
    assert not changed, f"the setup cell changed preinstalled packages: {changed}"
