"""CI installs exact versions: every `pip install` in the workflows and .ci/run reads
constraints.txt, which pins every package pyproject.toml names, within its bounds."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import PurePosixPath

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.support import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = canonicalize_name(PYPROJECT["project"]["name"])
EXTRAS: dict[str, list[str]] = PYPROJECT["project"]["optional-dependencies"]
# checkov needs packaging<24 and Ray needs >=24.2: it is installed in a venv of its own,
# never with these pins (pyproject.toml, .ci/run).
OWN_VENV = "checkov"


def pins() -> dict[str, Version]:
    found: dict[str, Version] = {}
    for number, line in enumerate((ROOT / "constraints.txt").read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        name, sep, version = line.partition("==")
        assert sep and re.fullmatch(r"[A-Za-z0-9._-]+", name), f"constraints.txt:{number}: not name==version: {line}"
        assert canonicalize_name(name) not in found, f"constraints.txt:{number}: {name} pinned twice"
        found[canonicalize_name(name)] = Version(version)
    return found


def requirements() -> list[tuple[str, Requirement]]:
    """(where, requirement) for the dependencies and every extra but checkov's; not the
    dev extra's reference to this project's own extras."""
    named = [("dependencies", Requirement(r)) for r in PYPROJECT["project"]["dependencies"]]
    named += [(extra, Requirement(r)) for extra, reqs in EXTRAS.items() if extra != OWN_VENV for r in reqs]
    return [(where, r) for where, r in named if canonicalize_name(r.name) != PROJECT]


def test_every_package_pyproject_names_is_pinned_within_its_bounds() -> None:
    pinned = pins()
    assert len(pinned) > 50  # the whole dev set, transitive packages included
    for where, req in requirements():
        name = canonicalize_name(req.name)
        assert name in pinned, f"{where}: {req} is not pinned in constraints.txt (regenerate it, see its header)"
        assert req.specifier.contains(pinned[name], prereleases=True), \
            f"{where}: constraints.txt pins {name}=={pinned[name]}, outside {req} (regenerate it)"


def test_checkov_is_not_pinned_beside_ray() -> None:
    assert canonicalize_name("checkov") not in pins() and canonicalize_name("ray") in pins()


def test_the_dev_extra_takes_the_engines_from_their_extras_without_repeating_them() -> None:
    dev = [Requirement(r) for r in EXTRAS["dev"]]
    own = [r for r in dev if canonicalize_name(r.name) == PROJECT]
    engine_extras = {"conformance", "ops", "cluster"}
    assert len(own) == 1 and own[0].extras == engine_extras
    engines = {canonicalize_name(Requirement(r).name) for extra in engine_extras for r in EXTRAS[extra]} - {PROJECT}
    names = [canonicalize_name(r.name) for r in dev]
    assert not engines & set(names), "name these in conformance, ops or cluster only, with one bound"
    assert len(names) == len(set(names)), "a package named twice in the dev extra"


def pip_installs() -> list[tuple[str, str]]:
    """(file, command) for every `pip install` in the workflows and .ci/run."""
    files = sorted((ROOT / ".github" / "workflows").glob("*.yml")) + [ROOT / ".ci" / "run"]
    return [(path.name, line.strip()) for path in files for line in path.read_text().splitlines()
            if re.search(r"\bpip install\b", line) and not line.lstrip().startswith("#")]


def test_there_are_installs_to_check() -> None:
    assert len(pip_installs()) >= 16  # two per job that installs, and .ci/run


HASHED = ".github/requirements/workflows.txt"


def hashed_pins() -> dict[str, tuple[Version, int]]:
    """name -> (version, how many hashes) of the workflows' hashed requirements."""
    found: dict[str, tuple[Version, int]] = {}
    name = ""
    for line in (ROOT / HASHED).read_text().splitlines():
        if re.match(r"^[A-Za-z0-9]", line):
            req, _, version = line.split(" ")[0].partition("==")
            name = canonicalize_name(req)
            found[name] = (Version(version), 0)
        elif "--hash=sha256:" in line and name:
            found[name] = (found[name][0], found[name][1] + 1)
    return found


def test_the_workflows_hashed_requirements_match_the_constraints() -> None:
    """Issue 23 item 8: workflow pip installs had no hashes. Every package the workflows install
    is pinned to constraints.txt's version (the build backend excepted: pip freeze omits it),
    with a hash for each of its distributions."""
    pinned, hashed = pins(), hashed_pins()
    for dependency in PYPROJECT["project"]["dependencies"]:
        assert canonicalize_name(Requirement(dependency).name) in hashed, dependency
    for name, (version, hashes) in hashed.items():
        assert hashes >= 1, f"{HASHED}: {name} has no hash"
        if name != "setuptools":
            assert pinned.get(name) == version, f"{HASHED}: {name}=={version}, constraints.txt {pinned.get(name)} " \
                                                "(regenerate it, see .github/requirements/workflows.in)"


@pytest.mark.parametrize(("where", "command"), pip_installs())
def test_every_pip_install_uses_the_constraints_of_the_checkout_it_installs(where: str, command: str) -> None:
    words = shlex.split(command, comments=True)
    if words[-2:] == ["--upgrade", "pip"]:
        return  # pip itself (pip freeze never lists it)
    if "--require-hashes" in words:  # the workflows' dependencies: hashed, nothing resolved
        assert "--no-deps" in words and words[words.index("-r") + 1].endswith(HASHED), f"{where}: {command}"
        return
    if where.endswith(".yml"):  # then the checkout itself, which brings nothing else
        assert {"--no-deps", "--no-index", "--no-build-isolation"} <= set(words), f"{where}: {command}"
    if f".[{OWN_VENV}]" in words:
        assert "-c" not in words, f"{where}: checkov's venv cannot take the dev pins"
        return
    assert words.count("-c") == 1, f"{where}: {command} (add -c constraints.txt)"
    constraints = PurePosixPath(words[words.index("-c") + 1])
    assert constraints.name == "constraints.txt", f"{where}: {command}"
    local = [w for w in words if w.startswith((".", "./")) and not w.startswith(".venv")]
    assert local, f"{where}: {command} installs no checkout of this repository"
    checkout = PurePosixPath(local[0].split("[")[0].strip("'"))
    assert constraints.parent == checkout, f"{where}: {command} reads another checkout's constraints"
