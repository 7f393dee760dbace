"""The grader's side of the worker connection: handles that look like the student's module.

A hidden test receives ``student`` and ``harness`` handles. Attribute access and calls on a
handle become requests to the worker; what comes back is decoded by
:func:`autograder.protocol.decode` into fresh tensors, numbers and strings, or into another
:class:`RemoteObject` for objects that stay in the worker. Errors raised by the student's
code come back as :class:`StudentError`, a grader-side exception that carries the student's
exception type name, message and traceback as text.

Every request carries a fresh random id that its reply must repeat. A reply to another
request, or bytes the worker sent before it was asked, lose the worker: a worker cannot queue
answers ahead of questions. Replies are read, parsed and decoded outside the test turn
(:func:`autograder.turns.waiting_for_worker`), within the test's own time, so a slow or
hostile reply costs only its own submission.
"""

from __future__ import annotations

import random
import secrets
import select
import socket
import time
from typing import Any, Callable

import numpy as np
import torch

from autograder import protocol
from autograder.protocol import HARNESS_ID, STUDENT_ID
from autograder.turns import clock, waiting_for_worker


class StudentError(Exception):
    """The student's code raised an exception (its type and message are carried as text; ask
    whether it is of a type with :func:`coursekit.testing.is_exception_of`)."""

    def __init__(self, type_name: str, mro: list[str], message: str, traceback: str) -> None:
        super().__init__(f"{type_name}: {message}" if message else type_name)
        self.type_name = type_name
        self.mro = mro
        self.message = message
        self.traceback = traceback


class WorkerLost(Exception):
    """The worker died or stopped answering; ``reason`` says which, for the student."""

    def __init__(self, reason: str, timed_out: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.timed_out = timed_out


class Transport:
    """Carries one request frame to a worker and returns its response frame."""

    def exchange(self, frame: bytes, timeout: float) -> tuple[bytes, bytes]:
        raise NotImplementedError

    def close(self) -> None:
        pass


class InProcessTransport(Transport):
    """Serves requests with a :class:`WorkerServer` in this process (development and unit tests only).

    It gives the same values, copies and handles as a real worker but no isolation at all.
    Like a worker process, it keeps global random generators of its own (torch's CPU one,
    numpy's, Python's), swapped in for each request: the trusted side restores its generator
    after every exchange (:func:`autograder.turns.waiting_for_worker`), which would otherwise
    undo the student's draws, so two calls of a correct sampler would return the same values.
    """

    def __init__(self) -> None:
        # Imported here: the worker's module pulls in coursekit.harness (and torch._dynamo),
        # which the grading process itself never needs.
        from autograder.worker import WorkerServer
        self.server = WorkerServer()
        self._generators = _global_generators()

    def exchange(self, frame: bytes, timeout: float) -> tuple[bytes, bytes]:
        header_len, payload_len = protocol.FRAME_PREFIX.unpack(frame[: protocol.FRAME_PREFIX.size])
        start = protocol.FRAME_PREFIX.size
        ours = _global_generators()
        _restore_generators(self._generators)
        try:
            response = self.server.handle(frame[start:start + header_len], frame[start + header_len:])
        finally:
            self._generators = _global_generators()
            _restore_generators(ours)
        header_len, payload_len = protocol.FRAME_PREFIX.unpack(response[: protocol.FRAME_PREFIX.size])
        return (response[start:start + header_len], response[start + header_len:])


def _global_generators() -> tuple[Any, ...]:
    """The states of this process's global random generators (torch CPU, numpy, Python)."""
    return torch.get_rng_state(), np.random.get_state(), random.getstate()


def _restore_generators(states: tuple[Any, ...]) -> None:
    torch_state, numpy_state, python_state = states
    torch.set_rng_state(torch_state)
    np.random.set_state(numpy_state)
    random.setstate(python_state)


class SocketTransport(Transport):
    """Talks to a worker process over a connected socket, with a deadline per exchange."""

    def __init__(self, sock: socket.socket, max_payload: int = protocol.MAX_PAYLOAD_BYTES) -> None:
        self.sock = sock
        self.max_payload = max_payload

    def exchange(self, frame: bytes, timeout: float) -> tuple[bytes, bytes]:
        """Send ``frame`` and read the reply, all within ``timeout`` seconds (a reply trickled
        byte by byte gets no more time). A reply that breaks the framing loses the worker:
        the stream cannot be trusted after it."""
        if timeout <= 0:
            raise WorkerLost("the time allowed for this lesson ran out", timed_out=True)
        deadline = time.monotonic() + timeout
        self.sock.settimeout(timeout)
        try:
            self._refuse_unsolicited()
            protocol.send_frame(self.sock, frame)
            return protocol.recv_frame(self.sock, self.max_payload, deadline)
        except protocol.ProtocolError as exc:
            raise WorkerLost(f"your code sent the grader a reply it cannot accept ({exc})") from None
        except socket.timeout:
            # No number in the message: the time left varies, and feedback must be reproducible.
            raise WorkerLost("your code did not finish in the time allowed (an infinite loop, "
                             "or far too much work?)", timed_out=True) from None
        except (EOFError, ConnectionError, OSError) as exc:
            raise WorkerLost("the process running your code died (it exited, crashed, or hit a "
                             f"memory/CPU/process limit): {exc}") from None

    def _refuse_unsolicited(self) -> None:
        """Nothing may be waiting before a request is sent: a worker answers only when asked."""
        poll = select.poll()  # not select.select: it fails for descriptors over 1023
        poll.register(self.sock, select.POLLIN)
        if not poll.poll(0):
            return
        if self.sock.recv(1, socket.MSG_PEEK):
            raise WorkerLost("your code sent the grader data it had not asked for (only the "
                             "grader's own worker code may write to its connection)")
        raise EOFError("the worker closed the connection")

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class WorkerClient:
    """Sends requests through a transport and decodes the answers; the deadline is set per test."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.deadline = float("inf")
        self.default_timeout = 60.0
        # Results that several tests of a lesson share (see autograder.suite.shared); they die
        # with this worker, so a replacement worker starts from nothing.
        self.shared: dict[str, tuple[bool, Any]] = {}
        self._seed: int | None = None  # sent with the next request (see seed)

    def remaining(self) -> float:
        if self.deadline == float("inf"):
            return self.default_timeout
        return self.deadline - clock()

    def request(self, request: dict[str, Any]) -> Any:
        request_id = secrets.randbits(62)
        if self._seed is not None:
            request, self._seed = {**request, "seed": self._seed}, None
        arrays: list[np.ndarray] = []
        body = protocol.encode({**request, "id": request_id}, arrays, self._ref_of)
        with waiting_for_worker():  # other threads may check their results meanwhile
            header, payload = self.transport.exchange(protocol.pack(body, arrays), self.remaining())
            try:
                response, response_arrays = protocol.unpack(header, payload)
            except protocol.ProtocolError as exc:  # the stream cannot be trusted after it
                raise WorkerLost(f"your code sent the grader a reply it cannot accept ({exc})") from None
            if not isinstance(response, dict) or response.get("id") != request_id or len(response) != 2:
                raise WorkerLost("your code sent the grader a reply to a question it had not asked")
            (kind, value), = ((k, v) for k, v in response.items() if k != "id")
            if kind == "ok":
                result = protocol.decode(value, response_arrays, self._handle)
            if self.remaining() < 0:
                raise WorkerLost("your code's reply took longer than the time allowed to read",
                                 timed_out=True)
        if kind == "ok":
            return result
        if kind == "rejected":
            raise protocol.RejectedValue(str(value)[:2000])
        if kind == "error" and isinstance(value, dict):
            return self._raise_student_error(value)
        raise protocol.ProtocolError("malformed response")

    @staticmethod
    def _raise_student_error(value: dict[str, Any]) -> Any:
        mro = value.get("mro")
        raise StudentError(
            str(value.get("type", "Exception"))[:200],
            [str(m)[:200] for m in mro][:20] if isinstance(mro, list) else [],
            str(value.get("message", ""))[:2000],
            str(value.get("traceback", ""))[:8000],
        )

    def _ref_of(self, value: Any) -> protocol.Ref:
        if isinstance(value, RemoteObject) and object.__getattribute__(value, "_client") is self:
            return protocol.Ref(object.__getattribute__(value, "_id"), "")
        raise protocol.ProtocolError(f"a {type(value).__name__} cannot be sent to the worker")

    def _handle(self, ref_id: int, type_name: str) -> "RemoteObject":
        return RemoteObject(self, ref_id, type_name)

    def import_module(self, path: str, module_name: str) -> None:
        self.request({"op": "import", "path": path, "module": module_name})

    def seed(self, seed: int) -> None:
        """Seed the worker's global generators before the next request runs (it carries the
        seed: no round trip of its own; a test that never reaches the worker needs none)."""
        self._seed = seed

    def student(self) -> "RemoteObject":
        return RemoteObject(self, STUDENT_ID, "module")

    def harness(self) -> "RemoteObject":
        return RemoteObject(self, HARNESS_ID, "module")

    def close(self) -> None:
        self.transport.close()


class RemoteObject:
    """A stand-in for an object in the worker: attribute reads and calls go there."""

    __slots__ = ("_client", "_id", "_type")

    def __init__(self, client: WorkerClient, ref_id: int, type_name: str) -> None:
        object.__setattr__(self, "_client", client)
        object.__setattr__(self, "_id", ref_id)
        object.__setattr__(self, "_type", type_name)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        client: WorkerClient = object.__getattribute__(self, "_client")
        return client.request({"op": "getattr", "target": object.__getattribute__(self, "_id"),
                               "name": name})

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        client: WorkerClient = object.__getattribute__(self, "_client")
        return client.request({"op": "call", "target": object.__getattribute__(self, "_id"),
                               "args": list(args), "kwargs": kwargs})

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("objects in the worker are read-only from the grader")

    def __bool__(self) -> bool:
        raise TypeError("an object returned by student code has no truth value on the grader's "
                        "side: compare a plain value (a number, string or tensor) instead")

    def __repr__(self) -> str:
        return f"<student object {object.__getattribute__(self, '_type')}>"


def shared_results(handle: Any) -> dict[str, tuple[bool, Any]] | None:
    """The worker's store of shared results behind a ``student``/``harness`` handle; ``None``
    for a plain module (public tests), which shares nothing."""
    if not isinstance(handle, RemoteObject):
        return None
    client: WorkerClient = object.__getattribute__(handle, "_client")
    return client.shared


def in_process_handles(module_path: str, module_name: str) -> tuple[RemoteObject, RemoteObject, WorkerClient]:
    """``(student, harness, client)`` served in this process: for developing suites, never for grading."""
    client = WorkerClient(InProcessTransport())
    client.import_module(module_path, module_name)
    return client.student(), client.harness(), client


ProxyFactory = Callable[[], WorkerClient]
