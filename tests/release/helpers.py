"""Helpers for the release tests: run a command in a release as a student's shell would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def student_env(release_root: Path) -> dict[str, str]:
    """The environment of a student's shell: the release's coursekit first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(release_root)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("PYTEST_ADDOPTS", None)
    return env


def run_in(folder: Path, release_root: Path, command: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run a shell command in ``folder`` as a student would (``python`` is this interpreter)."""
    return subprocess.run(["bash", "-c", command], cwd=folder, env=student_env(release_root),
                          capture_output=True, text=True, timeout=timeout)
