"""Landlock: file-system (and TCP, and signal) restrictions a process can put on itself, unprivileged.

Used for workers that get no namespaces of their own (a non-root grader on a machine without
unprivileged user namespaces, or inside a shared bubblewrap sandbox). After :func:`restrict`,
the worker may read (and execute) only the paths it is given, and read and write only its
working copy; with kernel ABI 4 it may open no TCP connection and bind no TCP port; with ABI 6
it may send signals and connect to abstract Unix sockets only inside its own sandbox. Nothing it
starts can lift these. Linux 5.13+ with Landlock enabled; elsewhere :func:`abi` is 0 and
nothing is restricted (the sandbox then says so).

Why the three system calls are made by hand (ctypes ``syscall``) rather than through a library:
the Python bindings on PyPI (``landlock``, ``landlockpy``) are pre-1.0 and would pin the grader
to whichever ABI versions they know; the calls, their structs and the rights by ABI version are
short, stable kernel interfaces, kept here in one module.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from typing import Iterable

_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446  # the same on every architecture
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

# File-system rights, by the ABI that introduced them.
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_FS_RIGHTS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
TRUNCATE, IOCTL_DEV = 1 << 14, 1 << 15
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def abi() -> int:
    """The kernel's Landlock ABI version (0: not available)."""
    version = _libc.syscall(ctypes.c_long(_CREATE_RULESET), None, ctypes.c_size_t(0),
                            ctypes.c_uint32(_CREATE_RULESET_VERSION))
    return max(int(version), 0)


def _fs_rights(version: int) -> int:
    return max(rights for level, rights in _FS_RIGHTS_BY_ABI.items() if level <= version)


def protections(version: int) -> list[str]:
    """What :func:`restrict` enforces at this ABI version (names for ``Sandbox.describe``)."""
    if version < 1:
        return []
    names = ["landlock-filesystem"]
    if version >= 4:
        names.append("landlock-no-tcp")
    if version >= 6:
        names.append("landlock-signals")
    return names


def restrict(read_only: Iterable[str], read_write: Iterable[str]) -> int:
    """Allow only reading ``read_only`` paths and reading/writing ``read_write`` ones, no TCP,
    and no signals out of the sandbox (as far as the ABI allows); returns the ABI used.
    Raises ``OSError`` when Landlock exists but the restriction cannot be applied."""
    version = abi()
    if version < 1:
        return 0
    handled = _fs_rights(version)
    attr = _RulesetAttr(handled, NET_BIND_TCP | NET_CONNECT_TCP if version >= 4 else 0,
                        SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if version >= 6 else 0)
    size = 8 if version < 4 else 16 if version < 6 else 24
    ruleset = _libc.syscall(ctypes.c_long(_CREATE_RULESET), ctypes.byref(attr), ctypes.c_size_t(size),
                            ctypes.c_uint32(0))
    if ruleset < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"landlock_create_ruleset: {os.strerror(err)}")
    try:
        for path in read_only:
            _allow(ruleset, path, (EXECUTE | READ_FILE | READ_DIR) & handled)
        for path in read_write:
            _allow(ruleset, path, handled)
        if _libc.prctl(_PR_SET_NO_NEW_PRIVS, ctypes.c_ulong(1), 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "no_new_privs")
        if _libc.syscall(ctypes.c_long(_RESTRICT_SELF), ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"landlock_restrict_self: {os.strerror(err)}")
    finally:
        os.close(ruleset)
    return version


def _allow(ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # a path that does not exist needs no rule
    try:
        if not os.path.isdir(path):
            rights &= FILE_RIGHTS
        rule = _PathBeneathAttr(rights, fd)
        if _libc.syscall(ctypes.c_long(_ADD_RULE), ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH),
                         ctypes.byref(rule), ctypes.c_uint32(0)) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"landlock_add_rule {path}: {os.strerror(err)}")
    finally:
        os.close(fd)
