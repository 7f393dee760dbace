"""Private scratch folders of a grading process, which never outlive it for long.

A grader makes its folders in the temp folder (``$TMPDIR``, :func:`tempfile.gettempdir`):
``gf-workers-*`` (the sandbox's working copies), ``gf-unpacked-*`` (a session's unpacked zips),
``gf-pytest-*`` (the pytest front end's). Each is an :class:`OwnedFolder`, removed

- by its owner's ``close()`` (the normal end, an exception, Ctrl-C, a Dask plugin's teardown);
- at interpreter exit or when it is garbage-collected, where ``close()`` was never reached
  (:class:`weakref.finalize`);
- on SIGTERM or SIGHUP in a process that leaves them at their default (the process would die
  at once: the pytest front end, a Dask nanny's worker process, a terminal that closes): the
  folders are removed, then the process dies of the same signal, as it would have
  (:func:`_remove_then_die`). A process that handles the signal itself (``grade`` turns SIGTERM
  into an interruption that unwinds to ``close()``) keeps its own handler;
- by the next grader of the same user, for folders whose owner could run nothing at all
  (SIGKILL, an out-of-memory kill, a Dask nanny killing its worker process, a power cut):
  :func:`remove_stale`.

How a later process knows the owner is gone: each folder holds :data:`LOCK_NAME`, locked with
:func:`fcntl.flock` by its owner for as long as it lives. The kernel drops the lock when the
owner ends, however it ends, so a lock that can be taken means a dead owner. Why a lock rather
than the owner's pid in the folder's name: a pid is reused, and in another PID namespace (a
container sharing ``/tmp``) a live owner's pid looks dead; a lock belongs to exactly one open
file, whoever looks at it. Why not a pid file checked with ``os.kill(pid, 0)``: same reasons.
The lock file appears under its name only once locked (written under another name, locked,
renamed), so a folder being made is never taken for a dead one; a folder without it (made by
an older version, or on a file system without locks) is never removed by anyone but its owner.
Why not :class:`tempfile.TemporaryDirectory`: it gives the first two (with its own
:class:`weakref.finalize`) but nothing by which another process can tell a dead owner's folder
from a live one's. A forked child inherits the registry, the handlers and the exit hooks, but
never removes its parent's folders.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import stat
import tempfile
import threading
import weakref
from pathlib import Path

LOCK_NAME = "owner.lock"
# Signals that end a process by default and that people and job schedulers send to stop one
# (``kill``, ``timeout``, Slurm's ``scancel``, a closed terminal).
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)

# This process's folders not yet removed, by path. No lock guards it: each use is one dict
# operation (atomic under the GIL), and a lock could deadlock the signal handler that reads it.
_live: dict[str, weakref.finalize] = {}


class OwnedFolder:
    """A new private folder ``<temp folder>/<prefix><random>`` that this process owns.

    Making one first removes the stale folders of the same prefix (:func:`remove_stale`) and,
    where SIGTERM/SIGHUP are left at their default, installs the handler that removes this
    process's folders before it dies of them (see the module's docstring)."""

    def __init__(self, prefix: str) -> None:
        remove_stale(prefix)
        _remove_before_stop_signals()
        self.path = Path(tempfile.mkdtemp(prefix=prefix))
        try:
            lock = _lock(self.path)
        except BaseException:
            shutil.rmtree(self.path, ignore_errors=True)
            raise
        self._removal = weakref.finalize(self, _remove, str(self.path), lock, os.getpid())
        _live[str(self.path)] = self._removal

    def remove(self) -> None:
        """Remove the folder and everything in it; safe to call twice."""
        self._removal()


def _lock(folder: Path) -> int | None:
    """Lock :data:`LOCK_NAME` in ``folder`` for as long as this process lives; returns its
    descriptor, or None where the file system has no locks (the folder is then never stale)."""
    pending = folder / f".{LOCK_NAME}.new"
    fd = os.open(pending, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        os.unlink(pending)
        return None
    os.rename(pending, folder / LOCK_NAME)
    return fd


def _remove(path: str, lock: int | None, owner: int) -> None:
    _live.pop(path, None)
    if os.getpid() != owner:  # a forked child exiting (or signalled) leaves its parent's folders
        return
    try:
        _empty_then_remove(path)
    finally:
        if lock is not None:
            os.close(lock)


def _empty_then_remove(path: str) -> None:
    """Remove ``path`` with its lock file last, so a folder left half-removed (a worker still
    writing into it, a process killed meanwhile) stays recognisable as stale."""
    with contextlib.suppress(OSError), os.scandir(path) as entries:
        for entry in entries:
            if entry.name == LOCK_NAME:
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
    with contextlib.suppress(OSError):
        if set(os.listdir(path)) <= {LOCK_NAME}:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(path, LOCK_NAME))
            os.rmdir(path)


def remove_stale(prefix: str) -> list[Path]:
    """Remove the folders ``<temp folder>/<prefix>*`` of this user whose owner has ended (its
    lock can be taken); returns them. Folders of live processes, of other users, without a
    lock file, or of this process are left alone."""
    root = tempfile.gettempdir()
    try:
        names = [name for name in os.listdir(root) if name.startswith(prefix)]
    except OSError:
        return []
    removed = []
    for name in names:
        folder = os.path.join(root, name)
        if folder in _live:  # ours: never opened here, so none of our locks is ever disturbed
            continue
        try:
            info = os.lstat(folder)
            if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
                continue
            fd = os.open(os.path.join(folder, LOCK_NAME), os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held: its owner lives (or the file system cannot tell)
            os.close(fd)
            continue
        try:
            _empty_then_remove(folder)
        finally:
            os.close(fd)
        removed.append(Path(folder))
    return removed


def remove_all() -> None:
    """Remove every folder this process still owns."""
    for removal in list(_live.values()):
        removal()


def _remove_before_stop_signals() -> None:
    """Make each of :data:`STOP_SIGNALS` still at its default remove this process's folders
    before it ends the process (only the main thread may install handlers)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in STOP_SIGNALS:
        if signal.getsignal(signum) == signal.SIG_DFL:
            signal.signal(signum, _remove_then_die)


def _remove_then_die(signum: int, frame: object) -> None:
    """The signal's default action, after removing this process's folders. It runs in the
    main thread, so nothing else that thread was doing (e.g. a Dask worker's event loop sending
    a result) happens in between."""
    remove_all()
    signal.signal(signum, signal.SIG_DFL)
    signal.raise_signal(signum)
