"""A grader's scratch folders (``gf-workers-*``, ``gf-unpacked-*``) never outlive it for long:
removed however its process ends, or, where it could run nothing (SIGKILL), by the next one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from autograder import scratch
from autograder.lessons import REPO_ROOT

PREFIX = "gf-test-"
# An owner: makes a folder with something in it, says where, then exits or waits to be stopped.
# It starts with both stop signals at their default, whatever it inherited (under `nohup`, say,
# SIGHUP arrives ignored, and an ignored signal is left alone).
OWNER = f"""
import signal, sys, time
for stop in (signal.SIGTERM, signal.SIGHUP):
    signal.signal(stop, signal.SIG_DFL)
if sys.argv[1] == "own-handler":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(5))
from autograder.scratch import OwnedFolder
folder = OwnedFolder({PREFIX!r})
(folder.path / "inside").mkdir()
(folder.path / "inside" / "file").write_text("x")
print(folder.path, flush=True)
if sys.argv[1] == "exit":
    raise SystemExit(3)
time.sleep(60)
"""


def start_owner(tmp: Path, how: str = "wait") -> tuple[subprocess.Popen[str], Path]:
    owner = subprocess.Popen([sys.executable, "-c", OWNER, how], stdout=subprocess.PIPE, text=True,
                             cwd=REPO_ROOT, env={**os.environ, "TMPDIR": str(tmp),
                                                 "PYTHONPATH": str(REPO_ROOT)})
    folder = Path(owner.stdout.readline().strip())
    assert folder.parent == tmp and (how == "exit" or (folder / "inside" / "file").exists()), folder
    return owner, folder


@pytest.fixture
def tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own temp folder, for this process and the owners it starts."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_remove_takes_everything_and_twice_is_harmless(tmp: Path) -> None:
    folder = scratch.OwnedFolder(PREFIX)
    assert folder.path.parent == tmp and sorted(os.listdir(folder.path)) == [scratch.LOCK_NAME]
    (folder.path / "w-1").mkdir()
    (folder.path / "w-1" / "student.py").write_text("x = 1")
    folder.remove()
    folder.remove()
    assert os.listdir(tmp) == []


def test_an_owner_that_exits_without_removing_leaves_nothing(tmp: Path) -> None:
    owner, folder = start_owner(tmp, "exit")
    assert owner.wait(timeout=30) == 3
    assert not folder.exists()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_stop_signal_removes_the_folders_then_ends_the_process_as_before(tmp: Path, signum: int) -> None:
    owner, folder = start_owner(tmp)
    owner.send_signal(signum)
    assert owner.wait(timeout=30) == -signum  # still dies of the signal
    assert not folder.exists()


def test_a_programs_own_signal_handler_is_kept(tmp: Path) -> None:
    owner, folder = start_owner(tmp, "own-handler")
    owner.send_signal(signal.SIGTERM)
    assert owner.wait(timeout=30) == 5  # its handler ran (and its exit removed the folder)
    assert not folder.exists()


def test_a_killed_owners_folder_is_removed_by_the_next_owner(tmp: Path) -> None:
    owner, folder = start_owner(tmp)
    owner.kill()
    owner.wait()
    assert (folder / scratch.LOCK_NAME).exists()  # SIGKILL: nothing could run
    assert scratch.remove_stale("gf-other-") == [] and folder.exists()  # another kind of folder
    mine = scratch.OwnedFolder(PREFIX)
    assert not folder.exists()
    assert os.listdir(tmp) == [mine.path.name]
    mine.remove()


def test_folders_of_live_owners_others_and_older_versions_are_left_alone(tmp: Path) -> None:
    owner, alive = start_owner(tmp)
    try:
        mine = scratch.OwnedFolder(PREFIX)
        unlocked = tmp / f"{PREFIX}older-version"  # no lock file: whose it is cannot be known
        unlocked.mkdir()
        elsewhere = tmp / "elsewhere"
        elsewhere.mkdir()
        (elsewhere / scratch.LOCK_NAME).touch()
        (tmp / f"{PREFIX}link").symlink_to(elsewhere)
        kept = {alive.name, mine.path.name, unlocked.name, f"{PREFIX}link", "elsewhere"}
        if os.geteuid() == 0:  # another user's folder of a dead owner
            theirs = tmp / f"{PREFIX}theirs"
            theirs.mkdir()
            (theirs / scratch.LOCK_NAME).touch()
            os.chown(theirs, 65534, 65534)
            kept.add(theirs.name)
        assert scratch.remove_stale(PREFIX) == []
        assert set(os.listdir(tmp)) == kept
        assert (alive / "inside" / "file").exists() and (elsewhere / scratch.LOCK_NAME).exists()
        mine.remove()
    finally:
        owner.kill()
        owner.wait()


def test_a_forked_child_leaves_its_parents_folders_alone(tmp: Path) -> None:
    folder = scratch.OwnedFolder(PREFIX)
    child = os.fork()
    if child == 0:  # what a forked helper inherits: the registry, the handlers, the exit hooks
        scratch.remove_all()
        os._exit(0 if folder.path.exists() else 1)
    assert os.waitpid(child, 0)[1] == 0 and folder.path.exists()
    folder.remove()
    assert not folder.path.exists()
