"""Prediction ids: UUIDv7 (RFC 9562), made for a whole request at once.

Layout: 48-bit Unix time in ms | version 7 | 26-bit counter (12 bits in ``rand_a``, 14 at
the top of ``rand_b``) | variant | 48 random bits. The counter starts at a random value
below 2**25 each new millisecond and counts up per id, so ids from one process sort in
the order they were made (RFC 9562 method 1) and the store's unique index stays
append-mostly; the random bits keep processes and hosts apart. One ``os.urandom`` call per
request is the only entropy drawn (``uuid4`` per row cost 0.43 ms per 100 rows).
"""

from __future__ import annotations

import os
import threading
import time
import uuid

import numpy as np

_COUNTER_BITS = 26
_HEX = np.frombuffer(b"0123456789abcdef", dtype="u1")
# Where the 32 hex digits go in the 36-character text form.
_DIGIT_POSITIONS = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])
_NUMPY_FROM = 16  # below this many ids, Python string slicing is faster than NumPy


class IdSource:
    """Thread-safe source of time-ordered UUIDv7 ids."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ms = 0
        self._next = 0

    def take(self, count: int) -> tuple[bytes, list[str]]:
        """``count`` new ids: as 16 bytes each (concatenated) and as canonical strings."""
        entropy = os.urandom(8 * count)
        with self._lock:
            now_ms = time.time_ns() // 1_000_000
            if now_ms > self._ms:
                self._ms, self._next = now_ms, _random_start()
            if self._next + count >= 1 << _COUNTER_BITS:
                # This millisecond's counter is spent: borrow the next one (stays ordered).
                self._ms, self._next = self._ms + 1, _random_start()
            start, ms = self._next, self._ms
            self._next += count
        if count < _NUMPY_FROM:
            raw = b"".join(
                (
                    (ms << 80 | 0x7000 << 64 | (c >> 14) << 64 | 1 << 63 | (c & 0x3FFF) << 48)
                    | int.from_bytes(entropy[8 * i : 8 * i + 6], "big")
                ).to_bytes(16, "big")
                for i, c in enumerate(range(start, start + count))
            )
            return raw, id_strings(raw)
        noise = np.frombuffer(entropy, dtype=">u8", count=count)
        counter = np.arange(start, start + count, dtype=np.uint64)
        words = np.empty((count, 2), dtype=">u8")
        words[:, 0] = np.uint64(ms << 16 | 0x7000) | (counter >> np.uint64(14))
        words[:, 1] = (
            np.uint64(0x8000_0000_0000_0000)
            | ((counter & np.uint64(0x3FFF)) << np.uint64(48))
            | (noise & np.uint64(0xFFFF_FFFF_FFFF))
        )
        raw = words.tobytes()
        return raw, id_strings(raw)


def id_strings(raw: bytes) -> list[str]:
    """The canonical text form of each 16-byte id in ``raw``."""
    count = len(raw) // 16
    if count < _NUMPY_FROM:
        h = raw.hex()
        return [
            f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-{h[i + 12 : i + 16]}-"
            f"{h[i + 16 : i + 20]}-{h[i + 20 : i + 32]}"
            for i in range(0, 32 * count, 32)
        ]
    octets = np.frombuffer(raw, dtype="u1").reshape(count, 16)
    digits = np.empty((count, 32), dtype="u1")
    digits[:, 0::2] = octets >> 4
    digits[:, 1::2] = octets & 0x0F
    text = np.full((count, 36), ord("-"), dtype="u1")
    text[:, _DIGIT_POSITIONS] = _HEX[digits]
    return text.view("S36").ravel().astype("U36").tolist()


def uuid7_time(prediction_id: str) -> float | None:
    """The Unix time (s) a UUIDv7 was made at; None for any other kind of UUID."""
    value = uuid.UUID(prediction_id)
    if value.version != 7:
        return None
    return (value.int >> 80) / 1000.0


def _random_start() -> int:
    return int.from_bytes(os.urandom(4), "big") & ((1 << (_COUNTER_BITS - 1)) - 1)
