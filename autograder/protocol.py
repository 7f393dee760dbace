"""The wire format between the trusted grader and a worker that runs student code.

Only plain data crosses: a JSON header and raw array buffers (no pickle, ever). A frame is

    8 bytes  big-endian length of the JSON header
    8 bytes  big-endian length of the array payload
    header   UTF-8 JSON: {"body": <encoded value>, "arrays": [{"dtype": str, "shape": [int]}]}
    payload  the arrays' bytes, C order, one after another

Values are encoded as a small tagged tree (see :func:`encode`). Tensors and numpy arrays
become entries in ``arrays``; objects that are not plain data (a student's ``nn.Module``, an
optimizer) stay where they were made and travel as a numbered handle (``{"t": "ref"}``).

:func:`decode` is what the trusted side uses on everything a worker sends: it checks sizes,
dtypes and shapes and builds fresh ``torch.Tensor`` objects, so whatever the worker did, the
trusted side only ever holds plain tensors, numbers and strings.
"""

from __future__ import annotations

import json
import math
import socket
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

from autograder.framing import FRAME_PREFIX, recv_exact, send_frame  # noqa: F401 - re-exported

MAX_HEADER_BYTES = 4 * 1024 * 1024
MAX_PAYLOAD_BYTES = 512 * 1024 * 1024
MAX_DEPTH = 32           # nesting levels of one value
MAX_ITEMS = 100_000      # entries of one list, tuple or dict
MAX_NODES = 250_000      # parts of one value, all levels together (and JSON values of one header)
MAX_HANDLES = 10_000     # worker objects named in one value
MAX_ARRAYS = 10_000      # arrays in one frame
MAX_DIMS = 8
MAX_DIM_SIZE = 2**31

# Objects every worker holds from the start: the student's module and coursekit.harness.
STUDENT_ID = 0
HARNESS_ID = 1
MAX_INT = 2**63 - 1

# Array dtypes that may cross the boundary. Object, string and void dtypes never do.
ALLOWED_DTYPES = {
    "bool": (np.bool_, torch.bool),
    "uint8": (np.uint8, torch.uint8),
    "int8": (np.int8, torch.int8),
    "int16": (np.int16, torch.int16),
    "int32": (np.int32, torch.int32),
    "int64": (np.int64, torch.int64),
    "float16": (np.float16, torch.float16),
    "float32": (np.float32, torch.float32),
    "float64": (np.float64, torch.float64),
}
TORCH_DTYPE_NAMES = {v[1]: k for k, v in ALLOWED_DTYPES.items()}
TORCH_DTYPE_NAMES[torch.bfloat16] = "bfloat16"


class ProtocolError(Exception):
    """A frame that breaks the wire format: too large, malformed, or of a forbidden type."""


class RejectedValue(Exception):
    """The student's code produced a value that may not cross to the grader (told to the student)."""


@dataclass(frozen=True)
class Ref:
    """A handle to an object that lives in the worker (a module, an optimizer, a generator)."""

    id: int
    type_name: str


# --------------------------------------------------------------------------- encoding


def encode(value: Any, arrays: list[np.ndarray], make_ref: Callable[[Any], Ref] | None,
           depth: int = 0) -> Any:
    """Turn ``value`` into the tagged JSON tree, appending array buffers to ``arrays``.

    ``make_ref`` registers a non-plain object and returns its handle; ``None`` means such
    objects are an error (the trusted side never sends its own objects to a worker).
    """
    if depth > MAX_DEPTH:
        raise RejectedValue("the value is nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value
    if type(value) is int:
        return value
    if type(value) is float:
        if math.isfinite(value):
            return value
        return {"t": "float", "v": repr(value)}
    if isinstance(value, Ref):
        return {"t": "ref", "id": value.id}
    if isinstance(value, torch.Tensor):
        if type(value) not in (torch.Tensor, torch.nn.Parameter):
            raise RejectedValue(
                f"a tensor subclass ({type(value).__name__}) was returned; return a plain torch.Tensor"
            )
        array = tensor_to_numpy(value)
        arrays.append(array)
        return {"t": "tensor", "i": len(arrays) - 1}
    if isinstance(value, np.ndarray):
        if type(value) is not np.ndarray or value.dtype.name not in ALLOWED_DTYPES:
            raise RejectedValue(f"an array of type {type(value).__name__}/{value.dtype} cannot be graded")
        arrays.append(np.array(value, copy=True, order="C"))
        return {"t": "ndarray", "i": len(arrays) - 1}
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return encode(float(value), arrays, make_ref, depth + 1)
    if isinstance(value, torch.Size):
        return {"t": "tuple", "v": [int(v) for v in value]}
    if isinstance(value, torch.dtype):
        return {"t": "dtype", "v": TORCH_DTYPE_NAMES.get(value, str(value))}
    if type(value) in (list, tuple, dict) and len(value) > MAX_ITEMS:
        raise RejectedValue(f"a {type(value).__name__} of {len(value)} entries was returned "
                            f"(the limit is {MAX_ITEMS})")
    if type(value) in (list, tuple):
        tag = "list" if type(value) is list else "tuple"
        return {"t": tag, "v": [encode(v, arrays, make_ref, depth + 1) for v in value]}
    if type(value) is dict and all(type(k) is str for k in value):
        return {"t": "dict", "v": {k: encode(v, arrays, make_ref, depth + 1) for k, v in value.items()}}
    if make_ref is None:
        raise ProtocolError(f"cannot send a {type(value).__name__} across the boundary")
    ref = make_ref(value)
    return {"t": "ref", "id": ref.id, "type": ref.type_name}


def tensor_to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """A detached, contiguous numpy copy of a plain tensor (bfloat16 widened to float32)."""
    t = torch.Tensor.detach(tensor)
    if t.dtype == torch.bfloat16:
        t = t.float()
    if t.dtype not in TORCH_DTYPE_NAMES or TORCH_DTYPE_NAMES[t.dtype] not in ALLOWED_DTYPES:
        raise RejectedValue(f"a tensor of dtype {t.dtype} cannot be graded")
    return np.array(t.cpu().numpy(), copy=True, order="C")


def pack(body: Any, arrays: list[np.ndarray]) -> bytes:
    """Serialise an encoded body and its arrays into one frame; a frame over the limits
    (:data:`MAX_HEADER_BYTES`, :data:`MAX_PAYLOAD_BYTES`, :data:`MAX_ARRAYS`) raises
    :class:`RejectedValue` (it would be refused on arrival)."""
    if len(arrays) > MAX_ARRAYS:
        raise RejectedValue(f"{len(arrays)} tensors in one result (the limit is {MAX_ARRAYS})")
    size = sum(a.nbytes for a in arrays)
    if size > MAX_PAYLOAD_BYTES:
        raise RejectedValue(f"a result of {size / 1024**2:.0f} MB (the limit is "
                            f"{MAX_PAYLOAD_BYTES // 1024**2} MB)")
    specs = [{"dtype": a.dtype.name, "shape": list(a.shape)} for a in arrays]
    header = json.dumps({"body": body, "arrays": specs}, allow_nan=False).encode()
    if len(header) > MAX_HEADER_BYTES:
        raise RejectedValue(f"a result whose description takes {len(header) / 1024**2:.1f} MB "
                            f"(the limit is {MAX_HEADER_BYTES // 1024**2} MB): huge strings or lists?")
    payload = b"".join(a.tobytes() for a in arrays)
    return FRAME_PREFIX.pack(len(header), len(payload)) + header + payload


# --------------------------------------------------------------------------- decoding


def _reject_constant(name: str) -> Any:
    raise ProtocolError(f"bare {name} in a header (non-finite numbers travel tagged)")


def check_parse_budget(header_bytes: bytes) -> None:
    """Refuse a header before parsing it when it may hold more than :data:`MAX_NODES` JSON
    values: every value after the first needs a ``,``, ``[`` or ``{`` (counted in C, in
    microseconds), so a header that passes parses in well under a second whatever it holds
    (4 MB of nested empty lists would otherwise take seconds, with the GIL held). Commas
    inside strings count too: the budget is an upper bound, never an under-count."""
    values = header_bytes.count(b",") + header_bytes.count(b"[") + header_bytes.count(b"{")
    if values > MAX_NODES:
        raise ProtocolError(f"a header of more than {MAX_NODES} values")


def unpack(header_bytes: bytes, payload: bytes, max_payload: int = MAX_PAYLOAD_BYTES
           ) -> tuple[Any, list[np.ndarray]]:
    """Parse and validate a frame's header and payload into ``(body, arrays)``.

    Every array spec must name an allowed dtype and a shape whose bytes lie inside the
    payload; together they must cover the payload exactly. A header over the parse budget
    (:func:`check_parse_budget`), malformed JSON, bare ``NaN`` or
    ``Infinity``, integers too long to parse and nesting too deep for the parser all raise
    :class:`ProtocolError`."""
    if len(header_bytes) > MAX_HEADER_BYTES or len(payload) > max_payload:
        raise ProtocolError("frame over the size limit")
    check_parse_budget(header_bytes)
    try:
        header = json.loads(header_bytes.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProtocolError(f"malformed header: {str(exc)[:200]}") from None
    if not isinstance(header, dict) or set(header) != {"body", "arrays"}:
        raise ProtocolError("header must be an object with 'body' and 'arrays'")
    specs = header["arrays"]
    if not isinstance(specs, list) or len(specs) > MAX_ARRAYS:
        raise ProtocolError(f"'arrays' must be a list of at most {MAX_ARRAYS} specs")
    arrays: list[np.ndarray] = []
    offset = 0
    for spec in specs:
        if not isinstance(spec, dict) or set(spec) != {"dtype", "shape"}:
            raise ProtocolError("bad array spec")
        dtype_name, shape = spec["dtype"], spec["shape"]
        if type(dtype_name) is not str or dtype_name not in ALLOWED_DTYPES:
            raise ProtocolError(f"array dtype {str(dtype_name)[:40]!r} is not allowed")
        if (not isinstance(shape, list) or len(shape) > MAX_DIMS
                or not all(type(d) is int and 0 <= d <= MAX_DIM_SIZE for d in shape)):
            raise ProtocolError(f"bad array shape {str(shape)[:100]}")
        dtype = np.dtype(ALLOWED_DTYPES[dtype_name][0])
        count = math.prod(shape)  # Python integers: no overflow, whatever the header claims
        nbytes = count * dtype.itemsize
        if offset + nbytes > len(payload):
            raise ProtocolError("array payload is shorter than its header claims")
        arrays.append(np.frombuffer(payload, dtype=dtype, count=count, offset=offset)
                      .reshape(shape).copy())
        offset += nbytes
    if offset != len(payload):
        raise ProtocolError("array payload is longer than its header claims")
    return header["body"], arrays


class _Decoder:
    """One :func:`decode` call: a budget of nodes and handles for the whole value."""

    def __init__(self, arrays: list[np.ndarray], make_handle: Callable[[int, str], Any]) -> None:
        self.arrays = arrays
        self.make_handle = make_handle
        self.nodes = 0
        self.handles = 0

    def value(self, body: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise ProtocolError(f"value nested more than {MAX_DEPTH} levels deep")
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ProtocolError(f"value with more than {MAX_NODES} parts")
        if body is None or type(body) in (bool, str):
            return body
        if type(body) is int:
            if not -MAX_INT <= body <= MAX_INT:
                raise ProtocolError("integer out of the 64-bit range")
            return body
        if type(body) is float:
            if not math.isfinite(body):
                raise ProtocolError("bare non-finite number")
            return body
        if type(body) is not dict or type(body.get("t")) is not str:
            raise ProtocolError(f"unexpected value of type {type(body).__name__}")
        return self.tagged(body["t"], body, depth)

    def tagged(self, tag: str, body: dict[str, Any], depth: int) -> Any:
        if tag in ("tensor", "ndarray"):
            index = body.get("i")
            if type(index) is not int or not 0 <= index < len(self.arrays):
                raise ProtocolError("array index out of range")
            array = self.arrays[index]
            return torch.from_numpy(array.copy()) if tag == "tensor" else array.copy()
        if tag == "float":
            if body.get("v") not in ("nan", "inf", "-inf"):
                raise ProtocolError("bad float")
            return float(body["v"])
        if tag in ("list", "tuple"):
            items = body.get("v")
            if type(items) is not list or len(items) > MAX_ITEMS:
                raise ProtocolError("bad sequence")
            seq = [self.value(v, depth + 1) for v in items]
            return seq if tag == "list" else tuple(seq)
        if tag == "dict":
            items = body.get("v")
            if type(items) is not dict or len(items) > MAX_ITEMS:
                raise ProtocolError("bad mapping")
            return {str(k): self.value(v, depth + 1) for k, v in items.items()}
        if tag == "dtype":
            name = body.get("v")
            if name in ALLOWED_DTYPES or name == "bfloat16":
                return getattr(torch, name)
            return str(name)[:100]
        if tag == "ref":
            ref_id, type_name = body.get("id"), body.get("type", "object")
            if type(ref_id) is not int or not 0 <= ref_id <= MAX_INT or type(type_name) is not str:
                raise ProtocolError("bad handle")
            self.handles += 1
            if self.handles > MAX_HANDLES:
                raise ProtocolError(f"more than {MAX_HANDLES} objects in one value")
            return self.make_handle(ref_id, type_name[:200])
        if tag == "rejected":
            raise RejectedValue(str(body.get("why", "a value was rejected"))[:2000])
        raise ProtocolError(f"unknown tag {tag[:40]!r}")


def decode(body: Any, arrays: list[np.ndarray], make_handle: Callable[[int, str], Any],
           depth: int = 0) -> Any:
    """Rebuild a value from its tagged tree; handles become ``make_handle(id, type_name)``.

    The result holds only ``None``, ``bool``, ``int`` (64-bit), finite ``float`` (non-finite
    ones only when tagged), ``str``, fresh plain ``torch.Tensor``/``numpy.ndarray`` copies,
    ``torch.dtype``, lists, tuples, dicts with string keys, and handles — at most
    :data:`MAX_DEPTH` levels deep, :data:`MAX_NODES` parts and :data:`MAX_HANDLES` handles."""
    return _Decoder(arrays, make_handle).value(body, depth)


# --------------------------------------------------------------------------- sockets


def recv_frame(sock: socket.socket, max_payload: int = MAX_PAYLOAD_BYTES,
               deadline: float | None = None) -> tuple[bytes, bytes]:
    """Read one frame; refuses oversized frames before reading their body."""
    header_len, payload_len = FRAME_PREFIX.unpack(recv_exact(sock, FRAME_PREFIX.size, deadline))
    if header_len > MAX_HEADER_BYTES:
        raise ProtocolError(f"header of {header_len} bytes is over the {MAX_HEADER_BYTES}-byte limit")
    if payload_len > max_payload:
        raise ProtocolError(f"payload of {payload_len} bytes is over the {max_payload}-byte limit")
    return recv_exact(sock, header_len, deadline), recv_exact(sock, payload_len, deadline)
