"""The limits and identity of the process that runs student code (Linux only).

Called by :mod:`autograder.lockdown` after :mod:`autograder.confine` has built the worker's
namespaces and file system: resource limits, an unprivileged identity without capabilities,
and an empty environment. Capabilities are set through ``capset`` with ctypes because the
standard library has no call for it (and no well-kept package covers the bounding set too).

Every function raises ``OSError`` when it cannot do what it promises.
"""

from __future__ import annotations

import ctypes
import os
import resource
import sys

from autograder.confine import PR_SET_NO_NEW_PRIVS, check_call, libc, prctl
from autograder.threads import WORKER_THREADS

PR_CAPBSET_DROP = 24
_CAPSET_VERSION_3 = 0x20080522
_LAST_CAP = 63


def vm_size_bytes() -> int:
    """This process's virtual memory size (the base that the address-space limit adds to)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def apply_limits(limits: dict[str, int], processes: int | None) -> None:
    """Address space (on top of what is mapped now), CPU seconds, file size, open files, no core
    dumps, and ``processes`` tasks for this user (``None``: no process limit)."""
    as_limit = vm_size_bytes() + limits["memory_bytes"]
    resource.setrlimit(resource.RLIMIT_AS, (as_limit, as_limit))
    resource.setrlimit(resource.RLIMIT_CPU, (limits["cpu_seconds"], limits["cpu_seconds"] + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_bytes"], limits["file_bytes"]))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits["open_files"], limits["open_files"]))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if processes is not None:
        resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def drop_bounding_set() -> None:
    """Empty the capability bounding set: no program started later can gain a capability."""
    for cap in range(_LAST_CAP + 1):
        if libc.prctl(PR_CAPBSET_DROP, ctypes.c_ulong(cap), 0, 0, 0) != 0 and ctypes.get_errno() != 22:
            err = ctypes.get_errno()
            raise OSError(err, f"dropping capability {cap}: {os.strerror(err)}")


def drop_capabilities() -> None:
    """Give up every capability, for good (bounding set included)."""
    drop_bounding_set()
    header = _CapHeader(_CAPSET_VERSION_3, 0)
    data = (_CapData * 2)()
    check_call(libc.capset(ctypes.byref(header), data), "capset")


def drop_privileges(uid: int | None) -> None:
    """Become ``uid`` (root grader) or give up all capabilities (user namespace); then forbid
    regaining privileges through set-user-ID programs. Verified, never assumed."""
    if uid is not None:
        drop_bounding_set()
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        if os.getuid() != uid or os.geteuid() != uid or os.getgid() != uid:
            raise OSError("could not drop privileges")
    else:
        drop_capabilities()
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    with open("/proc/self/status") as status:
        caps = [line for line in status if line.startswith("CapEff:")]
    if caps and int(caps[0].split()[1], 16) != 0:
        raise OSError("capabilities remain after dropping privileges")


def clean_environment(home: str, tmp: str, repo_root: str) -> None:
    """An empty environment (a fixed ``PATH``, ``HOME`` and ``TMPDIR``, and the worker's thread
    counts, :data:`autograder.threads.WORKER_THREADS`) and a ``sys.path`` without the repository."""
    os.environ.clear()
    os.environ.update({"HOME": home, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", **WORKER_THREADS,
                       "TMPDIR": tmp})
    sys.path[:] = [p for p in sys.path if p and os.path.abspath(p) != repo_root]
