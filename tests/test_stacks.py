"""The two tested stacks and what pyproject.toml declares agree.

- every minimum in ``pyproject.toml`` is at most Colab's version (``.ci/colab-constraints.txt``),
  so installing the package into Colab changes nothing Colab preinstalls;
- every pin of ``requirements.txt`` (the newest tested stack) satisfies ``pyproject.toml``;
- ``requirements.txt`` gives macOS ``tensorflow`` (TensorFlow's CPU build has no macOS wheel)
  and Linux and Windows ``tensorflow-cpu``.
"""

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
DECLARED = [Requirement(line) for line in PROJECT["dependencies"]]
PLATFORMS = {"darwin": "Darwin", "linux": "Linux", "win32": "Windows"}


def _requirements(path: Path) -> list[Requirement]:
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return [Requirement(line) for line in lines if line]


def _pins(path: Path) -> dict[str, Version]:
    return {canonicalize_name(r.name): Version(next(iter(r.specifier)).version) for r in _requirements(path)
            if "==" in str(r.specifier)}


COLAB = _pins(ROOT / ".ci" / "colab-constraints.txt")


@pytest.mark.parametrize("requirement", DECLARED, ids=lambda r: r.name)
def test_minimums_are_no_higher_than_colabs(requirement):
    colab = COLAB.get(canonicalize_name(requirement.name))
    if colab is None:  # not preinstalled there (mido): installing it changes nothing of Colab's
        return
    assert requirement.specifier.contains(colab), f"{requirement} would replace Colab's {requirement.name} {colab}"


@pytest.mark.parametrize("platform", PLATFORMS)
def test_the_pinned_stack_satisfies_the_declared_one(platform):
    env = {"sys_platform": platform, "platform_system": PLATFORMS[platform]}
    pinned = {canonicalize_name(r.name): r for r in _requirements(ROOT / "requirements.txt")
              if r.marker is None or r.marker.evaluate(env)}
    for requirement in DECLARED:
        pin = pinned[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(next(iter(pin.specifier)).version), f"{pin} against {requirement}"
    tensorflow = {name for name in pinned if name.startswith("tensorflow")}
    assert tensorflow == ({"tensorflow"} if platform == "darwin" else {"tensorflow-cpu"})


def test_colabs_tensorflow_has_its_cpu_twin():
    assert COLAB[canonicalize_name("tensorflow-cpu")] == COLAB[canonicalize_name("tensorflow")]
