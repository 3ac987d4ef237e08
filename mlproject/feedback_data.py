"""Labelled predictions from the log store, as extra training rows.

Feedback closes the loop: each prediction a user labelled through the sidecar becomes a
training row (its four features and the true species). Rows identical to a held-out row
are left out, so the gate never scores a model on rows it trained on.
"""

from __future__ import annotations

import logging

import pandas as pd
import sqlalchemy as sa

from mlproject.config import FEATURES
from mlproject.data import LABEL

logger = logging.getLogger(__name__)


def labelled_predictions(store_url: str) -> pd.DataFrame:
    """Every labelled prediction: the four features, ``species`` and ``prediction_id``.

    Ordered by prediction time, so the same store gives the same rows in the same order
    (and so the same snapshot digest).
    """
    from mlproject.logstore import create_store_engine, tables

    engine = create_store_engine(store_url)
    predictions, feedback = tables.predictions, tables.feedback
    query = (
        sa.select(
            *(predictions.c[name] for name in FEATURES),
            feedback.c.label.label(LABEL),
            predictions.c.prediction_id,
        )
        .join(feedback, feedback.c.prediction_id == predictions.c.prediction_id)
        .order_by(predictions.c.seq)
    )
    try:
        with engine.connect() as conn:
            frame = pd.DataFrame(conn.execute(query).mappings().all())
    finally:
        engine.dispose()
    if frame.empty:
        return pd.DataFrame(columns=[*FEATURES, LABEL, "prediction_id"])
    return frame


def without_rows_in(extra: pd.DataFrame, heldout: pd.DataFrame) -> pd.DataFrame:
    """``extra`` minus rows whose four features equal a held-out row's."""
    if extra.empty:
        return extra
    keys = set(map(tuple, heldout.loc[:, list(FEATURES)].round(6).to_numpy()))
    mask = [tuple(row) not in keys for row in extra.loc[:, list(FEATURES)].round(6).to_numpy()]
    kept = extra.loc[mask].reset_index(drop=True)
    if len(kept) < len(extra):
        logger.info("left out %d feedback row(s) equal to held-out rows", len(extra) - len(kept))
    return kept
