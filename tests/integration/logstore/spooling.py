"""Helpers for the shipper's tests: spool writers and the frames a scoring process writes."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from mlproject.config import CLASSES, FEATURES
from mlproject.logstore import frames, layout
from mlproject.logstore.ids import IdSource
from mlproject.logstore.spool import SpoolWriter

ROW = [5.1, 3.5, 1.4, 0.2]
PROBABILITIES = [0.9, 0.06, 0.04]
_IDS = IdSource()


def context(version: str = "1") -> dict:
    """A CONTEXT like the pyfunc's."""
    return {
        "model_name": "iris-classifier",
        "model_version": version,
        "run_id": "r" * 32,
        "classes": list(CLASSES),
        "features": list(FEATURES),
    }


def folder_for(root: Path, store_url: str) -> Path:
    """The spool folder of ``store_url`` below ``root``, prepared."""
    folder = layout.spool_folder(root, store_url)
    layout.prepare(folder, store_url)
    return folder


def open_writer(folder: Path, version: str = "1", **kwargs) -> SpoolWriter:
    """An open SpoolWriter (``max_bytes`` 1 GiB unless given)."""
    kwargs.setdefault("max_bytes", 1 << 30)
    writer = SpoolWriter(folder, context(version), **kwargs)
    writer.open()
    return writer


def request_frame(
    rows: int = 1, request_id: str = "", latency: float = 0.004, class_index: int = 0
) -> tuple[bytes, list[str]]:
    """A PREDICTIONS frame of ``rows`` identical rows, and the ids it carries."""
    raw, ids = _IDS.take(rows)
    frame = frames.predictions_frame(
        time.time(),
        latency,
        request_id.encode(),
        raw,
        np.array([ROW] * rows),
        np.array([PROBABILITIES] * rows),
        np.full(rows, class_index, dtype=np.uint8),
    )
    return frame, ids


def append_requests(writer: SpoolWriter, count: int, rows: int = 1, **kwargs) -> list[str]:
    """Append ``count`` requests; the prediction ids they carry."""
    ids: list[str] = []
    for _ in range(count):
        frame, new = request_frame(rows, **kwargs)
        assert writer.append(frame, rows, kwargs.get("latency", 0.004))
        ids += new
    return ids


def rejection_frame(reason: str = "negative", request_id: str | None = None) -> bytes:
    """A REJECTION frame like the pyfunc's."""
    return frames.rejection_frame(
        {
            "rejection_id": _IDS.take(1)[1][0],
            "created_at": time.time(),
            "request_id": request_id,
            "reason": reason,
            "field": "sepal_width",
            "row_index": 0,
            "message": "Invalid input: row 0, column 'sepal_width': -3.5 is negative.",
        }
    )
