"""The spool's binary frames: one per request, length-prefixed and checksummed.

A frame is a 16-byte header, then its payload::

    magic "\\xa7IRL" | kind u8 | version u8 | reserved u16 | payload length u32 | crc32 u32

The CRC covers the first 12 header bytes and the payload, so a torn write (a process killed
mid-append, a crash before write-back) or a corrupt length is detected, never misread.

Kinds:
  CONTEXT      JSON: the writer's model name, version, run id, classes, features. First
               frame of every segment; the frames after it refer to it.
  PREDICTIONS  one answered request: a fixed struct (time, latency, counts, request id
               length), the request id, then raw arrays: 16-byte ids, features (rows x
               features, float64), probabilities (rows x classes, float64), class index (u8).
  REJECTION    JSON: one refused request (reason, field, row, message, rejection id).

Everything here is pure: bytes in, bytes or arrays out. New kinds or JSON keys (a role,
shadow predictions) can be added; a reader skips kinds it does not know.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

MAGIC = b"\xa7IRL"
VERSION = 1
CONTEXT, PREDICTIONS, REJECTION = 1, 2, 3

_HEAD = struct.Struct("<4sBBHI")  # everything the CRC covers, before the CRC itself
_CRC = struct.Struct("<I")
HEADER_SIZE = _HEAD.size + _CRC.size
# created_at (epoch s), latency (s), rows, features, classes, request id bytes, reserved
_PRED = struct.Struct("<ddIHHHH")
MAX_PAYLOAD = 1 << 28  # a 10,000-row request is ~0.8 MB; anything near this is corruption


def frame(kind: int, payload: bytes) -> bytes:
    """Wrap ``payload`` in a header with its length and checksum."""
    head = _HEAD.pack(MAGIC, kind, VERSION, 0, len(payload))
    return head + _CRC.pack(zlib.crc32(payload, zlib.crc32(head))) + payload


def context_frame(context: dict[str, Any]) -> bytes:
    """The CONTEXT frame that opens a segment."""
    return frame(CONTEXT, json.dumps(context, separators=(",", ":")).encode())


def rejection_frame(rejection: dict[str, Any]) -> bytes:
    """A REJECTION frame; ``rejection`` is JSON-able."""
    return frame(REJECTION, json.dumps(rejection, separators=(",", ":")).encode())


def predictions_frame(
    created_at: float,
    latency: float,
    request_id: bytes,
    ids: bytes,
    features: np.ndarray,
    probabilities: np.ndarray,
    class_index: np.ndarray,
) -> bytes:
    """A PREDICTIONS frame for one request; arrays are written as they lie in memory."""
    rows, n_features = features.shape
    n_classes = probabilities.shape[1]
    head = _PRED.pack(created_at, latency, rows, n_features, n_classes, len(request_id), 0)
    payload = b"".join(
        (
            head,
            request_id,
            ids,
            np.ascontiguousarray(features, dtype="<f8").tobytes(),
            np.ascontiguousarray(probabilities, dtype="<f8").tobytes(),
            np.ascontiguousarray(class_index, dtype="u1").tobytes(),
        )
    )
    return frame(PREDICTIONS, payload)


@dataclass(frozen=True)
class Predictions:
    """A decoded PREDICTIONS frame (arrays are read-only views of the frame's bytes)."""

    created_at: float
    latency: float
    request_id: str | None
    ids: bytes
    features: np.ndarray
    probabilities: np.ndarray
    class_index: np.ndarray

    @property
    def rows(self) -> int:
        return len(self.class_index)


def decode_predictions(payload: bytes | memoryview) -> Predictions:
    """Arrays and fields of a PREDICTIONS payload; ValueError if its sizes do not add up."""
    created, latency, rows, n_feat, n_cls, rid_len, _ = _PRED.unpack_from(payload, 0)
    pos = _PRED.size
    request_id = bytes(payload[pos : pos + rid_len]).decode("utf-8", "replace") or None
    pos += rid_len
    sizes = (rows * 16, rows * n_feat * 8, rows * n_cls * 8, rows)
    if pos + sum(sizes) != len(payload):
        raise ValueError("PREDICTIONS payload sizes do not add up")
    ids = bytes(payload[pos : pos + sizes[0]])
    pos += sizes[0]
    features = np.frombuffer(payload, "<f8", rows * n_feat, pos).reshape(rows, n_feat)
    pos += sizes[1]
    probabilities = np.frombuffer(payload, "<f8", rows * n_cls, pos).reshape(rows, n_cls)
    pos += sizes[2]
    class_index = np.frombuffer(payload, "u1", rows, pos)
    return Predictions(created, latency, request_id, ids, features, probabilities, class_index)


def decode_json(payload: bytes | memoryview) -> dict[str, Any]:
    """The object in a CONTEXT or REJECTION payload."""
    value = json.loads(bytes(payload))
    if not isinstance(value, dict):
        raise ValueError("frame payload is not a JSON object")
    return value


@dataclass(frozen=True)
class Scan:
    """Frames found in a buffer: (kind, payload, end offset) each, and how the scan ended.

    ``end`` is the offset just past the last whole frame. ``problem`` is None when the
    buffer ended exactly there, "partial" when a frame is cut short (still being written,
    or torn), "corrupt" when the bytes at ``end`` are not a valid frame.
    """

    frames: list[tuple[int, memoryview, int]]
    end: int
    problem: str | None


def scan(buffer: bytes, start: int = 0, base: int = 0, max_frames: int | None = None) -> Scan:
    """Parse whole frames from ``buffer[start:]``; offsets returned are ``base`` + position."""
    view = memoryview(buffer)
    pos, size, frames = start, len(buffer), []
    while pos < size and (max_frames is None or len(frames) < max_frames):
        if size - pos < HEADER_SIZE:
            return Scan(frames, base + pos, "partial" if _magic_prefix(view, pos) else "corrupt")
        magic, kind, _version, _, length = _HEAD.unpack_from(view, pos)
        if magic != MAGIC or length > MAX_PAYLOAD:
            return Scan(frames, base + pos, "corrupt")
        end = pos + HEADER_SIZE + length
        if end > size:
            return Scan(frames, base + pos, "partial")
        (crc,) = _CRC.unpack_from(view, pos + _HEAD.size)
        payload = view[pos + HEADER_SIZE : end]
        if zlib.crc32(payload, zlib.crc32(view[pos : pos + _HEAD.size])) != crc:
            return Scan(frames, base + pos, "corrupt")
        frames.append((kind, payload, base + end))
        pos = end
    return Scan(frames, base + pos, None)


def next_frame_start(buffer: bytes, start: int) -> int:
    """The position of the next valid frame after ``start``, or -1 (to skip corruption)."""
    pos = buffer.find(MAGIC, start + 1)
    while pos != -1:
        found = scan(buffer, pos, max_frames=1)
        if found.frames:
            return pos
        pos = buffer.find(MAGIC, pos + 1)
    return -1


def _magic_prefix(view: memoryview, pos: int) -> bool:
    tail = bytes(view[pos : pos + len(MAGIC)])
    return MAGIC.startswith(tail)
