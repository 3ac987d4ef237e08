"""Shadow answers for a batch of logged rows: each scored by the other version of the pair."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import numpy as np

from .models import ModelCache
from .shadow_store import LoggedRow
from .trial import Trial


def shadow_rows(rows: list[LoggedRow], trial: Trial, models: ModelCache) -> list[dict[str, Any]]:
    """``shadow_predictions`` rows for ``rows``; rows of versions outside the trial get none.

    Raises whatever loading a version raises: the caller keeps its cursor and retries.
    """
    by_version: dict[str, list[LoggedRow]] = defaultdict(list)
    for row in rows:
        other = trial.other(row.model_version)
        if other is not None:
            by_version[other].append(row)
    now = datetime.now(UTC)
    shadows = []
    for version, batch in by_version.items():
        model = models.get(version)
        probabilities, indexes = model.answer(np.array([row.features for row in batch]))
        role = trial.role_of(version)
        for row, probs, index in zip(batch, probabilities.tolist(), indexes.tolist(), strict=True):
            shadows.append(
                {
                    "prediction_id": row.prediction_id,
                    "model_version": version,
                    "role": role,
                    "prediction": model.classes[index],
                    "class_index": index,
                    "probabilities": dict(zip(model.classes, probs, strict=True)),
                    "created_at": now,
                }
            )
    return shadows
