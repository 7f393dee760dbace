"""The wire format: what round-trips, and everything a hostile worker might send that is refused."""

from __future__ import annotations

import json
import math
import socket
import struct
import threading
import time
from typing import Callable

import numpy as np
import pytest
import torch

from autograder import protocol
from autograder.protocol import ProtocolError, Ref, RejectedValue


def roundtrip(value, make_ref=None):
    arrays: list[np.ndarray] = []
    body = protocol.encode(value, arrays, make_ref)
    frame = protocol.pack(body, arrays)
    header_len, payload_len = protocol.FRAME_PREFIX.unpack(frame[:16])
    decoded_body, decoded_arrays = protocol.unpack(frame[16:16 + header_len], frame[16 + header_len:])
    return protocol.decode(decoded_body, decoded_arrays, lambda i, t: ("handle", i, t))


def frame_parts(header: dict, payload: bytes = b"") -> tuple[bytes, bytes]:
    return json.dumps(header).encode(), payload


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("value", [None, True, False, 0, -7, 2**62, 1.5, -0.0, "text", "ünïcode",
                                   [1, "a", None], (1, (2, 3)), {"a": [1, 2], "b": {"c": 3.0}}, [], {}])
def test_plain_values_round_trip(value):
    assert roundtrip(value) == value
    assert type(roundtrip(value)) is type(value)


def test_non_finite_floats_travel_tagged():
    assert math.isnan(roundtrip(float("nan")))
    assert roundtrip([float("inf"), float("-inf")]) == [float("inf"), float("-inf")]


@pytest.mark.parametrize("dtype", [torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32,
                                   torch.int64, torch.float16, torch.float32, torch.float64])
def test_tensors_round_trip_as_fresh_plain_tensors(dtype):
    tensor = (torch.arange(24).reshape(2, 3, 4) % 2).to(dtype)
    back = roundtrip(tensor)
    assert type(back) is torch.Tensor and back.dtype == dtype and back.shape == (2, 3, 4)
    assert torch.equal(back, tensor)
    back.zero_()  # writable, and shared with nothing
    assert torch.equal(roundtrip(tensor), tensor)
    assert not back.requires_grad


def test_autograd_history_and_parameters_are_dropped():
    x = torch.ones(3, requires_grad=True)
    back = roundtrip([x * 2, torch.nn.Parameter(torch.zeros(2))])
    assert all(type(t) is torch.Tensor and not t.requires_grad for t in back)


def test_bfloat16_is_widened_and_arrays_sizes_dtypes_survive():
    assert roundtrip(torch.ones(2, dtype=torch.bfloat16)).dtype == torch.float32
    array = np.arange(6, dtype=np.int32).reshape(3, 2)
    back = roundtrip(array)
    assert type(back) is np.ndarray and back.dtype == np.int32 and (back == array).all()
    assert roundtrip(torch.empty(0, 5)).shape == (0, 5)
    assert roundtrip(torch.Size([2, 3])) == (2, 3)
    assert roundtrip(torch.float64) is torch.float64


def test_objects_travel_as_handles():
    registry = []

    def make_ref(obj):
        registry.append(obj)
        return Ref(100 + len(registry), type(obj).__name__)

    module = torch.nn.Linear(2, 2)
    assert roundtrip([module, 3], make_ref) == [("handle", 101, "Linear"), 3]


# --------------------------------------------------------------------------- what a worker may not send


class Liar(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return True


def test_tensor_subclasses_and_lookalikes_are_rejected():
    with pytest.raises(RejectedValue, match="subclass"):
        protocol.encode(torch.zeros(2).as_subclass(Liar), [], lambda o: Ref(9, "x"))
    with pytest.raises(RejectedValue):
        protocol.encode(torch.zeros(2, dtype=torch.complex64), [], None)
    with pytest.raises(RejectedValue):
        protocol.encode(np.array([object()]), [], None)
    with pytest.raises(RejectedValue):
        protocol.encode(np.array(["text"]), [], None)
    with pytest.raises(RejectedValue):
        protocol.encode(np.zeros(2).view(np.recarray), [], None)

    class LookAlike:
        shape = (2, 2)
        dtype = torch.float32
    # not plain data: it stays in the worker as a handle, never becomes a tensor
    assert protocol.encode(LookAlike(), [], lambda o: Ref(5, "LookAlike"))["t"] == "ref"
    with pytest.raises(ProtocolError):
        protocol.encode(LookAlike(), [], None)


def test_subclasses_of_plain_types_do_not_pass_as_plain():
    class AlwaysEqual(int):
        def __eq__(self, other):
            return True
    assert protocol.encode(AlwaysEqual(3), [], lambda o: Ref(5, "AlwaysEqual"))["t"] == "ref"


def test_deep_nesting_long_lists_and_huge_strings_are_rejected_by_the_sender():
    deep: list = []
    for _ in range(protocol.MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(RejectedValue, match="deep"):
        protocol.encode(deep, [], None)
    with pytest.raises(RejectedValue, match="entries"):
        protocol.encode(list(range(protocol.MAX_ITEMS + 1)), [], None)
    with pytest.raises(RejectedValue, match="MB"):
        protocol.pack("x" * (protocol.MAX_HEADER_BYTES + 1), [])


@pytest.mark.parametrize("dtype", ["object", "complex64", "<U5", "V8", "float128", "datetime64", 7, None])
def test_forbidden_dtypes_are_refused(dtype):
    header, payload = frame_parts({"body": {"t": "tensor", "i": 0}, "arrays": [{"dtype": dtype, "shape": [1]}]},
                                  b"\0" * 16)
    with pytest.raises(ProtocolError, match="dtype"):
        protocol.unpack(header, payload)


@pytest.mark.parametrize("shape, payload", [
    ([4], b"\0" * 8),                      # shorter than claimed
    ([1], b"\0" * 8),                      # longer than claimed
    ([2**31] * 8, b"\0" * 8),              # an element count that overflows 64 bits
    ([-1], b""),                           # negative
    ([True], b"\0" * 4),                   # a bool is not a dimension
    ([1.0], b"\0" * 4),
    ([1] * 9, b"\0" * 4),                  # too many dimensions
    ("4", b"\0" * 16),
])
def test_lying_array_headers_are_refused(shape, payload):
    header, payload = frame_parts({"body": None, "arrays": [{"dtype": "float32", "shape": shape}]}, payload)
    with pytest.raises(ProtocolError):
        protocol.unpack(header, payload)


@pytest.mark.parametrize("header", [
    b"not json", b"\xff\xfe", b"[]", b'{"body": 1}', b'{"body": 1, "arrays": [], "extra": 2}',
    b'{"body": NaN, "arrays": []}', b'{"body": Infinity, "arrays": []}',
    b'{"body": ' + b"9" * 5000 + b', "arrays": []}',
    b'{"body": ' + b"[" * 100_000 + b"]" * 100_000 + b', "arrays": []}',
])
def test_malformed_headers_are_refused(header):
    with pytest.raises(ProtocolError):
        protocol.unpack(header, b"")


def decode(body, arrays=()):
    return protocol.decode(body, list(arrays), lambda i, t: ("handle", i, t))


@pytest.mark.parametrize("body", [
    {"t": "nope"}, {"t": "float", "v": "1e5"}, {"t": "tensor", "i": 0}, {"t": "tensor", "i": True},
    {"t": "list", "v": "abc"}, {"t": "dict", "v": [1]}, {"t": "ref", "id": -1}, {"t": "ref", "id": "1"},
    {"no": "tag"}, 2**64, 1e999, [1, 2],
])
def test_bad_values_are_refused(body):
    with pytest.raises(ProtocolError):
        decode(body)


def test_decode_bounds_depth_parts_and_handles():
    deep = 0
    for _ in range(protocol.MAX_DEPTH + 2):
        deep = {"t": "list", "v": [deep]}
    with pytest.raises(ProtocolError, match="deep"):
        decode(deep)
    refs = {"t": "list", "v": [{"t": "ref", "id": i} for i in range(protocol.MAX_HANDLES + 1)]}
    with pytest.raises(ProtocolError, match="objects"):
        decode(refs)
    wide = {"t": "list", "v": [{"t": "list", "v": [0] * 90_000} for _ in range(12)]}
    with pytest.raises(ProtocolError, match="parts"):
        decode(wide)


def test_a_rejected_marker_raises_rejected_value():
    with pytest.raises(RejectedValue, match="too big"):
        decode({"t": "rejected", "why": "too big"})


def test_nan_inside_tensors_arrives_as_data_for_the_checks_to_reject():
    from coursekit.testing import expect_scalar, expect_tensor
    value = roundtrip(torch.tensor([1.0, float("nan")]))
    with pytest.raises(AssertionError, match="NaN"):
        expect_tensor(value)
    with pytest.raises(AssertionError, match="not a finite"):
        expect_scalar(roundtrip(float("nan")))


# --------------------------------------------------------------------------- sockets


def test_oversized_frames_are_refused_before_their_body_is_read():
    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(struct.pack("!QQ", protocol.MAX_HEADER_BYTES + 1, 0))
        with pytest.raises(ProtocolError, match="header"):
            protocol.recv_frame(ours)
        theirs.sendall(struct.pack("!QQ", 2, 1025) + b"{}")
        with pytest.raises(ProtocolError, match="payload"):
            protocol.recv_frame(ours, max_payload=1024)


def test_a_reply_trickled_byte_by_byte_still_meets_the_deadline():
    ours, theirs = socket.socketpair()
    frame = protocol.pack({"ok": 1}, [])
    stop = threading.Event()

    def trickle():
        for i in range(len(frame)):
            if stop.is_set():
                return
            theirs.sendall(frame[i:i + 1])
            time.sleep(0.05)

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    start = time.monotonic()
    with pytest.raises(socket.timeout):
        protocol.recv_frame(ours, deadline=time.monotonic() + 0.5)
    assert time.monotonic() - start < 1.5
    stop.set()
    thread.join()
    ours.close()
    theirs.close()


def _ask(client) -> None:
    """Any request (the worker's reply is what these tests are about)."""
    client.request({"op": "getattr", "target": protocol.HARNESS_ID, "name": "__name__"})


def _answer_once(sock: socket.socket, reply: Callable[[dict], bytes]) -> threading.Thread:
    """A fake worker: reads one request frame, then sends ``reply(request_body)``."""
    def serve() -> None:
        header, payload = protocol.recv_frame(sock)
        body, arrays = protocol.unpack(header, payload)
        sock.sendall(reply(protocol.decode(body, arrays, lambda i, t: None)))
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def test_a_worker_that_breaks_the_framing_is_lost_not_trusted():
    from autograder.proxy import SocketTransport, WorkerClient, WorkerLost
    ours, theirs = socket.socketpair()
    _answer_once(theirs, lambda request: struct.pack("!QQ", 2**40, 0))
    client = WorkerClient(SocketTransport(ours))
    with pytest.raises(WorkerLost, match="cannot accept"):
        _ask(client)
    theirs.close()
    client.close()


def test_bytes_sent_before_the_grader_asks_lose_the_worker():
    """A worker cannot queue replies ahead of the questions (even well-formed ones)."""
    from autograder.proxy import SocketTransport, WorkerClient, WorkerLost
    ours, theirs = socket.socketpair()
    theirs.sendall(protocol.pack({"ok": None}, []))
    client = WorkerClient(SocketTransport(ours))
    with pytest.raises(WorkerLost, match="had not asked for"):
        _ask(client)
    theirs.close()
    client.close()


@pytest.mark.parametrize("reply_id", [None, "guess", 0])
def test_a_reply_must_repeat_its_requests_id(reply_id):
    from autograder.proxy import SocketTransport, WorkerClient, WorkerLost
    ours, theirs = socket.socketpair()
    _answer_once(theirs, lambda request: protocol.pack(
        {"id": request["id"] + 1 if reply_id == 0 else reply_id, "ok": None}, []))
    client = WorkerClient(SocketTransport(ours))
    with pytest.raises(WorkerLost, match="had not asked"):
        _ask(client)
    theirs.close()
    client.close()


def test_a_header_over_the_parse_budget_is_refused_before_parsing(monkeypatch):
    """4 MB of nested empty lists would take seconds to parse (with the GIL held): it is
    refused by counting, without ever reaching the JSON parser."""
    header = json.dumps({"body": {"ok": [[]] * (protocol.MAX_HEADER_BYTES // 4)}, "arrays": []},
                        separators=(",", ":")).encode()[: protocol.MAX_HEADER_BYTES]
    with monkeypatch.context() as patched:
        patched.setattr(protocol.json, "loads", lambda *a, **k: pytest.fail("the header was parsed"))
        with pytest.raises(protocol.ProtocolError, match="values"):
            protocol.unpack(header, b"")
    within = json.dumps({"body": list(range(protocol.MAX_NODES - 10)), "arrays": []}).encode()
    assert len(protocol.unpack(within, b"")[0]) == protocol.MAX_NODES - 10


def test_handles_have_no_truth_value_and_compare_by_identity():
    from autograder.proxy import RemoteObject, WorkerClient, InProcessTransport
    client = WorkerClient(InProcessTransport())
    handle = RemoteObject(client, 5, "AlwaysEqual")
    with pytest.raises(TypeError, match="truth"):
        bool(handle)
    assert handle != RemoteObject(client, 5, "AlwaysEqual") and handle != 3
    with pytest.raises(AttributeError):
        handle.__dict__
