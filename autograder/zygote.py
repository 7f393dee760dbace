"""The fork server: a process that has paid for ``import torch`` once and forks clean workers.

It is started by :class:`autograder.sandbox.Sandbox` and never runs student code itself. Each
``spawn`` request carries one end of a socket pair (passed as a file descriptor); the zygote
forks, and the child locks itself down (new session, resource limits, network and mount
namespaces, an unprivileged user, an empty environment, only its working copy in reach) before
it imports the student's file and serves requests on that socket.

Nothing here imports the hidden suites or the solutions, so a worker's memory holds neither.

Run as ``python -m autograder.zygote CONTROL_FD``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import resource
import signal
import socket
import sys
from typing import Any

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_REC = 0x4000
MS_PRIVATE = 1 << 18

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _unshare(flags: int) -> None:
    if _libc.unshare(flags) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    result = _libc.mount(source.encode(), target.encode(),
                         fstype.encode() if fstype else None, flags,
                         data.encode() if data else None)
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {target}: {os.strerror(err)}")


def vm_size_bytes() -> int:
    """This process's virtual memory size (the base that the address-space limit adds to)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def preload() -> None:
    """Import what every worker needs, so forks start warm. No torch computation happens here:
    a thread pool started before ``fork`` would not survive into the children."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import numpy  # noqa: F401
    import torch
    import torch.nn.functional  # noqa: F401
    torch.set_num_threads(1)
    import coursekit.harness  # noqa: F401
    import autograder.worker  # noqa: F401
    try:  # lesson 4's starter may use scikit-learn's t-SNE; import it once here when present
        import sklearn.manifold  # noqa: F401
    except Exception:  # noqa: BLE001
        pass


def isolate(request: dict[str, Any]) -> None:
    """Lock the freshly forked child down; raises when a promised protection cannot be applied."""
    promised = set(request["protections"])
    if "network" in promised or "hidden-paths" in promised:
        flags = (CLONE_NEWNET if "network" in promised else 0)
        flags |= (CLONE_NEWNS if "hidden-paths" in promised else 0)
        _unshare(flags)
    if "hidden-paths" in promised:
        _mount("none", "/", None, MS_REC | MS_PRIVATE)
        for path in request["hidden_paths"]:
            if os.path.isdir(path):
                _mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k,mode=000")
    limits = request["limits"]
    as_limit = vm_size_bytes() + limits["memory_bytes"]
    resource.setrlimit(resource.RLIMIT_AS, (as_limit, as_limit))
    resource.setrlimit(resource.RLIMIT_CPU, (limits["cpu_seconds"], limits["cpu_seconds"] + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_bytes"], limits["file_bytes"]))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits["open_files"], limits["open_files"]))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if "processes" in promised:
        resource.setrlimit(resource.RLIMIT_NPROC, (limits["processes"], limits["processes"]))
    os.chdir(request["workdir"])
    uid = request.get("uid")
    if uid is not None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        if os.getuid() != uid or os.geteuid() != uid:
            raise OSError("could not drop privileges")
    workdir = request["workdir"]
    os.environ.clear()
    os.environ.update({"HOME": workdir, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
                       "OMP_NUM_THREADS": "1", "TMPDIR": workdir})
    sys.path[:] = [p for p in sys.path if p and os.path.abspath(p) != request["repo_root"]]


def child_main(sock: socket.socket, request: dict[str, Any], control: socket.socket) -> None:
    """Runs in the forked worker; never returns."""
    code = 0
    try:
        os.setsid()
        control.close()
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        keep = sorted({0, 1, 2, sock.fileno()})
        for low, high in zip(keep, keep[1:] + [65536]):
            os.closerange(low + 1, high)
        isolate(request)
        from autograder.worker import serve
        serve(sock)
    except BaseException:  # noqa: BLE001 - a worker that cannot lock down must not run code
        code = 70
    finally:
        os._exit(code)


def kill_uid(uid: int) -> None:
    """Kill every process of ``uid`` (a worker's private user): escapes from its process group too."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgid(uid)
            os.setuid(uid)
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def reap_children() -> None:
    """Collect finished workers so they do not linger as zombies."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def probe_protections(wanted: list[str], hidden_paths: list[str]) -> list[str]:
    """Which of the namespace protections this machine allows, tried in a throwaway child."""
    available = []
    for name, flag in (("network", CLONE_NEWNET), ("hidden-paths", CLONE_NEWNS)):
        if name not in wanted:
            continue
        pid = os.fork()
        if pid == 0:
            try:
                _unshare(flag)
                if flag == CLONE_NEWNS:
                    _mount("none", "/", None, MS_REC | MS_PRIVATE)
                    for path in hidden_paths[:1]:
                        _mount("tmpfs", path, "tmpfs", MS_RDONLY, "size=4k,mode=000")
                os._exit(0)
            except BaseException:  # noqa: BLE001
                os._exit(1)
        _, status = os.waitpid(pid, 0)
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
            available.append(name)
    return available


def main(control_fd: int) -> None:
    control = socket.socket(fileno=control_fd)
    preload()
    hello = json.loads(control.recv(1 << 20).decode())
    available = probe_protections(hello["wanted"], hello["hidden_paths"])
    control.sendall(json.dumps({"ready": True, "available": available}).encode())
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 1 << 20, 1)
        except OSError:
            return
        if not message:
            return
        reap_children()
        request = json.loads(message.decode())
        if request["op"] == "kill_uid":
            kill_uid(int(request["uid"]))
            control.sendall(b'{"done": true}')
            continue
        worker_sock = socket.socket(fileno=fds[0])
        pid = os.fork()
        if pid == 0:
            child_main(worker_sock, request, control)
        worker_sock.close()
        control.sendall(json.dumps({"pid": pid}).encode())


if __name__ == "__main__":
    main(int(sys.argv[1]))
