"""Paired counts of one trial, read from the log store in one aggregate per direction.

A pair is a logged answer and the other version's shadow answer on the same row: the
champion's rows carry the challenger's shadow, canary rows (answered by the challenger)
the champion's. Labels come from ``feedback``. Used by the scorer (to decide) and by the
sidecar (``GET /challenger``, metrics), so both report the same numbers.
"""

from __future__ import annotations

import sqlalchemy as sa

from mlproject.logstore import tables

from .evidence import PairCounts
from .trial import Trial


def pair_counts(conn: sa.Connection, trial: Trial) -> PairCounts:
    """Counts over every paired row of ``trial``."""
    forward = _direction(conn, trial.model_name, trial.champion, trial.challenger, True)
    backward = _direction(conn, trial.model_name, trial.challenger, trial.champion, False)
    return PairCounts(*(a + b for a, b in zip(forward, backward, strict=True)))


def _direction(
    conn: sa.Connection, model_name: str, answered_by: str, shadowed_by: str, champion_logged: bool
) -> tuple[int, ...]:
    p, s, f = tables.predictions, tables.shadow_predictions, tables.feedback
    # Start from the trial's shadow rows (their version's index) and look each logged row
    # and its label up by id, one probe each: the cost follows the trial's length, not the
    # log's. A plain join lets the planners start from the logged version's rows instead,
    # every row that version ever answered.
    rows = (
        sa.select(
            s.c.prediction.label("shadow"),
            sa.select(p.c.prediction)
            .where(
                p.c.prediction_id == s.c.prediction_id,
                p.c.model_name == model_name,
                p.c.model_version == answered_by,
            )
            .scalar_subquery()
            .label("logged"),
            sa.select(f.c.label)
            .where(f.c.prediction_id == s.c.prediction_id)
            .scalar_subquery()
            .label("label"),
        )
        .where(s.c.model_version == shadowed_by)
        .offset(0)  # PostgreSQL: not pulled up, so each lookup runs once per row, not per use
        .subquery()
    )
    logged, shadow = rows.c.logged, rows.c.shadow
    champion, challenger = (logged, shadow) if champion_logged else (shadow, logged)
    label = rows.c.label
    labelled = label.is_not(None)

    def count_if(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
        return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

    query = sa.select(
        sa.func.count(),
        count_if(logged == shadow),
        sa.func.count(label),
        count_if(labelled & (label == champion)),
        count_if(labelled & (label == challenger)),
        count_if(labelled & (label == challenger) & (label != champion)),
        count_if(labelled & (label == champion) & (label != challenger)),
    ).where(logged.is_not(None))
    return tuple(int(value) for value in conn.execute(query).one())
