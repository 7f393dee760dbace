"""The request loop that runs inside the untrusted worker, next to the student's module.

It holds the objects the student's code creates and answers three requests from the grader:
``import`` (load the student's file), ``getattr`` and ``call``. A request may also carry a
``seed``: the global generators are seeded with it before the request runs (the grader seeds
each test this way, with no round trip of its own). Object 0 is the
student's module, object 1 is :mod:`coursekit.harness`. Everything it answers goes through
:mod:`autograder.protocol`, and the grader validates it again on arrival: nothing this loop
says is trusted, since the student's code shares its process.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from autograder import protocol
from autograder.threads import keep_one_thread_each
import coursekit.harness

STUDENT_ID, HARNESS_ID = protocol.STUDENT_ID, protocol.HARNESS_ID
MAX_TRACEBACK_CHARS = 4000


def import_student_module(path: str, module_name: str) -> ModuleType:
    """Import the student's file under ``module_name`` (the folder is put first on ``sys.path``).

    ``path`` may be relative: the sandbox passes the file's name, found in the working copy
    (the worker's current directory), so no path outside the worker's view is ever needed."""
    file = Path(path).resolve()
    sys.path.insert(0, str(file.parent))
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {file.name}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def describe_exception(exc: BaseException) -> dict[str, Any]:
    """The plain-data description of an exception raised by student code."""
    frames = traceback.format_exception(type(exc), exc, exc.__traceback__)
    # Paths of the private working copy differ per run: drop them so feedback is reproducible.
    text = "".join(frames).replace(os.getcwd() + os.sep, "")
    if len(text) > MAX_TRACEBACK_CHARS:
        text = "...\n" + text[-MAX_TRACEBACK_CHARS:]
    return {
        "type": type(exc).__name__,
        "mro": [c.__name__ for c in type(exc).__mro__][:20],
        "message": str(exc)[:2000],
        "traceback": text,
    }


class WorkerServer:
    """Answers grader requests against the objects living in this process."""

    def __init__(self) -> None:
        self.objects: dict[int, Any] = {HARNESS_ID: coursekit.harness}
        self.next_id = 2

    def _register(self, obj: Any) -> protocol.Ref:
        ref = protocol.Ref(self.next_id, type(obj).__name__)
        self.objects[self.next_id] = obj
        self.next_id += 1
        return ref

    def _lookup(self, ref_id: int, type_name: str = "") -> Any:
        if ref_id not in self.objects:
            raise protocol.ProtocolError(f"unknown object {ref_id}")
        return self.objects[ref_id]

    def handle(self, header: bytes, payload: bytes) -> bytes:
        """Answer one request frame with one response frame, which repeats the request's id."""
        request_id = None
        try:
            body, arrays = protocol.unpack(header, payload)
            request = protocol.decode(body, arrays, self._lookup)
            request_id = request.pop("id", None) if isinstance(request, dict) else None
            result = self._dispatch(request)
        except BaseException as exc:  # noqa: BLE001 - the student's code may raise anything
            try:
                return protocol.pack({"id": request_id, "error": describe_exception(exc)}, [])
            except BaseException:  # noqa: BLE001 - e.g. an exception whose str() raises
                return protocol.pack({"id": request_id, "error": {
                    "type": "Exception", "mro": [], "message": "an exception that cannot be described",
                    "traceback": ""}}, [])
        out_arrays: list[np.ndarray] = []
        try:
            encoded = protocol.encode(result, out_arrays, self._register)
            return protocol.pack({"id": request_id, "ok": encoded}, out_arrays)
        except protocol.RejectedValue as exc:
            return protocol.pack({"id": request_id, "rejected": str(exc)[:2000]}, [])
        except BaseException as exc:  # noqa: BLE001
            return protocol.pack({"id": request_id, "error": describe_exception(exc)}, [])

    def _dispatch(self, request: dict[str, Any]) -> Any:
        if "seed" in request:
            coursekit.harness.seed_everything(int(request["seed"]))
        op = request["op"]
        if op == "import":
            module = import_student_module(request["path"], request["module"])
            self.objects[STUDENT_ID] = module
            return None
        target = self._lookup(request["target"])
        if op == "getattr":
            return getattr(target, request["name"])
        if op == "call":
            return target(*request.get("args", ()), **request.get("kwargs", {}))
        raise protocol.ProtocolError(f"unknown op {op!r}")


def serve(sock: socket.socket) -> None:
    """Answer requests on ``sock`` until the grader hangs up."""
    keep_one_thread_each()   # before any student code: the environment was just emptied
    server = WorkerServer()
    while True:
        try:
            header, payload = protocol.recv_frame(sock)
        except (EOFError, OSError):
            return
        protocol.send_frame(sock, server.handle(header, payload))
