"""A release built once per test session (without the leak check, so that every test runs)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from autograder.release import build_tree


@pytest.fixture(scope="session")
def release_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A freshly built student release; tests must not modify it (copy it with ``fresh_copy``)."""
    root = tmp_path_factory.mktemp("release") / "student-repo"
    build_tree(root)
    return root


@pytest.fixture
def fresh_copy(release_tree: Path, tmp_path: Path):
    """``fresh_copy()`` -> a private copy of the release to modify."""
    def copy() -> Path:
        target = tmp_path / f"copy{len(list(tmp_path.iterdir()))}"
        shutil.copytree(release_tree, target)
        return target
    return copy

