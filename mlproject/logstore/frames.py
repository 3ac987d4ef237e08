"""The spool's binary frames: one per request, length-prefixed and checksummed.

A frame is a 16-byte header, then its payload::

    magic "\\xa7IRL" | crc32 u32 | kind u8 | version u8 | reserved u16 | payload length u32

The CRC covers everything after itself (the rest of the header and the payload), so a torn
write (a process killed mid-append, a crash before write-back) or a corrupt length is
detected, never misread.

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

_HEAD = struct.Struct("<4sIBBHI")  # magic, crc, kind, version, reserved, length
_COVERED = struct.Struct("<BBHI")  # what the CRC covers before the payload
HEADER_SIZE = _HEAD.size
_CRC_FROM = 8
# created_at (epoch s), latency (s), rows, features, classes, request id bytes, reserved
_PRED = struct.Struct("<ddIHHHH")
MAX_PAYLOAD = 1 << 28  # a 10,000-row request is ~0.8 MB; anything near this is corruption


def frame(kind: int, payload: bytes) -> bytes:
    """Wrap ``payload`` in a header with its length and checksum."""
    covered = _COVERED.pack(kind, VERSION, 0, len(payload))
    crc = zlib.crc32(payload, zlib.crc32(covered))
    return MAGIC + crc.to_bytes(4, "little") + covered + payload


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


class Predictions:
    """A decoded PREDICTIONS frame: scalars, and its arrays as raw bytes.

    The shipper decodes tens of thousands of frames per batch, so the arrays stay bytes
    here and become NumPy arrays once per batch (``features`` etc. give one frame's).
    """

    __slots__ = (
        "created_at",
        "latency",
        "request_id",
        "rows",
        "n_features",
        "n_classes",
        "ids",
        "feature_bytes",
        "probability_bytes",
        "class_bytes",
    )

    def __init__(self, data: bytes, start: int, stop: int) -> None:
        created, latency, rows, n_feat, n_cls, rid_len, _ = _PRED.unpack_from(data, start)
        a = start + _PRED.size + rid_len
        b = a + rows * 16
        c = b + rows * n_feat * 8
        d = c + rows * n_cls * 8
        if d + rows != stop:
            raise ValueError("PREDICTIONS payload sizes do not add up")
        self.created_at, self.latency, self.rows = created, latency, rows
        self.n_features, self.n_classes = n_feat, n_cls
        self.request_id = data[start + _PRED.size : a].decode("utf-8", "replace") or None
        self.ids, self.feature_bytes = data[a:b], data[b:c]
        self.probability_bytes, self.class_bytes = data[c:d], data[d:stop]

    @property
    def features(self) -> np.ndarray:
        return np.frombuffer(self.feature_bytes, "<f8").reshape(self.rows, self.n_features)

    @property
    def probabilities(self) -> np.ndarray:
        return np.frombuffer(self.probability_bytes, "<f8").reshape(self.rows, self.n_classes)

    @property
    def class_index(self) -> np.ndarray:
        return np.frombuffer(self.class_bytes, "u1")


def decode_predictions(data: bytes, start: int = 0, stop: int | None = None) -> Predictions:
    """The PREDICTIONS payload in ``data[start:stop]``; ValueError if its sizes do not add up."""
    return Predictions(data, start, len(data) if stop is None else stop)


def decode_json(data: bytes, start: int = 0, stop: int | None = None) -> dict[str, Any]:
    """The object in a CONTEXT or REJECTION payload in ``data[start:stop]``."""
    value = json.loads(data[start:stop])
    if not isinstance(value, dict):
        raise ValueError("frame payload is not a JSON object")
    return value


@dataclass(frozen=True)
class Scan:
    """Frames found in a buffer, and how the scan ended.

    ``frames`` holds (kind, payload start, payload stop, end offset) per frame: positions
    in the buffer, and the offset just past the frame (``base`` added). ``end`` is the
    offset just past the last whole frame. ``problem`` is None when the buffer ended exactly
    there, "partial" when a frame is cut short (still being written, or torn), "corrupt"
    when the bytes at ``end`` are not a valid frame.
    """

    frames: list[tuple[int, int, int, int]]
    end: int
    problem: str | None


def scan(buffer: bytes, start: int = 0, base: int = 0, max_frames: int | None = None) -> Scan:
    """Parse whole frames from ``buffer[start:]``; offsets returned are ``base`` + position."""
    found: list[tuple[int, int, int, int]] = []
    pos, size = start, len(buffer)
    unpack, crc32, limit = _HEAD.unpack_from, zlib.crc32, max_frames or size
    while pos < size and len(found) < limit:
        if size - pos < HEADER_SIZE:
            problem = "partial" if MAGIC.startswith(buffer[pos : pos + 4]) else "corrupt"
            return Scan(found, base + pos, problem)
        magic, crc, kind, _version, _, length = unpack(buffer, pos)
        if magic != MAGIC or length > MAX_PAYLOAD:
            return Scan(found, base + pos, "corrupt")
        end = pos + HEADER_SIZE + length
        if end > size:
            return Scan(found, base + pos, "partial")
        if crc32(buffer[pos + _CRC_FROM : end]) != crc:
            return Scan(found, base + pos, "corrupt")
        found.append((kind, pos + HEADER_SIZE, end, base + end))
        pos = end
    return Scan(found, base + pos, None)


def next_frame_start(buffer: bytes, start: int) -> int:
    """The position of the next valid frame after ``start``, or -1 (to skip corruption)."""
    pos = buffer.find(MAGIC, start + 1)
    while pos != -1:
        found = scan(buffer, pos, max_frames=1)
        if found.frames:
            return pos
        pos = buffer.find(MAGIC, pos + 1)
    return -1
