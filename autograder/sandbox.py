"""The trusted side of process isolation: starts the fork server and hands out workers.

A :class:`Sandbox` owns one zygote process (see :mod:`autograder.zygote`). ``spawn`` makes a
private working copy of one student file, asks the zygote for a fresh worker on it, waits until
the worker says it is locked down, and returns a :class:`Worker`: a
:class:`~autograder.proxy.WorkerClient` plus a way to kill the worker and all it started.

Protections, strongest available first, never silently weakened (:meth:`Sandbox.describe`
says which are in force):

- always: a separate process per lesson, resource limits (address space, CPU seconds, file
  size, open files, processes), a wall-clock deadline per call that kills the worker and its
  descendants, an empty environment, a working copy that holds only the student's file,
  stdout/stderr discarded, plain-data replies only;
- with namespaces (the grader is root, or the kernel allows unprivileged user namespaces):
  per worker, no network at all, a private PID namespace (no other process visible; killing
  its first process ends them all), a file system holding only the system, the Python
  installation, the grader modules already loaded and a private size-limited ``/tmp`` with
  the working copy (no solutions, hidden suites, tests, ``.git``, output folder, other
  submissions or home folders), no capabilities;
- as root, in addition: a user of its own per worker (``61000`` and up) and per-user kill;
- not root and no namespaces of our own, but ``bwrap`` works (see :mod:`autograder.bwrap`): the
  whole fork server in one bubblewrap sandbox (no network, hidden files, private PIDs).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from autograder import bwrap, confine, landlock, protocol
from autograder.proxy import SocketTransport, WorkerClient
from autograder.scratch import OwnedFolder
from autograder.threads import WORKER_THREADS
from autograder.turns import uncounted

REPO_ROOT = Path(__file__).resolve().parent.parent
UID_BASE = 61000
UID_RANGE = 2000
UID_SLICES = 20
PROBE_UID = UID_BASE + UID_RANGE
ALWAYS_HIDDEN = ("solutions", "autograder/suites", "tests", "benchmarks", ".git")
SPAWN_TIMEOUT = 60.0
REPLY_CAP = 256 * 1024**2
ISOLATION_MODES = ("auto", "namespaces", "bwrap", "none")
ISOLATION_VARIABLE = "GF_SANDBOX"  # set by whoever runs the grader, to force a mode (e.g. in tests)


class SandboxError(Exception):
    """The sandbox could not start or lock down a worker: a problem of the grader's machine,
    never of the student's code."""


@dataclass(frozen=True)
class Limits:
    """Resource limits for one worker (``disk_bytes``: its private ``/tmp``, with namespaces)."""

    memory_bytes: int = 3 * 1024**3
    cpu_seconds: int = 300
    file_bytes: int = 16 * 1024**2
    open_files: int = 256
    processes: int = 64
    disk_bytes: int = 64 * 1024**2

    def as_dict(self) -> dict[str, int]:
        return {"memory_bytes": self.memory_bytes, "cpu_seconds": self.cpu_seconds,
                "file_bytes": self.file_bytes, "open_files": self.open_files,
                "processes": self.processes, "disk_bytes": self.disk_bytes}

    @property
    def max_reply_bytes(self) -> int:
        """The largest reply a worker may send: a quarter of its memory, at most
        :data:`REPLY_CAP` (the trusted side holds a few copies of what it decodes)."""
        return min(REPLY_CAP, protocol.MAX_PAYLOAD_BYTES, self.memory_bytes // 4)


@dataclass
class Worker:
    """A running worker: talk to it through ``client``; ``kill`` ends it and all it started.

    ``pid`` is the worker's process group (``os.killpg(pid, SIGKILL)`` ends it too);
    ``init_pid`` is the process the sandbox kills (with namespaces, the namespace's first)."""

    client: WorkerClient
    pid: int
    uid: int | None
    sandbox: "Sandbox"
    workdir: Path
    module_path: Path
    init_pid: int = 0
    alive: bool = True

    def kill(self) -> None:
        """End the worker and every process it started; safe to call twice."""
        if not self.alive:
            return
        self.alive = False
        self.client.close()
        self.sandbox.kill_worker(self.init_pid or self.pid, self.uid)
        shutil.rmtree(self.workdir, ignore_errors=True)


@dataclass
class Sandbox:
    """One fork server and the protections it can give; use as a context manager.

    ``isolation``: ``"auto"`` (the strongest available), ``"namespaces"`` (fail unless every
    worker gets its own namespaces), ``"bwrap"`` (fail unless the fork server runs in
    bubblewrap) or ``"none"`` (no namespaces; Landlock and seccomp still apply where the kernel
    has them: the fallback, for tests). With ``"auto"``, the environment variable
    ``GF_SANDBOX`` may name another mode. ``preload=False`` starts the fork server without
    importing torch: quick, for finding out which protections this machine gives (each worker
    then pays for its own imports)."""

    limits: Limits = field(default_factory=Limits)
    hidden_paths: Iterable[Path] = ()
    isolation: str = "auto"
    preload: bool = True
    # Lessons whose coursekit.harness.lessonN.warm_fork_server() the fork server runs before it
    # forks any worker (compiling what every worker would otherwise compile on its own).
    warm_lessons: tuple[int, ...] = ()
    protections: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.isolation == "auto":
            self.isolation = os.environ.get(ISOLATION_VARIABLE, "") or "auto"
        if self.isolation not in ISOLATION_MODES:
            raise ValueError(f"isolation must be one of {ISOLATION_MODES}, not {self.isolation!r}")
        self._lock = threading.Lock()
        # Each grader process takes its own slice of the uid range, so two runs at the same time
        # (two TAs' terminals, parallel tests) never share a worker user and its process limit.
        self._uid_slice = UID_BASE + (os.getpid() % UID_SLICES) * (UID_RANGE // UID_SLICES)
        self._uids = itertools.count()
        self.is_root = os.geteuid() == 0
        hidden = [Path(p) for p in self.hidden_paths] + [REPO_ROOT / p for p in ALWAYS_HIDDEN]
        self.hidden_paths = sorted({os.path.realpath(p) for p in hidden if p.exists()})
        self._folder = OwnedFolder("gf-workers-")
        self._base = self._folder.path
        self._process: subprocess.Popen[bytes] | None = None
        self.namespaces = False
        self.landlock = 0
        self.no_sockets = False
        self.in_bwrap = False
        self.unavailable_reason = ""
        try:
            os.chmod(self._base, 0o711 if self.is_root else 0o700)
            self._start()
        except BaseException:
            self._folder.remove()
            raise
        self.protections = ["separate-process", "resource-limits", "process-limit",
                            "wall-clock-kill", "empty-environment", "private-working-copy",
                            "output-discarded", "plain-data-only"]
        if self.private_users:
            self.protections.append("unprivileged-user")
        if self.namespaces:
            self.protections += ["no-network", "private-filesystem", "private-tmp",
                                 "private-processes", "no-capabilities"]
        elif self.in_bwrap:
            self.protections += ["bwrap:no-network", "bwrap:private-filesystem",
                                 "bwrap:private-processes"]
        if not self.namespaces:
            self.protections += landlock.protections(self.landlock)
            if self.no_sockets:
                self.protections.append("no-sockets")
        if self.in_bwrap:
            self.protections.append("bubblewrap")
        if not self.is_root:
            self.protections.append("grader-not-dumpable")
            _not_dumpable()

    # ----------------------------------------------------------------------- the fork server

    def _start(self) -> None:
        """Start the zygote the strongest way this machine allows (see ``isolation``)."""
        if self.isolation == "bwrap":
            self._launch(in_bwrap=True)
            return
        self._launch(in_bwrap=False)
        if self.isolation == "namespaces" and not self.namespaces:
            raise SandboxError(f"per-worker namespaces are not available: {self.unavailable_reason}")
        if self.isolation == "auto" and not self.namespaces and not self.is_root:
            program = bwrap.find()
            if program and bwrap.works(program):
                first_reason = self.unavailable_reason
                self._stop_zygote()
                self._launch(in_bwrap=True)
                self.unavailable_reason = first_reason

    def _launch(self, in_bwrap: bool) -> None:
        control, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **WORKER_THREADS,
               "PYTHONHASHSEED": "0", "HOME": str(self._base), "PYTHONDONTWRITEBYTECODE": "1"}
        # The zygote (and through it every worker) dies with the grader: the kernel's
        # parent-death signal. It fires when the *thread* that started the child ends, so only
        # the main thread, which lasts as long as the grader, may ask for it; a zygote restarted
        # from a grading thread exits instead when the control socket closes (the grader's end).
        main_thread = threading.current_thread() is threading.main_thread()
        grader = os.getpid() if main_thread and not in_bwrap else 0
        argv = [sys.executable, "-m", "autograder.zygote", str(zygote_end.fileno()), str(grader)]
        if in_bwrap:  # bwrap's own --die-with-parent, in its PID namespace, replaces the zygote's
            program = bwrap.find()
            if program is None:
                raise SandboxError("bubblewrap (bwrap) is not installed")
            argv = bwrap.command(program, REPO_ROOT, self._base, self.hidden_paths, argv,
                                 die_with_parent=main_thread)
        self._process = subprocess.Popen(argv, pass_fds=[zygote_end.fileno()], env=env,
                                         cwd=str(REPO_ROOT), stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        zygote_end.close()
        self._control = control
        self._control.sendall(json.dumps({
            "namespaces": self.isolation != "none", "preload": self.preload,
            "warm_lessons": list(self.warm_lessons),
            "hidden_paths": confine.hidden_in_view(str(REPO_ROOT), self.hidden_paths),
            "repo_root": str(REPO_ROOT), "base": str(self._base), "limits": self.limits.as_dict(),
            "probe_uid": PROBE_UID if self.is_root and not in_bwrap else None}).encode())
        reply = self._control.recv(1 << 16)
        if not reply:
            self._stop_zygote()
            raise SandboxError("the grader's fork server failed to start"
                               + (" inside bubblewrap" if in_bwrap else ""))
        answer = json.loads(reply.decode())
        self.namespaces = bool(answer["namespaces"])
        self.landlock = int(answer.get("landlock", 0))
        self.no_sockets = bool(answer.get("no_sockets", False))
        self.unavailable_reason = "" if self.namespaces else str(answer.get("reason", ""))
        self.in_bwrap = in_bwrap

    @property
    def private_users(self) -> bool:
        """Whether each worker runs as a user of its own (the grader is root, outside bubblewrap)."""
        return self.is_root and not self.in_bwrap

    def _zygote_alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _stop_zygote(self) -> None:
        try:
            self._control.close()
        except (OSError, AttributeError):
            pass
        if self._process is not None:
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def _restart_if_dead(self) -> None:
        """A fork server that died (killed by a worker in the weakest mode) is started again."""
        if self._zygote_alive():
            return
        was = (self.namespaces, self.in_bwrap, self.landlock, self.no_sockets)
        self._stop_zygote()
        self._launch(in_bwrap=self.in_bwrap)
        if (self.namespaces, self.in_bwrap, self.landlock, self.no_sockets) != was:
            raise SandboxError("the restarted fork server cannot give the same protections")

    # ----------------------------------------------------------------------- reporting

    def describe(self) -> str:
        """One line for the grader's output: which protections are in force and which are not."""
        missing = []
        if not self.private_users:
            missing.append("a user of its own per worker (the grader is not root)")
        if not self.namespaces:
            why = f" ({self.unavailable_reason})" if self.unavailable_reason else ""
            if self.isolation == "none":
                why = f" (turned off: {ISOLATION_VARIABLE}=none)"
            if self.in_bwrap:
                missing.append("namespaces per worker: workers share one bubblewrap sandbox"
                               + (" (Landlock keeps each to its own working copy)" if self.landlock
                                  else ", so they can see each other's working copies") + why)
            elif self.landlock:
                gaps = ["/proc (other processes' command lines)"]
                gaps += [] if self.no_sockets else ["UDP and Unix sockets"]
                gaps += [] if self.landlock >= 4 or self.no_sockets else ["TCP"]
                gaps += [] if self.landlock >= 6 else ["signals to the grader's user's processes"]
                missing.append(f"network, PID and mount namespaces: this machine does not permit "
                               f"them{why}; Landlock{' and seccomp' if self.no_sockets else ''} "
                               f"confine files and sockets, but not {', '.join(gaps)}")
            else:
                missing.append("network, file-system and process isolation: this machine permits "
                               f"neither namespaces nor Landlock{why}; student code can read what "
                               "the grader's user can read and reach the network")
        text = "Sandbox protections in force: " + ", ".join(self.protections)
        if missing:
            text += ". Not available: " + "; ".join(missing)
        return text

    # ----------------------------------------------------------------------- workers

    def spawn(self, student_file: Path) -> Worker:
        """A fresh, locked-down worker whose working copy holds only ``student_file``.

        Raises :class:`SandboxError` when no worker could be started or locked down."""
        workdir = Path(tempfile.mkdtemp(dir=self._base, prefix="w-"))
        try:
            return self._spawn_in(workdir, Path(student_file))
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise

    def _spawn_in(self, workdir: Path, student_file: Path) -> Worker:
        shutil.copyfile(student_file, workdir / student_file.name)
        uid = None
        if self.private_users:
            uid = self._uid_slice + next(self._uids) % (UID_RANGE // UID_SLICES)
            for path in (workdir, workdir / student_file.name):
                os.chown(path, uid, uid)
        os.chmod(workdir, 0o700)
        parent_end, worker_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        request = {"op": "spawn", "workdir": str(workdir), "file_name": student_file.name,
                   "uid": uid, "limits": self.limits.as_dict()}
        try:
            with uncounted(self._lock):  # another submission's spawn is not this one's time
                self._restart_if_dead()
                try:
                    socket.send_fds(self._control, [json.dumps(request).encode()],
                                    [worker_end.fileno()])
                    reply = self._control.recv(1 << 16)
                except OSError as exc:
                    raise SandboxError(f"the grader's fork server stopped: {exc}") from None
        finally:
            worker_end.close()
        if not reply:
            parent_end.close()
            raise SandboxError("the grader's fork server stopped")
        answer = json.loads(reply.decode())
        if "error" in answer:
            parent_end.close()
            raise SandboxError(f"the fork server could not start a worker: {answer['error']}")
        init_pid, group = int(answer["pid"]), int(answer["pgid"])
        try:
            self._await_ready(parent_end)
        except SandboxError:
            self.kill_worker(init_pid, uid)
            parent_end.close()
            raise
        client = WorkerClient(SocketTransport(parent_end, max_payload=self.limits.max_reply_bytes))
        return Worker(client=client, pid=group, uid=uid, sandbox=self, workdir=workdir,
                      module_path=Path(student_file.name), init_pid=init_pid)

    @staticmethod
    def _await_ready(sock: socket.socket) -> None:
        """The worker's first frame: ``ready`` once locked down, or why it could not be."""
        sock.settimeout(SPAWN_TIMEOUT)
        try:
            header, payload = protocol.recv_frame(sock, max_payload=0)
            body, _ = protocol.unpack(header, payload)
        except (OSError, EOFError, protocol.ProtocolError) as exc:
            raise SandboxError(f"a worker did not start: {exc}") from None
        if not isinstance(body, dict) or "ready" not in body:
            why = body.get("failed") if isinstance(body, dict) else body
            raise SandboxError(f"a worker could not be locked down: {str(why)[:500]}")

    def kill_worker(self, pid: int, uid: int | None) -> None:
        """Kill a worker (and every process of its user, when it has one of its own)."""
        with uncounted(self._lock):
            try:
                self._control.sendall(json.dumps({"op": "kill", "pid": pid, "uid": uid}).encode())
                self._control.recv(1 << 10)
            except OSError:
                pass

    def close(self) -> None:
        """Stop the fork server and remove every working copy."""
        try:
            self._stop_zygote()
        finally:
            self._folder.remove()

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _not_dumpable() -> None:
    """Workers that run as the grader's own user cannot read this process's memory or
    environment through /proc or ptrace once it is not dumpable."""
    try:
        confine.prctl(confine.PR_SET_DUMPABLE, 0)
    except OSError:
        pass
