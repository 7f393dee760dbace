"""Locking a freshly forked worker down, before it runs any student code (Linux only).

The fork server (:mod:`autograder.zygote`) forks; the child (:mod:`autograder.lockdown`) calls
these functions in this order:

1. :func:`enter_namespaces` — new mount, network, PID and IPC namespaces; when the grader is
   not root, inside a new user namespace whose only user is the grader's own (so it works
   without privileges where the kernel allows unprivileged user namespaces).
2. :func:`build_view` — run by the first process of the new PID namespace: a fresh root file
   system that holds only the operating system (``/usr``, ``/etc``, ...), the Python
   installation, the grader modules the worker has already loaded, a private ``/proc``, a few
   device nodes, and a private, size-limited ``/tmp`` that holds the working copy. Nothing
   else of the machine exists there: no solutions, hidden suites, tests, ``.git``, home
   folders, output folder or other submissions.
3. :func:`autograder.limits.apply_limits`, :func:`~autograder.limits.drop_privileges`,
   :func:`~autograder.limits.clean_environment` — in the process that then runs the student's
   code (see :mod:`autograder.limits`).

Every function raises ``OSError`` when it cannot do what it promises; the caller must then
refuse to run student code (a worker never runs with less than the sandbox announced).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import signal
import stat
import sys
from dataclasses import dataclass
from typing import Any, Iterable

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_NOATIME = 0x400
MS_NODIRATIME = 0x800
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MS_RELATIME = 1 << 21
MNT_DETACH = 2
_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}

# statvfs f_flag bits -> mount flags: a read-only remount of a bind mount must keep the flags
# that the kernel locked on the original (it refuses to clear them inside a user namespace).
_STATVFS_TO_MOUNT = {1: MS_RDONLY, 2: MS_NOSUID, 4: MS_NODEV, 8: MS_NOEXEC, 1024: MS_NOATIME,
                     2048: MS_NODIRATIME, 4096: MS_RELATIME}

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_SET_DUMPABLE = 4

SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/sys")
DEVICES = ("null", "zero", "full", "random", "urandom")
WORK_DIR = "/tmp/work"  # the working copy, inside the worker's private /tmp

libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def check_call(result: int, what: str) -> None:
    """Raise ``OSError`` (with errno) for a libc call that returned non-zero."""
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def unshare(flags: int) -> None:
    """``unshare(2)``."""
    check_call(libc.unshare(ctypes.c_int(flags)), "unshare")


def mount(source: str | None, target: str, fstype: str | None, flags: int,
          data: str | None = None) -> None:
    """``mount(2)``; raises ``OSError`` naming the target."""
    check_call(libc.mount(source.encode() if source else None, target.encode(),
                       fstype.encode() if fstype else None, ctypes.c_ulong(flags),
                       data.encode() if data else None), f"mount {target}")


def prctl(option: int, arg: int = 0) -> None:
    """``prctl(2)`` with one argument."""
    check_call(libc.prctl(option, ctypes.c_ulong(arg), ctypes.c_ulong(0), ctypes.c_ulong(0),
                       ctypes.c_ulong(0)), f"prctl {option}")


def die_with_parent(parent: int) -> None:
    """Be killed (``SIGKILL``) by the kernel when the parent process ends (``PR_SET_PDEATHSIG``).

    Call it first thing after ``fork``, with ``parent`` the parent's process id taken before the
    fork, and again after any change of user (``setuid`` clears it). A parent that ended before
    the call sends no signal, and this process then has another parent: it exits at once."""
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(0)


# --------------------------------------------------------------------------- what a worker sees


@dataclass(frozen=True)
class View:
    """The paths bound read-only into a worker's file system, and those covered inside them."""

    directories: tuple[str, ...]
    files: tuple[str, ...]
    hidden: tuple[str, ...]

    def as_dict(self) -> dict[str, list[str]]:
        return {"directories": list(self.directories), "files": list(self.files),
                "hidden": list(self.hidden)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "View":
        return cls(tuple(data["directories"]), tuple(data["files"]), tuple(data["hidden"]))


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def plan_view(repo_root: str, hidden: Iterable[str], loaded_files: Iterable[str]) -> View:
    """What a worker may see: the system folders, the Python installation (every ``sys.path``
    entry that is not the repository or above it) and, of the repository, only the source
    files of modules already loaded (``loaded_files``). ``hidden`` folders inside any of those
    are covered by an empty, unreadable file system."""
    repo_root = os.path.realpath(repo_root)
    hidden_real = [os.path.realpath(h) for h in hidden]
    wanted = view_folders(repo_root)
    directories: list[str] = []
    bound: list[str] = []  # real paths of the folders bound so far
    for path in sorted(set(wanted), key=lambda p: (p.count("/"), p)):
        real = os.path.realpath(path)
        if os.path.islink(path) and path in SYSTEM_PATHS:
            directories.append(path)  # e.g. /lib64 -> usr/lib64: recreated as a link
        elif not any(_inside(real, b) for b in bound):
            directories.append(path)
            bound.append(real)
    files = sorted({os.path.realpath(f) for f in loaded_files if f and os.path.isfile(f)})
    files = [f for f in files if _inside(f, repo_root) and not any(_inside(f, b) for b in bound)
             and not any(_inside(f, h) for h in hidden_real)]
    covered = sorted({h for h in hidden_real if os.path.isdir(h) and any(_inside(h, b) for b in bound)})
    return View(tuple(directories), tuple(files), tuple(covered))


def view_folders(repo_root: str) -> list[str]:
    """The folders a worker's view may bind: the system folders and the Python installation
    (every ``sys.path`` entry that is not the repository or above it)."""
    repo_root = os.path.realpath(repo_root)
    wanted = [p for p in SYSTEM_PATHS if os.path.lexists(p)]
    for entry in [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, *sys.path]:
        if entry and os.path.isdir(entry) and not _inside(repo_root, os.path.realpath(entry)):
            wanted.append(entry)  # not the repository itself, nor a folder that holds it
    return wanted


def hidden_in_view(repo_root: str, hidden: Iterable[str]) -> list[str]:
    """Of the ``hidden`` paths, those a worker's view could otherwise show: inside the
    repository or inside one of :func:`view_folders`. Only these are told to the fork server,
    so the paths of a run's submissions and output (usually elsewhere) never enter the memory
    that every worker inherits. Run in the grader, whose ``sys.path`` holds the fork server's
    (same interpreter; the fork server adds nothing), so nothing the view needs is left out."""
    roots = [os.path.realpath(repo_root)] + [os.path.realpath(f) for f in view_folders(repo_root)]
    return [h for h in hidden if any(_inside(os.path.realpath(h), r) for r in roots)]


def loaded_repository_files(repo_root: str) -> list[str]:
    """Source files of the modules this process has imported from ``repo_root``."""
    prefixes = {os.path.abspath(repo_root), os.path.realpath(repo_root)}
    files = []
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if isinstance(path, str) and any(_inside(path, p) for p in prefixes):
            files.append(path)
    return files


# --------------------------------------------------------------------------- namespaces


def enter_namespaces(user_namespace: bool) -> None:
    """New mount, network, PID (for the next child) and IPC namespaces; with
    ``user_namespace``, inside a new user namespace that maps only the current user."""
    uid, gid = os.geteuid(), os.getegid()
    flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC
    if user_namespace:
        flags |= CLONE_NEWUSER
        prctl(PR_SET_DUMPABLE, 1)  # a non-dumpable process may not write its own ID maps
    unshare(flags)
    if user_namespace:
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"),
                           ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)


def _mount_points_under(target: str) -> list[str]:
    """``target`` and every mount point below it, parents first."""
    points = []
    with open("/proc/self/mountinfo") as info:
        for line in info:
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), line.split()[4])
            if _inside(point, target):
                points.append(point)
    return sorted(set(points), key=lambda p: p.count("/"))


def _bind(source: str, target: str) -> None:
    """Bind ``source`` (with everything mounted below it) at ``target``, all read-only."""
    mount(source, target, None, MS_BIND | MS_REC)
    for point in _mount_points_under(target):
        locked = 0
        f_flag = os.statvfs(point).f_flag
        for bit, flag in _STATVFS_TO_MOUNT.items():
            if f_flag & bit:
                locked |= flag
        mount(None, point, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | locked)


def _mkdirs(path: str) -> None:
    os.makedirs(path, mode=0o755, exist_ok=True)


def _place(root: str, path: str) -> str:
    return root + path if path != "/" else root


def build_view(root: str, view: View, student_file: str, source: bytes, owner: tuple[int, int] | None,
               disk_bytes: int) -> bool:
    """Turn the empty folder ``root`` into the worker's whole file system and enter it.

    Runs in the first process of the new PID namespace, with mount privileges. ``owner`` is
    the ``(uid, gid)`` the worker will run as (``None``: the current user). Afterwards the
    current directory is the working copy, which holds ``student_file`` (``source``). Returns
    whether the old root was detached (``pivot_root``), which moved every process of the
    mount namespace into the new root; otherwise only this process is inside (``chroot``)."""
    os.umask(0o022)
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,mode=0755")
    for path in view.directories:
        target = _place(root, path)
        if os.path.islink(path):
            _mkdirs(os.path.dirname(target))
            if not os.path.lexists(target):
                os.symlink(os.readlink(path), target)
            continue
        real = os.path.realpath(path)
        _mkdirs(_place(root, real))
        _bind(real, _place(root, real))
        if real != path and not os.path.lexists(target):
            _mkdirs(os.path.dirname(target))
            os.symlink(real, target)
    for path in view.files:
        target = _place(root, path)
        if os.path.exists(target):
            continue  # already inside a bound folder
        _mkdirs(os.path.dirname(target))
        with open(target, "w"):
            pass
        _bind(path, target)
    _build_dev(root, disk_bytes, owner)
    _mkdirs(root + "/proc")
    try:
        mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    except OSError:  # e.g. a container that masks parts of /proc: keep the host's (read-only)
        _bind("/proc", root + "/proc")
    ids = f",uid={owner[0]},gid={owner[1]}" if owner else ""
    _mkdirs(root + "/tmp")
    mount("tmpfs", root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={disk_bytes},mode=0700{ids}")
    _mkdirs(root + "/var")
    os.symlink("/tmp", root + "/var/tmp")
    work = root + WORK_DIR
    os.mkdir(work, 0o700)
    with open(os.path.join(work, student_file), "wb") as f:
        f.write(source)
    if owner:
        for path in (work, os.path.join(work, student_file)):
            os.chown(path, *owner)
    for path in view.hidden:
        target = _place(root, path)
        if os.path.isdir(target):
            mount("tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  "size=4k,mode=000")
    pivoted = enter_root(root)
    mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    os.chdir(WORK_DIR)
    return pivoted


def enter_root(root: str) -> bool:
    """Make the mount point ``root`` the root of this mount namespace and detach the old one
    (``pivot_root``), so nothing of the old file system stays reachable, not even with the
    capabilities a user namespace gives. Where ``pivot_root`` is not known for this CPU,
    ``chroot`` (whose escape needs ``CAP_SYS_CHROOT``, which workers never keep)."""
    number = _PIVOT_ROOT.get(os.uname().machine)
    if number is None:
        os.chroot(root)
        os.chdir("/")
        return False
    old = os.path.join(root, ".old-root")
    os.mkdir(old, 0o700)
    check_call(libc.syscall(ctypes.c_long(number), root.encode(), old.encode()), "pivot_root")
    os.chdir("/")
    check_call(libc.umount2(b"/.old-root", ctypes.c_int(MNT_DETACH)), "umount old root")
    os.rmdir("/.old-root")
    return True


def _build_dev(root: str, disk_bytes: int, owner: tuple[int, int] | None) -> None:
    dev = root + "/dev"
    _mkdirs(dev)
    for name in DEVICES:
        path = "/dev/" + name
        if os.path.exists(path) and stat.S_ISCHR(os.stat(path).st_mode):
            with open(dev + "/" + name, "w"):
                pass
            mount(path, dev + "/" + name, None, MS_BIND)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"{dev}/{name}")
    _mkdirs(dev + "/shm")
    ids = f",uid={owner[0]},gid={owner[1]}" if owner else ""
    mount("tmpfs", dev + "/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
          f"size={disk_bytes},mode=0700{ids}")
