"""What ``autograder.zip`` holds: Otter's files, the plugin config, the engine and its data."""

from __future__ import annotations

import json
import zipfile

import pytest

from autograder.lessons import REPO_ROOT, lesson_by_number
from autograder.otter.autograder_zip import PACKAGES, package_files, requirements
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


def test_environment_installs_our_requirements_with_cpu_torch(archive):
    env = archive.read("environment.yml").decode()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in env
    assert "torch>=" in env and "numpy>=" in env and "click>=" in env
    assert env.count("otter-grader") == 1, "otter generate pins Otter itself; ours must not add another"


def test_requirements_come_from_pyproject():
    text = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    for line in requirements()[1:]:
        assert f'"{line}"' in text
