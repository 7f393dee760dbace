"""A seccomp filter that forbids new sockets: no network for workers without a network namespace.

Landlock (see :mod:`autograder.landlock`) blocks TCP but not UDP, raw or Unix-domain sockets.
For a worker that cannot get a network namespace of its own, :func:`forbid_sockets` makes
``socket(2)`` fail with ``EACCES`` for every address family (``socketpair(2)``, which only
connects two ends inside the process, still works), and forbids ``io_uring`` (which can open
sockets without ``socket(2)``). Unprivileged (it sets ``no_new_privs``) and irreversible;
x86-64 and AArch64 only (elsewhere :func:`supported` is false and the sandbox says so).

Why the filter is built by hand (a dozen BPF instructions, through ``prctl``) rather than with a
library: the Python bindings of libseccomp (``pyseccomp`` on PyPI, last released in 2021) load
``libseccomp.so`` at run time, which a TA's laptop need not have, and a grader that silently lost
its socket filter on such a machine would be worse than these few lines, which need only libc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import struct

_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_X32_BIT = 0x40000000
_LD_W_ABS, _JEQ_K, _JGE_K, _RET_K = 0x20, 0x15, 0x35, 0x06

# machine -> (audit architecture, forbidden system calls: socket, io_uring_setup)
_ARCHITECTURES = {
    "x86_64": (0xC000003E, (41, 425)),
    "aarch64": (0xC00000B7, (198, 425)),
}

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def supported() -> bool:
    """Whether :func:`forbid_sockets` knows this CPU's system-call numbers."""
    return os.uname().machine in _ARCHITECTURES


def _instruction(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k)


def program() -> bytes:
    """The BPF program: any other architecture or the x32 ABI, and the forbidden calls, get
    ``EACCES``; everything else is allowed."""
    arch, forbidden = _ARCHITECTURES[os.uname().machine]
    deny = _RET_ERRNO | errno.EACCES
    body = [(_LD_W_ABS, 0, 0, 4), ("arch", arch), (_LD_W_ABS, 0, 0, 0), ("x32", _X32_BIT)]
    body += [("nr", nr) for nr in forbidden]
    count = len(body) + 2  # then: allow, deny
    code = b""
    for index, item in enumerate(body):
        to_deny = count - 1 - (index + 1)
        if item[0] == "arch":
            code += _instruction(_JEQ_K, 0, to_deny, item[1])
        elif item[0] == "x32":
            code += _instruction(_JGE_K, to_deny, 0, item[1])
        elif item[0] == "nr":
            code += _instruction(_JEQ_K, to_deny, 0, item[1])
        else:
            code += _instruction(*item)
    return code + _instruction(_RET_K, 0, 0, _RET_ALLOW) + _instruction(_RET_K, 0, 0, deny)


def forbid_sockets() -> None:
    """Install the filter on this process (and everything it starts); raises ``OSError``."""
    code = program()
    buffer = ctypes.create_string_buffer(code, len(code))
    prog = _Program(len(code) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    if _libc.prctl(_PR_SET_NO_NEW_PRIVS, ctypes.c_ulong(1), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "no_new_privs")
    if _libc.prctl(_PR_SET_SECCOMP, ctypes.c_ulong(_SECCOMP_MODE_FILTER), ctypes.byref(prog), 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"seccomp: {os.strerror(err)}")
