"""Turn decoded frames into a load Batch: columns built per group of frames, not per row.

Frames are grouped by the segment context they came with (model, version, role, classes); for
each group the arrays are concatenated once and every column is produced by NumPy or a
C-level ``tolist``/``zip``. Values come out the way the driver takes them: on SQLite the
timestamp text SQLAlchemy itself writes (so the sidecar's queries compare like with like),
on PostgreSQL ``datetime`` objects.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import chain, repeat
from typing import Any, TypeVar

import numpy as np
import sqlalchemy as sa

from mlproject.config import FEATURES
from mlproject.logstore import counters as c
from mlproject.logstore.contract import (
    CHAMPION,
    DURATION_BUCKET,
    DURATION_COUNT,
    PREDICTIONS_TOTAL,
)
from mlproject.logstore.frames import Predictions
from mlproject.logstore.ids import id_strings
from mlproject.logstore.load import Batch, Row
from mlproject.logstore.metrics import LATENCY_BUCKETS

_BOUNDS = np.array([*LATENCY_BUCKETS, math.inf])
_TEXT_LIMITS = {"model_name": 200, "model_version": 50, "run_id": 64, "request_id": 200}
_T = TypeVar("_T")


def clean_text(value: object, limit: int) -> str:
    """Text a database can store: no NUL (PostgreSQL refuses it), at most ``limit`` chars."""
    return str(value).replace("\x00", "\ufffd")[:limit]


def clean_optional(value: object, limit: int) -> str | None:
    """``clean_text`` of a value that may be missing (None stays None, SQL NULL)."""
    return None if value is None else clean_text(value, limit)


class Context:
    """What a segment's CONTEXT frame says, prepared for building rows."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.model_name = clean_text(fields.get("model_name") or "unknown", 200)
        self.model_version = clean_text(fields.get("model_version") or "unknown", 50)
        self.run_id = clean_optional(fields.get("run_id"), 64)
        # Segments from before the challenger trial (or written by a model version whose
        # code predates it) carry no role: they were the champion's.
        self.role = clean_text(fields.get("role") or CHAMPION, 16)
        # A null label stays None: its rows then fail the NOT NULL column and are dropped.
        self.classes = [clean_optional(label, 32) for label in fields.get("classes", [])]
        features = list(fields.get("features", FEATURES))
        if sorted(features) != sorted(FEATURES) or not self.classes:
            raise ValueError(f"segment context has features {features}, classes {self.classes}")
        # Column order of the frame's feature arrays -> the table's columns.
        self.feature_order = [features.index(name) for name in FEATURES]
        keys = [json.dumps(label) for label in self.classes]
        self.json_template = "{" + ", ".join(f"{key}: %r" for key in keys) + "}"


class Assembler:
    """Collects frames for one Batch."""

    def __init__(self, dialect: sa.Dialect) -> None:
        self._groups: dict[int, tuple[Context, list[Predictions]]] = {}
        self._rejections: list[Row] = []
        self.batch = Batch()
        impl = sa.DateTime(timezone=True).dialect_impl(dialect)
        self._to_driver: Callable[[Any], Any] = impl.bind_processor(dialect) or (
            lambda value: value
        )
        self._offset_suffix = "" if dialect.name == "sqlite" else "+00:00"
        self.rows = 0

    def add_predictions(self, context: Context, frame: Predictions) -> None:
        """Queue one PREDICTIONS frame (ValueError if it does not fit its context)."""
        if frame.n_classes != len(context.classes) or frame.n_features != len(FEATURES):
            raise ValueError("PREDICTIONS frame does not match its segment's context")
        if max(frame.class_bytes, default=0) >= len(context.classes):
            raise ValueError("PREDICTIONS frame has a class index out of range")
        group = self._groups.get(id(context))
        if group is None:
            group = self._groups[id(context)] = (context, [])
        group[1].append(frame)
        self.rows += frame.rows

    def add_rejection(self, context: Context, fields: dict[str, Any]) -> None:
        """Queue one REJECTION frame's row and its error count."""
        when = self._timestamp(float(fields["created_at"]))
        reason = clean_text(fields.get("reason") or "unknown", 64)
        row_index = fields.get("row_index")
        self.batch.rejections.append(
            (
                clean_optional(fields["rejection_id"], 36),
                when,
                context.model_name,
                context.model_version,
                clean_optional(fields.get("request_id"), 200),
                reason,
                clean_optional(fields.get("field"), 64),
                None if row_index is None else int(row_index),
                clean_text(fields.get("message") or "", 2000),
            )
        )
        self.batch.deltas.update(c.rejection_deltas(reason))
        if fields.get("latency_seconds") is not None:
            self.batch.deltas.update(c.latency_deltas(float(fields["latency_seconds"])))
        self.rows += 1

    def finish(self) -> Batch:
        """Build the prediction rows and counters of every queued frame."""
        for context, group in self._groups.values():
            self._build(context, group)
        self._groups.clear()
        return self.batch

    def _build(self, context: Context, group: list[Predictions]) -> None:
        counts = [frame.rows for frame in group]
        total, n_classes = sum(counts), len(context.classes)
        ids = id_strings(b"".join([frame.ids for frame in group]))
        features = np.frombuffer(b"".join([frame.feature_bytes for frame in group]), "<f8")
        features = features.reshape(total, len(FEATURES))[:, context.feature_order]
        probabilities = np.frombuffer(
            b"".join([frame.probability_bytes for frame in group]), "<f8"
        ).reshape(total, n_classes)
        class_index = np.frombuffer(b"".join([frame.class_bytes for frame in group]), "u1")
        created = self._timestamps([frame.created_at for frame in group])
        latencies = np.array([frame.latency for frame in group], dtype="float64")
        request_ids = [clean_optional(frame.request_id, 200) for frame in group]

        def per_row(values: list[_T]) -> list[_T]:
            return list(chain.from_iterable(map(repeat, values, counts)))

        labels = np.array(context.classes, dtype=object)[class_index].tolist()
        if np.isfinite(probabilities).all():
            template = context.json_template
            probability_json = [template % tuple(row) for row in probabilities.tolist()]
        else:  # never from a working model; stored as JSON null rather than invalid JSON
            labels_ = context.classes
            probability_json = [
                json.dumps(
                    {
                        k: (v if math.isfinite(v) else None)
                        for k, v in zip(labels_, row, strict=True)
                    }
                )
                for row in probabilities.tolist()
            ]
        columns = features.T.tolist()
        self.batch.predictions.extend(
            zip(
                ids,
                per_row(created),
                repeat(context.model_name),
                repeat(context.model_version),
                repeat(context.run_id),
                per_row(request_ids),
                *columns,
                labels,
                class_index.tolist(),
                probability_json,
                per_row(latencies.tolist()),
                repeat(context.role),
            )
        )
        totals = np.bincount(class_index, minlength=len(context.classes))
        for label, count in zip(context.classes, totals.tolist(), strict=True):
            if count:
                key = c.labels_key({"model_version": context.model_version, "prediction": label})
                self.batch.prediction_deltas[(PREDICTIONS_TOTAL, key)] += count
        self._observe_latencies(latencies)

    def _observe_latencies(self, latencies: np.ndarray) -> None:
        ordered = np.sort(latencies)
        cumulative = np.searchsorted(ordered, _BOUNDS, side="right")
        deltas: c.Deltas = Counter()
        for bound, count in zip(_BOUNDS, cumulative.tolist(), strict=True):
            if count:
                deltas[(DURATION_BUCKET, c.labels_key({"le": c.go_float(bound)}))] += count
        c.add_latency_sum(deltas, float(latencies.sum()))
        deltas[(DURATION_COUNT, c.labels_key({}))] += len(latencies)
        self.batch.deltas.update(deltas)

    def _timestamp(self, epoch_seconds: float) -> Any:
        """One timestamp as the driver takes it (its bind processor's output)."""
        return self._to_driver(datetime.fromtimestamp(epoch_seconds, UTC))

    def _timestamps(self, epoch_seconds: list[float]) -> list[str]:
        """Many timestamps at once, as the driver takes them (text for bulk loads)."""
        micros = np.rint(np.array(epoch_seconds, dtype="float64") * 1e6).astype("int64")
        text = np.datetime_as_string(micros.astype("datetime64[us]"), unit="us")
        # SQLAlchemy's own SQLite format ("YYYY-MM-DD HH:MM:SS.ffffff", UTC, no offset), so
        # the sidecar's string comparisons see the same text; PostgreSQL's COPY reads it
        # with the offset.
        text = np.char.replace(text, "T", " ")
        if self._offset_suffix:
            text = np.char.add(text, self._offset_suffix)
        stamps: list[str] = text.tolist()  # NumPy types tolist() as Any
        return stamps
