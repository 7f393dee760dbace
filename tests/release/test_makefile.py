"""The Makefile's ``release`` and ``otter`` targets write where the README says, and git ignores it."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from autograder.lessons import REPO_ROOT

TARGET_OUT = re.compile(r"^\t\$\(PY\) -m autograder (release|otter) --out (\S+)$", re.MULTILINE)


def _outputs() -> dict[str, str]:
    return dict(TARGET_OUT.findall((REPO_ROOT / "Makefile").read_text(encoding="utf-8")))


def test_make_targets_write_where_the_readme_says():
    outputs = _outputs()
    assert set(outputs) == {"release", "otter"}, outputs
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    for command, folder in outputs.items():
        assert f"`{folder}`" in readme or f"--out {folder}" in readme, f"make {command} writes {folder}"
    assert f"python -m autograder otter --out {outputs['otter']}" in readme


def test_what_make_targets_write_is_ignored_by_git():
    if shutil.which("git") is None or not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    for command, folder in _outputs().items():
        probe = f"{folder}/02-autoencoders/autograder.zip"
        done = subprocess.run(["git", "check-ignore", "-q", "--no-index", probe], cwd=REPO_ROOT)
        assert done.returncode == 0, f"git does not ignore {probe}, written by `make {command}`"
