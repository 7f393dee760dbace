"""The trusted side of process isolation: starts the fork server and hands out workers.

A :class:`Sandbox` owns one zygote process (see :mod:`autograder.zygote`). ``spawn`` makes a
private working copy of one student file, asks the zygote for a fresh worker on it and returns
a :class:`Worker`: a :class:`~autograder.proxy.WorkerClient` plus a way to kill the worker's
whole process group (and, when workers run as their own user, every process of that user).

Protections, strongest available first, never silently weakened:
- always: a separate process per lesson, resource limits (address space, CPU seconds, file
  size, open files), a wall-clock deadline per call that kills the whole process group, an
  empty environment, a working copy that holds only the student's file, plain-data replies;
- as root: an unprivileged user per worker with a process-count limit, a private network
  namespace (no network at all), and a mount namespace that covers the solutions, hidden
  suites, tests and output folders with empty read-only filesystems.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from autograder.proxy import SocketTransport, WorkerClient

REPO_ROOT = Path(__file__).resolve().parent.parent
UID_BASE = 61000
UID_RANGE = 2000
NAMESPACE_PROTECTIONS = ("network", "hidden-paths")


@dataclass(frozen=True)
class Limits:
    """Resource limits for one worker process."""

    memory_bytes: int = 3 * 1024**3
    cpu_seconds: int = 300
    file_bytes: int = 16 * 1024**2
    open_files: int = 256
    processes: int = 64

    def as_dict(self) -> dict[str, int]:
        return {"memory_bytes": self.memory_bytes, "cpu_seconds": self.cpu_seconds,
                "file_bytes": self.file_bytes, "open_files": self.open_files,
                "processes": self.processes}


@dataclass
class Worker:
    """A running worker: talk to it through ``client``; ``kill`` ends it and all it started."""

    client: WorkerClient
    pid: int
    uid: int | None
    sandbox: "Sandbox"
    workdir: Path
    module_path: Path
    alive: bool = True

    def kill(self) -> None:
        if not self.alive:
            return
        self.alive = False
        self.client.close()
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.uid is not None:
            self.sandbox.kill_uid(self.uid)
        shutil.rmtree(self.workdir, ignore_errors=True)


@dataclass
class Sandbox:
    """One fork server and the protections it can give; use as a context manager."""

    limits: Limits = field(default_factory=Limits)
    hidden_paths: Iterable[Path] = ()
    protections: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._uids = itertools.count()
        self.is_root = os.geteuid() == 0
        self.hidden_paths = sorted({str(Path(p).resolve()) for p in self.hidden_paths
                                    if Path(p).exists()})
        self._base = Path(tempfile.mkdtemp(prefix="gf-workers-"))
        os.chmod(self._base, 0o711 if self.is_root else 0o700)
        self._control, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OMP_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0", "HOME": str(self._base),
               "PYTHONDONTWRITEBYTECODE": "1"}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "autograder.zygote", str(zygote_end.fileno())],
            pass_fds=[zygote_end.fileno()], env=env, cwd=str(REPO_ROOT),
            stdin=subprocess.DEVNULL, start_new_session=True)
        zygote_end.close()
        wanted = list(NAMESPACE_PROTECTIONS) if self.is_root else []
        self._control.sendall(json.dumps({"wanted": wanted,
                                          "hidden_paths": self.hidden_paths}).encode())
        reply = self._control.recv(1 << 16)
        if not reply:
            raise RuntimeError("the grader's fork server failed to start")
        available = json.loads(reply.decode())["available"]
        self._namespaces = [p for p in NAMESPACE_PROTECTIONS if p in available]
        self.protections = ["separate-process", "resource-limits", "wall-clock-kill",
                            "empty-environment", "private-working-copy", "plain-data-only"]
        if self.is_root:
            self.protections += ["unprivileged-user", "processes"]
        self.protections += self._namespaces

    def describe(self) -> str:
        """One line for the grader's output: which protections are in force and which are not."""
        missing = []
        if not self.is_root:
            missing.append("unprivileged user and process-count limit (the grader is not root)")
        for name in NAMESPACE_PROTECTIONS:
            if name not in self._namespaces:
                missing.append(f"{name} namespace (not permitted on this machine)")
        text = "Sandbox protections in force: " + ", ".join(self.protections)
        if missing:
            text += ". Not available: " + "; ".join(missing)
        return text

    def spawn(self, student_file: Path) -> Worker:
        """A fresh worker whose working copy holds only ``student_file``."""
        workdir = Path(tempfile.mkdtemp(dir=self._base, prefix="w-"))
        shutil.copy2(student_file, workdir / student_file.name)
        uid = None
        if self.is_root:
            uid = UID_BASE + next(self._uids) % UID_RANGE
            for path in (workdir, workdir / student_file.name):
                os.chown(path, uid, uid)
        os.chmod(workdir, 0o700)
        parent_end, worker_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        request = {"op": "spawn", "workdir": str(workdir), "uid": uid,
                   "limits": self.limits.as_dict(), "protections": self._child_protections(),
                   "hidden_paths": self.hidden_paths, "repo_root": str(REPO_ROOT)}
        with self._lock:
            socket.send_fds(self._control, [json.dumps(request).encode()], [worker_end.fileno()])
            reply = self._control.recv(1 << 16)
        worker_end.close()
        if not reply:
            raise RuntimeError("the grader's fork server stopped")
        pid = json.loads(reply.decode())["pid"]
        client = WorkerClient(SocketTransport(parent_end))
        return Worker(client=client, pid=pid, uid=uid, sandbox=self, workdir=workdir,
                      module_path=workdir / student_file.name)

    def _child_protections(self) -> list[str]:
        return self._namespaces + (["processes"] if self.is_root else [])

    def kill_uid(self, uid: int) -> None:
        with self._lock:
            try:
                self._control.sendall(json.dumps({"op": "kill_uid", "uid": uid}).encode())
                self._control.recv(1 << 10)
            except OSError:
                pass

    def close(self) -> None:
        try:
            self._control.close()
        finally:
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
            shutil.rmtree(self._base, ignore_errors=True)

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
