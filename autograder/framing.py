"""The frame layer of :mod:`autograder.protocol`, without torch or numpy.

A frame is two big-endian 8-byte lengths (JSON header, array payload), the header, then the
payload. This module reads and writes the byte layer only, so that the fork server and a worker
that is still locking itself down (neither has imported torch or numpy yet) speak the same
framing as :mod:`autograder.protocol`, which adds the encoding of values on top.
"""

from __future__ import annotations

import json
import socket
import struct
import time
from typing import Any

FRAME_PREFIX = struct.Struct("!QQ")
SMALL_FRAME_BYTES = 1 << 16  # the largest array-less frame a worker sends before it serves


def send_frame(sock: socket.socket, frame: bytes) -> None:
    """Send one frame (the socket's timeout bounds the whole send)."""
    sock.sendall(frame)


def recv_exact(sock: socket.socket, n: int, deadline: float | None = None) -> bytes:
    """Read exactly ``n`` bytes; with ``deadline`` (``time.monotonic()``), all of them by then,
    however slowly the peer trickles them (``socket.timeout`` otherwise)."""
    chunks = []
    remaining = n
    while remaining:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("deadline passed")
            sock.settimeout(left)
        chunk = sock.recv(min(remaining, 1 << 20))
        if not chunk:
            raise EOFError("the worker closed the connection")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def small_frame(body: dict[str, Any]) -> bytes:
    """One frame without arrays (a worker's ``{"ready": ...}`` or ``{"failed": reason}``)."""
    header = json.dumps({"body": body, "arrays": []}).encode()
    return FRAME_PREFIX.pack(len(header), 0) + header


def send_small_frame(sock: socket.socket, body: dict[str, Any]) -> None:
    """Send :func:`small_frame` of ``body``; a peer already gone is no error (nobody to tell)."""
    try:
        send_frame(sock, small_frame(body))
    except OSError:
        pass


def recv_small_frame(sock: socket.socket) -> Any:
    """The body of one array-less frame of at most :data:`SMALL_FRAME_BYTES`; ``ValueError``
    for anything else, ``EOFError`` when the peer hangs up first."""
    header_len, payload_len = FRAME_PREFIX.unpack(recv_exact(sock, FRAME_PREFIX.size))
    if header_len > SMALL_FRAME_BYTES or payload_len:
        raise ValueError("not a small frame")
    return json.loads(recv_exact(sock, header_len).decode())["body"]
