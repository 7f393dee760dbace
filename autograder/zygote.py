"""The fork server: a process that has paid for ``import torch`` once and forks clean workers.

It is started by :class:`autograder.sandbox.Sandbox` and never runs student code itself.
Requests arrive on the control socket as JSON; a ``spawn`` request carries one end of a socket
pair (passed as a file descriptor) that the new worker serves.

With namespaces (the grader is root, or the kernel allows unprivileged user namespaces) a
spawn is a chain of three processes::

    zygote ── A: new session; new user (non-root only), mount, network, PID and IPC namespaces
              └─ B: PID 1 of the new namespace; builds the worker's file system and waits
                   └─ C: limits, unprivileged identity, empty environment; serves the socket

A reports B's process id and exits; B is then the zygote's child (the zygote is a child
subreaper). Killing B ends every process of the namespace, whatever they did (new sessions,
double forks). Forks of a process that holds torch are slow, so the zygote starts the next
chain while it is idle (B and C wait for a request) and a spawn only hands it over.

No worker outlives the grader, even one killed with SIGKILL: each link asks the kernel to kill
it when its parent ends (:func:`autograder.confine.die_with_parent`): the zygote (when the
grader's main thread starts it), A, C, and B once A is gone and the zygote has adopted it. A
zygote started from another grader thread (a restart) exits when its control socket closes.

Without namespaces a spawn is one process (C, in its own session), which confines itself with
Landlock and a seccomp filter against sockets where the kernel has them (see
:mod:`autograder.landlock` and :mod:`autograder.seccomp`).

Every worker says ``{"ready": ...}`` on its socket once locked down, or ``{"failed": reason}``
when a promised protection could not be applied — it never runs student code with less.

Nothing here imports the hidden suites or the solutions, so a worker's memory holds neither.
Nor does it hold the fork server's state: the grader tells the fork server only the hidden
paths its view needs (:func:`autograder.confine.hidden_in_view`; never a run's submissions or
output folder unless they lie inside the Python installation or the repository), and each
worker empties that state (:func:`forget_fork_server`) before it runs student code, so no
object, not even one on the stack of frames it inherited, names another submission.

Run as ``python -m autograder.zygote CONTROL_FD [GRADER_PID]``.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import struct
import sys
import tempfile
import traceback
from dataclasses import dataclass
from typing import Any, Callable

from autograder import confine, landlock, seccomp

PROBE_SOURCE = b"PROBE = True\n"
PROBE_TIMEOUT = 30.0
_server: "ForkServer | None" = None  # the running fork server, for forget_fork_server()


def _refused_in_child(restrict: Callable[[], None], attempt: Callable[[], None]) -> bool:
    """Whether, in a throwaway child, ``restrict`` applies and ``attempt`` is then refused with
    ``PermissionError``. Any error from ``restrict``, or an ``attempt`` that succeeds, is a no."""
    pid = os.fork()
    if pid == 0:
        try:
            restrict()
            try:
                attempt()
                os._exit(1)
            except PermissionError:
                os._exit(0)
        except BaseException:  # noqa: BLE001
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def preload(warm_lessons: tuple[int, ...] = ()) -> None:
    """Import what every worker needs, so forks start warm. No torch computation happens here:
    a thread pool started before ``fork`` would not survive into the children. Then, for each
    lesson in ``warm_lessons``, ``coursekit.harness.lessonN.warm_fork_server()`` when it exists
    (work every worker of that lesson would repeat, done once; see lesson 4's)."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import numpy  # noqa: F401
    import torch
    import torch.nn.functional  # noqa: F401
    torch.set_num_threads(1)
    # Every optimizer.step() imports torch._dynamo on first use: seconds per worker if left lazy.
    import torch._dynamo  # noqa: F401
    import coursekit.harness  # noqa: F401
    import autograder.worker  # noqa: F401
    try:  # lesson 4's starter may use scikit-learn's t-SNE; import it once here when present
        import sklearn.manifold  # noqa: F401
    except Exception:  # noqa: BLE001
        pass
    for number in warm_lessons:
        warm = getattr(sys.modules.get(f"coursekit.harness.lesson{number}"), "warm_fork_server", None)
        if callable(warm):
            try:
                warm()
            except Exception:  # noqa: BLE001 - a cold worker is slower, not wrong
                pass


# --------------------------------------------------------------------------- inside a worker


def _send(sock: socket.socket, body: dict[str, Any]) -> None:
    """One frame of :mod:`autograder.protocol` without arrays (written here so that it needs
    neither torch nor numpy: a worker may not have imported them yet)."""
    header = json.dumps({"body": body, "arrays": []}).encode()
    try:
        sock.sendall(struct.pack("!QQ", len(header), 0) + header)
    except OSError:
        pass


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
    global _server
    server, _server = _server, None
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
            limit += confine.count_tasks(os.geteuid())
        confine.apply_limits(request["limits"], limit)
        if uid is not None or in_view:
            confine.drop_privileges(uid)
            confine.die_with_parent(parent)  # a new uid cleared the parent-death signal
        else:
            confine.prctl(confine.PR_SET_NO_NEW_PRIVS, 1)
        rules = request.get("landlock")
        if rules and not landlock.restrict(rules["read_only"], rules["read_write"] + [os.getcwd()]):
            raise OSError("Landlock was promised but is not available")
        if request.get("no_sockets"):
            seccomp.forbid_sockets()
        home = os.getcwd()
        confine.clean_environment(home, "/tmp" if in_view else home, request["repo_root"])
        _send(sock, {"ready": {"pid": os.getpid(), "view": in_view}})
        ready = True
        if request.get("probe"):
            return
        from autograder.worker import serve
        serve(sock)
    except BaseException as exc:  # noqa: BLE001 - a worker that cannot lock down must not run code
        code = 70
        if not ready:
            _send(sock, {"failed": f"{type(exc).__name__}: {exc}"})
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
        _send(sock, {"failed": f"{type(exc).__name__}: {exc}"})
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
            confine.drop_capabilities()
        while True:
            pid, status = os.waitpid(-1, 0)
            if pid == worker:
                code = os.waitstatus_to_exitcode(status)
                code = code if code >= 0 else 128 - code
                break
    except BaseException as exc:  # noqa: BLE001
        if sock is not None:
            _send(sock, {"failed": f"{type(exc).__name__}: {exc}"})
    finally:
        os._exit(code)


def view_of(request: dict[str, Any]) -> confine.View:
    return confine.View.from_dict(request["view"])


# --------------------------------------------------------------------------- the fork server


@dataclass
class Chain:
    """A worker started ahead of need: B (PID 1 of new namespaces, with C below it) waiting
    for a request on ``channel``; ``group`` is the process group (A's session)."""

    init: int
    group: int
    channel: socket.socket


class ForkServer:
    """The zygote's state: what it may promise, and which workers it has not reaped yet."""

    def __init__(self, control: socket.socket, settings: dict[str, Any]) -> None:
        self.control = control
        self.settings = settings
        self.repo_root: str = settings["repo_root"]
        self.view = confine.plan_view(self.repo_root, settings["hidden_paths"],
                                      confine.loaded_repository_files(self.repo_root))
        self.namespaces = False
        self.landlock = 0  # the Landlock ABI given to workers without namespaces (0: none)
        self.no_sockets = False  # whether such workers get the seccomp filter against sockets
        self.spare: Chain | None = None
        self.children: dict[int, int] = {}  # worker pid (C, or B with namespaces) -> process group

    def start_chain(self) -> Chain:
        """Fork A, which enters new namespaces and forks B (which forks C); A reports B and exits.
        Raises ``OSError`` with A's reason when the namespaces cannot be made."""
        read_end, write_end = os.pipe()
        zygote_end, init_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        zygote = os.getpid()
        first = os.fork()
        if first == 0:  # A
            code = 70
            try:
                confine.die_with_parent(zygote)
                os.close(read_end)
                zygote_end.close()
                self.control.close()
                if self.spare is not None:
                    self.spare.channel.close()
                os.setsid()
                confine.enter_namespaces(user_namespace=os.geteuid() != 0)
                init = os.fork()
                if init == 0:
                    os.close(write_end)
                    namespace_init(init_end)
                os.write(write_end, str(init).encode())
                code = 0
            except BaseException as exc:  # noqa: BLE001
                os.write(write_end, f"{type(exc).__name__}: {exc}".encode()[:4000])
            finally:
                os._exit(code)
        os.close(write_end)
        init_end.close()
        with os.fdopen(read_end, "rb") as pipe:
            reported = pipe.read()
        os.waitpid(first, 0)  # A has ended (it exits once it has reported): B is now our child
        if not reported.isdigit():
            zygote_end.close()
            raise OSError(reported.decode(errors="replace") or "the namespace set-up died")
        try:  # let B arm its parent-death signal (see namespace_init)
            zygote_end.send(b"adopted")
            armed = zygote_end.recv(16) == b"armed"
        except OSError:
            armed = False
        if not armed:
            zygote_end.close()
            raise OSError("the namespace's first process died")
        chain = Chain(int(reported), first, zygote_end)
        self.children[chain.init] = first  # B stays in A's process group (A's session)
        return chain

    def spawn(self, sock: socket.socket, request: dict[str, Any]) -> tuple[int, int]:
        """Start a worker serving ``sock``; returns its (pid, process group)."""
        request = {**request, "repo_root": self.repo_root}
        if not self.namespaces:
            if self.landlock:
                request["landlock"] = self.landlock_rules()
            request["no_sockets"] = self.no_sockets
            zygote = os.getpid()
            pid = os.fork()
            if pid == 0:
                self.control.close()
                worker_main(sock, request, in_view=False, parent=zygote)
            self.children[pid] = pid
            return pid, pid
        chain, self.spare = self.spare or self.start_chain(), None
        request["view"] = self.view.as_dict()
        try:
            socket.send_fds(chain.channel, [json.dumps(request).encode()], [sock.fileno()])
        finally:
            chain.channel.close()
        return chain.init, chain.group

    def landlock_rules(self) -> dict[str, list[str]]:
        """What a worker without namespaces may still reach: the same paths a namespaced worker
        sees, read-only, plus a few devices; its working copy is added read-write."""
        read_only = [os.path.realpath(p) for p in self.view.directories] + list(self.view.files)
        read_only += ["/proc", "/dev/zero", "/dev/random", "/dev/urandom"]
        return {"read_only": read_only, "read_write": ["/dev/null", "/dev/full"]}

    def probe_landlock(self) -> int:
        """The Landlock ABI a worker can apply here (0 when it cannot)."""
        version = landlock.abi()
        if not version:
            return 0
        def restrict() -> None:
            rules = self.landlock_rules()
            landlock.restrict(rules["read_only"], rules["read_write"])

        def write_outside() -> None:  # the sandbox's folder is not among the rules
            os.close(os.open(os.path.join(self.settings["base"], "landlock-probe"),
                             os.O_WRONLY | os.O_CREAT, 0o600))

        return version if _refused_in_child(restrict, write_outside) else 0

    @staticmethod
    def probe_seccomp() -> bool:
        """Whether a worker can forbid itself new sockets here."""
        if not seccomp.supported():
            return False
        return _refused_in_child(
            seccomp.forbid_sockets,
            lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close())

    def prepare_spare(self) -> None:
        """Start the next worker's chain now, while the grader is busy, so ``spawn`` is quick."""
        if self.namespaces and self.spare is None:
            try:
                self.spare = self.start_chain()
            except OSError:
                self.spare = None  # spawn tries again, and reports the reason

    def kill(self, pid: int, uid: int | None) -> None:
        """Kill a worker and all it started. Only a worker not yet reaped is signalled, so a
        recycled process id is never hit."""
        self.reap()
        group = self.children.get(pid)
        if group is not None:
            for send in (lambda: os.kill(pid, signal.SIGKILL), lambda: os.killpg(group, signal.SIGKILL)):
                try:
                    send()
                except (ProcessLookupError, PermissionError):
                    pass
        if uid is not None and not self.namespaces:  # in a PID namespace nothing escapes B
            kill_uid(uid)
        if group is not None and not self.namespaces:
            try:
                os.waitpid(pid, 0)  # once reaped, its orphans have been handed to this process
            except ChildProcessError:
                pass
            self.children.pop(pid, None)
            self.kill_orphans()

    def kill_orphans(self, rounds: int = 20) -> None:
        """Kill this subreaper's children that are not workers: processes whose parent died,
        such as those a worker started in a new session (escaping its process group) before
        it was killed. Their own children become orphans in turn, hence the rounds."""
        own = set(self.children) | ({self.spare.init} if self.spare else set())
        for _ in range(rounds):
            orphans = [p for p in _children_of(os.getpid()) if p not in own]
            if not orphans:
                return
            for orphan in orphans:
                try:
                    os.kill(orphan, signal.SIGKILL)
                    os.waitpid(orphan, 0)
                except (ProcessLookupError, ChildProcessError, PermissionError):
                    pass

    def reap(self) -> None:
        """Collect finished workers (and orphans handed to this subreaper)."""
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.children.pop(pid, None)

    def probe(self) -> str:
        """Try the whole namespace lockdown once; returns "" when it works, else the reason."""
        base = tempfile.mkdtemp(prefix="probe-", dir=self.settings["base"])
        uid = self.settings.get("probe_uid")
        try:
            with open(os.path.join(base, "probe.py"), "wb") as f:
                f.write(PROBE_SOURCE)
            if uid is not None:
                os.chown(base, uid, uid)
        except OSError as exc:
            shutil.rmtree(base, ignore_errors=True)
            return f"preparing the probe: {exc}"
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        request = {"op": "spawn", "workdir": base, "file_name": "probe.py", "uid": uid,
                   "limits": self.settings["limits"], "probe": True}
        self.namespaces = True
        try:
            try:
                pid, _ = self.spawn(theirs, request)
            finally:
                theirs.close()
            ours.settimeout(PROBE_TIMEOUT)
            try:
                body = _read_small_frame(ours)
            except (OSError, EOFError, ValueError) as exc:
                body = {"failed": f"no answer ({exc})"}
            self.kill(pid, uid)
            if isinstance(body, dict) and "ready" in body and body["ready"].get("view"):
                return ""
            return str(body.get("failed", body) if isinstance(body, dict) else body)
        except OSError as exc:
            return str(exc)
        finally:
            self.namespaces = False
            ours.close()
            shutil.rmtree(base, ignore_errors=True)

    def serve(self) -> None:
        """Answer spawn and kill requests until the grader hangs up."""
        while True:
            if self.spare is None and not select.select([self.control], [], [], 0)[0]:
                self.prepare_spare()  # idle: get the next worker ready
            try:
                message, fds, _, _ = socket.recv_fds(self.control, 1 << 20, 1)
            except OSError:
                return
            if not message:
                return
            self.reap()
            request = json.loads(message.decode())
            if request["op"] == "kill":
                self.kill(int(request["pid"]), request.get("uid"))
                self.control.sendall(b'{"done": true}')
                continue
            worker_sock = socket.socket(fileno=fds[0])
            try:
                pid, group = self.spawn(worker_sock, request)
                reply = {"pid": pid, "pgid": group}
            except OSError as exc:
                reply = {"error": str(exc)}
            worker_sock.close()
            self.control.sendall(json.dumps(reply).encode())


def _read_small_frame(sock: socket.socket) -> Any:
    """The body of one array-less frame of at most 64 KB (a worker's ``ready``/``failed``)."""
    data = b""
    while len(data) < 16:
        chunk = sock.recv(16 - len(data))
        if not chunk:
            raise EOFError("the worker closed the connection")
        data += chunk
    header_len, payload_len = struct.unpack("!QQ", data)
    if header_len > 1 << 16 or payload_len:
        raise ValueError("not a small frame")
    header = b""
    while len(header) < header_len:
        chunk = sock.recv(header_len - len(header))
        if not chunk:
            raise EOFError("the worker closed the connection")
        header += chunk
    return json.loads(header.decode())["body"]


def _children_of(pid: int) -> list[int]:
    """The child processes of ``pid`` (from ``/proc``)."""
    children: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                children += [int(c) for c in f.read().split()]
        return children
    except OSError:  # a kernel without /proc/<pid>/task/<tid>/children: read every process's parent
        pass
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        children.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return children


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


def main(control_fd: int, grader: int = 0) -> None:
    """Serve the grader on ``control_fd``; die with the process ``grader`` when it is not 0."""
    if grader:
        confine.die_with_parent(grader)
    control = socket.socket(fileno=control_fd)
    confine.prctl(confine.PR_SET_CHILD_SUBREAPER, 1)
    if os.geteuid() != 0:  # same user as the workers: keep them out of this process's memory
        confine.prctl(confine.PR_SET_DUMPABLE, 0)
    settings = json.loads(control.recv(1 << 20).decode())
    if settings.get("preload", True):
        preload(tuple(settings.get("warm_lessons", ())))
    global _server
    server = _server = ForkServer(control, settings)
    reason = "not requested"
    if settings["namespaces"]:
        reason = server.probe()
        server.namespaces = not reason
    if not server.namespaces:
        server.landlock = server.probe_landlock()
        server.no_sockets = server.probe_seccomp()
    control.sendall(json.dumps({"ready": True, "namespaces": server.namespaces,
                                "landlock": server.landlock, "no_sockets": server.no_sockets,
                                "reason": reason}).encode())
    server.serve()
    os._exit(0)  # nothing to flush; skip the interpreter's slow teardown


if __name__ == "__main__":
    try:
        main(*(int(arg) for arg in sys.argv[1:3]))
    except Exception:  # noqa: BLE001 - say why on stderr, then stop: the grader sees the hang-up
        traceback.print_exc()
        sys.exit(1)
