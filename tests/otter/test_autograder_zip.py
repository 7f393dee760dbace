"""What ``autograder.zip`` holds: Otter's files, the plugin config, the engine and its data."""

from __future__ import annotations

import json
import zipfile

import pytest

from autograder.lessons import REPO_ROOT, lesson_by_number
import yaml

from autograder.otter import autograder_zip
from autograder.otter.autograder_zip import (PACKAGES, SOURCE_DIR, OtterGenerateError, package_files,
                                            pinned_versions, project_dependencies, requirements)
from autograder.otter.plugin import PLUGIN_NAME


@pytest.fixture(scope="module")
def archive(autograder_zip):
    with zipfile.ZipFile(autograder_zip(lesson_by_number(2))) as zf:
        yield zf


def test_zip_has_otters_files_and_runs_the_plugin_for_its_lesson(archive):
    names = set(archive.namelist())
    assert {"run_autograder", "run_otter.py", "setup.sh", "environment.yml", "otter_config.json"} <= names
    config = json.loads(archive.read("otter_config.json"))
    assert config["plugins"] == [{PLUGIN_NAME: {"lesson": 2, "timeout": config["plugins"][0][PLUGIN_NAME]["timeout"]}}]
    assert [n for n in names if n.startswith("tests/")] == ["tests/isolated_engine.py"]


def test_placeholder_otter_test_is_worth_nothing(archive):
    namespace: dict = {}
    exec(archive.read("tests/isolated_engine.py").decode(), namespace)
    assert namespace["OK_FORMAT"] is True and namespace["test"]["points"] == 0


def test_zip_holds_the_engine_suites_and_data_at_its_root(archive):
    names = set(archive.namelist())
    assert {"autograder/__main__.py", "autograder/grade.py", "autograder/otter/plugin.py",
            "autograder/suites/lesson2.py", "coursekit/harness/__init__.py"} <= names
    assert any(n.startswith("coursekit/subset/") for n in names)
    assert {p.as_posix() for p in package_files()} <= names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert not [n for n in names if n.startswith(("solutions/", "tests/test", "files/"))]
    assert all(n.split("/")[0] in {*PACKAGES, "tests"} or "/" not in n for n in names)


def test_environment_installs_the_pinned_versions_with_cpu_torch(archive):
    """The image is built from constraints.txt (shipped in the zip), never from open ranges."""
    env = yaml.safe_load(archive.read("environment.yml"))
    pip = next(item["pip"] for item in env["dependencies"] if isinstance(item, dict))
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in pip
    assert f"-c {SOURCE_DIR}/constraints.txt" in pip
    assert archive.read("constraints.txt") == (REPO_ROOT / "constraints.txt").read_bytes()
    pins = pinned_versions()
    packages = [line for line in pip if not line.startswith("-")]
    assert len(packages) == len(project_dependencies()), "every dependency of pyproject.toml, otter included"
    for line in packages:
        name, _, version = line.partition("==")
        name = name.split("[")[0]
        assert version, f"{line} is not pinned"
        assert version.removesuffix("+cpu") == pins[name], f"{line} differs from constraints.txt"
    assert f"torch=={pins['torch']}+cpu" in pip and f"torchvision=={pins['torchvision']}+cpu" in pip
    assert [line for line in pip if line.startswith("otter-grader")] == \
        [f"otter-grader[grading,plugins]=={pins['otter-grader']}"], "Otter once, at the pinned version"


def test_a_dependency_without_a_pin_is_refused(monkeypatch):
    monkeypatch.setattr(autograder_zip, "project_dependencies", lambda: ["torch>=2.2", "left-pad>=1.0"])
    with pytest.raises(OtterGenerateError, match="left-pad>=1.0 .* has no pin in constraints.txt"):
        requirements()
