"""Initial log store schema: predictions, rejections, feedback, counters, jobs, switches.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of tables.SeqType: a revision must not change when tables.py does.
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create every table, index and constraint of the first schema."""
    op.create_table(
        "predictions",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("prediction_id", sa.String(36), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("model_version", sa.String(50), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("request_id", sa.String(200), nullable=True),
        sa.Column("sepal_length", sa.Float(), nullable=False),
        sa.Column("sepal_width", sa.Float(), nullable=False),
        sa.Column("petal_length", sa.Float(), nullable=False),
        sa.Column("petal_width", sa.Float(), nullable=False),
        sa.Column("prediction", sa.String(32), nullable=False),
        sa.Column("class_index", sa.Integer(), nullable=False),
        sa.Column("probabilities", sa.JSON(), nullable=False),
        sa.Column("latency_seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_predictions"),
        sa.UniqueConstraint("prediction_id", name="uq_predictions_prediction_id"),
    )
    op.create_index("ix_predictions_created_at", "predictions", ["created_at"])
    op.create_index("ix_predictions_model_version_seq", "predictions", ["model_version", "seq"])
    op.create_index("ix_predictions_prediction_seq", "predictions", ["prediction", "seq"])

    op.create_table(
        "rejections",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("model_version", sa.String(50), nullable=False),
        sa.Column("request_id", sa.String(200), nullable=True),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("field", sa.String(64), nullable=True),
        sa.Column("row_index", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_rejections"),
    )
    op.create_index("ix_rejections_created_at", "rejections", ["created_at"])

    op.create_table(
        "feedback",
        sa.Column("prediction_id", sa.String(36), nullable=False),
        sa.Column("label", sa.String(32), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["prediction_id"],
            ["predictions.prediction_id"],
            name="fk_feedback_prediction_id_predictions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("prediction_id", name="pk_feedback"),
    )
    op.create_index("ix_feedback_updated_at", "feedback", ["updated_at"])

    op.create_table(
        "counters",
        sa.Column("metric", sa.String(100), nullable=False),
        sa.Column("labels", sa.String(400), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("metric", "labels", name="pk_counters"),
    )

    op.create_table(
        "retrain_jobs",
        sa.Column("job_id", sa.String(36), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("active_slot", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("host", sa.String(255), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("params", sa.JSON(), nullable=True),
        sa.Column("log_path", sa.Text(), nullable=True),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("model_version", sa.String(50), nullable=True),
        sa.Column("promoted", sa.Boolean(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("job_id", name="pk_retrain_jobs"),
        # The single-flight guarantee for retraining: at most one row with active_slot = 1.
        sa.UniqueConstraint("active_slot", name="uq_retrain_jobs_active_slot"),
    )
    op.create_index("ix_retrain_jobs_created_at", "retrain_jobs", ["created_at"])

    op.create_table(
        "model_switches",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("switched_at", TS, nullable=False),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("from_version", sa.String(50), nullable=True),
        sa.Column("to_version", sa.String(50), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_model_switches"),
    )
    op.create_index("ix_model_switches_switched_at", "model_switches", ["switched_at"])


def downgrade() -> None:
    """Drop everything the upgrade created, dependents first."""
    for table in (
        "model_switches",
        "retrain_jobs",
        "counters",
        "feedback",
        "rejections",
        "predictions",
    ):
        op.drop_table(table)
