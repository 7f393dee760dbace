"""Starting the fork server inside bubblewrap, when the grader cannot make namespaces itself.

bubblewrap (``bwrap``, Debian package ``bubblewrap``) adds nothing when the grader is root or the
kernel allows unprivileged user namespaces: then every worker gets its own namespaces directly
(:mod:`autograder.confine`), which is stronger than one sandbox around the fork server. It helps
where plain processes may not make namespaces but ``bwrap`` may: a set-user-ID ``bwrap``, or
Ubuntu 24.04's AppArmor rules (``kernel.apparmor_restrict_unprivileged_userns``), which let the
``bwrap`` profile do what an unconfined Python cannot. Then the whole fork server runs inside
one bubblewrap sandbox: no network, its own PID namespace, and a file system that holds only
the system, the Python installation, the grader's public modules and the workers' folders. It
is optional: found on ``PATH`` at run time, never required.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from autograder import confine

PROBE_TIMEOUT = 20.0
REPOSITORY_PACKAGES = ("autograder", "coursekit")


def find() -> str | None:
    """The ``bwrap`` executable, or ``None`` when it is not installed."""
    return shutil.which("bwrap")


def command(bwrap: str, repo_root: Path, base: Path, hidden: list[str], argv: list[str],
            die_with_parent: bool = True) -> list[str]:
    """The ``bwrap`` command line that runs ``argv`` (the fork server) in the sandbox; with
    ``die_with_parent``, everything in it is killed when the thread that starts it ends."""
    view = confine.plan_view(str(repo_root), hidden, [])
    args = [bwrap, "--new-session", "--unshare-all", "--cap-drop", "ALL"]
    args += ["--die-with-parent"] if die_with_parent else []
    for path in view.directories:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        else:
            args += ["--ro-bind", os.path.realpath(path), os.path.realpath(path)]
    for name in REPOSITORY_PACKAGES:
        folder = repo_root / name
        if folder.is_dir():
            args += ["--ro-bind", str(folder), str(folder)]
    for path in hidden:
        if any(path.startswith(str(repo_root / name) + "/") for name in REPOSITORY_PACKAGES) \
                and os.path.isdir(path):
            args += ["--perms", "0000", "--tmpfs", path]
    args += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--symlink", "/tmp", "/var/tmp",
             "--bind", str(base), str(base), "--remount-ro", "/", "--chdir", str(repo_root), "--"]
    return args + argv


def works(bwrap: str) -> bool:
    """Whether ``bwrap`` can make its namespaces here (it cannot in some containers)."""
    try:
        done = subprocess.run([bwrap, "--unshare-all", "--ro-bind", "/", "/", "--", sys.executable,
                               "-c", "pass"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=PROBE_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0
