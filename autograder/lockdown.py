"""Inside a freshly forked worker: the lock-down before any student code runs (Linux only).

The fork server (:mod:`autograder.zygote`) forks the processes B and C described there; this
module is what they run. B (:func:`namespace_init`, PID 1 of the worker's namespaces) builds
the worker's file system and then only waits; C (:func:`waiting_worker`, or
:func:`worker_main` directly without namespaces) applies limits, an unprivileged identity and
an empty environment (:mod:`autograder.confine`, :mod:`autograder.limits`, and Landlock and
seccomp where promised), forgets the fork server's state (:func:`forget_fork_server`) and
then serves student requests (:func:`autograder.worker.serve`).

Every worker says ``{"ready": ...}`` on its socket once locked down, or ``{"failed": reason}``
when a promised protection could not be applied — it never runs student code with less.
"""

from __future__ import annotations

import json
import os
import signal
import socket
from typing import Any

from autograder import confine, landlock, limits, processes, seccomp
from autograder.framing import send_small_frame

_fork_server: Any = None  # the fork server this process was forked from (see forget_fork_server)


def remember_fork_server(server: Any) -> None:
    """Record the running fork server, so that each worker forked from it can empty it."""
    global _fork_server
    _fork_server = server


def _quiet_descriptors(keep: int) -> None:
    """stdin/stdout/stderr to /dev/null (nothing printed reaches the grader); close the rest."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    if devnull > 2:
        os.close(devnull)
    fds = sorted({0, 1, 2, keep})
    for low, high in zip(fds, fds[1:] + [1 << 20]):
        os.closerange(low + 1, high)


def forget_fork_server() -> None:
    """Empty, in this worker, every object of the fork server it was forked from (its
    settings, its view with the hidden paths, its children's ids): the frames the worker
    inherited still reach them, and student code could read them."""
    global _fork_server
    server, _fork_server = _fork_server, None
    if server is not None:
        server.settings.clear()  # also main()'s local, the same dict
        server.__dict__.clear()


def worker_main(sock: socket.socket, request: dict[str, Any], in_view: bool, parent: int) -> None:
    """Process C (child of ``parent``): limits, identity, environment, then serve student
    requests. Never returns."""
    code = 0
    ready = False
    try:
        confine.die_with_parent(parent)
        forget_fork_server()
        request.pop("view", None)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if in_view:
            os.chdir(confine.WORK_DIR)
        else:
            os.setsid()
            _quiet_descriptors(sock.fileno())
            os.chdir(request["workdir"])
        uid = request.get("uid")
        limit = request["limits"]["processes"]
        if uid is None and not in_view:  # no private user: count on top of what the user runs
            limit += processes.count_tasks(os.geteuid())
        limits.apply_limits(request["limits"], limit)
        if uid is not None or in_view:
            limits.drop_privileges(uid)
            confine.die_with_parent(parent)  # a new uid cleared the parent-death signal
        else:
            confine.prctl(confine.PR_SET_NO_NEW_PRIVS, 1)
        rules = request.get("landlock")
        if rules and not landlock.restrict(rules["read_only"], rules["read_write"] + [os.getcwd()]):
            raise OSError("Landlock was promised but is not available")
        if request.get("no_sockets"):
            seccomp.forbid_sockets()
        home = os.getcwd()
        limits.clean_environment(home, "/tmp" if in_view else home, request["repo_root"])
        send_small_frame(sock, {"ready": {"pid": os.getpid(), "view": in_view}})
        ready = True
        if request.get("probe"):
            return
        from autograder.worker import serve
        serve(sock)
    except BaseException as exc:  # noqa: BLE001 - a worker that cannot lock down must not run code
        code = 70
        if not ready:
            send_small_frame(sock, {"failed": f"{type(exc).__name__}: {exc}"})
    finally:
        os._exit(code)


def _receive(channel: socket.socket) -> tuple[dict[str, Any], socket.socket] | None:
    """A request and the worker socket that came with it; ``None`` when the sender is gone."""
    message, fds, _, _ = socket.recv_fds(channel, 1 << 20, 1)
    if not message or not fds:
        return None
    return json.loads(message.decode()), socket.socket(fileno=fds[0])


def waiting_worker(channel: socket.socket, parent: int) -> None:
    """Process C, started ahead of need: wait for B (``parent``) to hand over a request, then
    serve it."""
    try:
        confine.die_with_parent(parent)
        received = _receive(channel)
    except BaseException:  # noqa: BLE001
        received = None
    if received is None:
        os._exit(0)
    request, sock = received
    channel.close()
    try:
        if not request.pop("pivoted", True):
            os.chroot(request["workdir"])  # B could not pivot_root: follow it into the view
    except BaseException as exc:  # noqa: BLE001
        send_small_frame(sock, {"failed": f"{type(exc).__name__}: {exc}"})
        os._exit(70)
    worker_main(sock, request, in_view=True, parent=parent)


def namespace_init(channel: socket.socket) -> None:
    """Process B, PID 1 of the worker's namespaces, started ahead of need with C waiting below
    it. On a request: build the file system (C is in the same mount namespace, so it is inside
    too), hand the request to C, then wait for C, reap orphans, and exit with C's status (which
    ends every process in the namespace). Never returns."""
    code = 70
    sock = None
    try:
        # Die with the zygote. Not before it has reaped A and says so ("adopted"): the signal
        # fires when the current parent ends, and A ends on purpose. Nor can B then check its
        # parent id (outside B's PID namespace it reads 0): if the zygote died before the
        # prctl, "armed" meets a closed socket instead and B exits.
        if channel.recv(16) != b"adopted":
            os._exit(0)
        confine.prctl(confine.PR_SET_PDEATHSIG, signal.SIGKILL)
        channel.send(b"armed")
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _quiet_descriptors(channel.fileno())
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        parent = os.getpid()  # 1, the first process of the namespace
        worker = os.fork()
        if worker == 0:
            ours.close()
            channel.close()
            waiting_worker(theirs, parent)
        theirs.close()
        received = _receive(channel)
        channel.close()
        if received is None:  # the fork server is gone: C sees its channel close and exits
            os._exit(0)
        request, sock = received
        workdir, name = request["workdir"], request["file_name"]
        with open(os.path.join(workdir, name), "rb") as f:
            source = f.read()
        uid = request.get("uid")
        owner = (uid, uid) if uid is not None else None
        pivoted = confine.build_view(workdir, view_of(request), name, source, owner,
                                     request["limits"]["disk_bytes"])
        socket.send_fds(ours, [json.dumps({**request, "pivoted": pivoted}).encode()], [sock.fileno()])
        ours.close()
        sock.close()
        sock = None
        # B has nothing more to do than wait: out of reach of C (no ptrace), no capabilities.
        confine.prctl(confine.PR_SET_DUMPABLE, 0)
        if uid is None:
            limits.drop_capabilities()
        while True:
            pid, status = os.waitpid(-1, 0)
            if pid == worker:
                code = os.waitstatus_to_exitcode(status)
                code = code if code >= 0 else 128 - code
                break
    except BaseException as exc:  # noqa: BLE001
        if sock is not None:
            send_small_frame(sock, {"failed": f"{type(exc).__name__}: {exc}"})
    finally:
        os._exit(code)


def view_of(request: dict[str, Any]) -> confine.View:
    return confine.View.from_dict(request["view"])
