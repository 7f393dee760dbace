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

What B and C run, the lock-down, is :mod:`autograder.lockdown`; both sides frame their
messages with :mod:`autograder.framing`, and processes are found through ``/proc`` by
:mod:`autograder.processes`.

Nothing here imports the hidden suites or the solutions, so a worker's memory holds neither.
Nor does it hold the fork server's state: the grader tells the fork server only the hidden
paths its view needs (:func:`autograder.confine.hidden_in_view`; never a run's submissions or
output folder unless they lie inside the Python installation or the repository), and each
worker empties that state (:func:`autograder.lockdown.forget_fork_server`) before it runs
student code, so no object, not even one on the stack of frames it inherited, names another
submission.

Run as ``python -m autograder.zygote CONTROL_FD [GRADER_PID]``.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import sys
import tempfile
import traceback
from dataclasses import dataclass
from typing import Any, Callable

from autograder import confine, landlock, lockdown, processes, seccomp
from autograder.framing import recv_small_frame

PROBE_SOURCE = b"PROBE = True\n"
PROBE_TIMEOUT = 30.0


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
                    lockdown.namespace_init(init_end)
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
                lockdown.worker_main(sock, request, in_view=False, parent=zygote)
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
            processes.kill_uid(uid)
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
            orphans = [p for p in processes.children_of(os.getpid()) if p not in own]
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
                body = recv_small_frame(ours)
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
    server = ForkServer(control, settings)
    lockdown.remember_fork_server(server)
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
