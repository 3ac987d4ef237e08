"""The challenger trial: who answered, shadow predictions, the shadow cursor, decisions.

- ``predictions.role``: ``champion`` or ``challenger`` (a canary answer); NULL on rows from
  before this revision, which were all the champion's;
- ``shadow_predictions``: the other version's answer on a logged row, linked to the row's
  ``prediction_id``, so both versions of a trial have paired predictions on every row;
- ``shadow_cursors``: how far the shadow scorer has read the log (by ``seq``) for one
  trial, committed in the same transaction as the shadow rows: none scored twice, none
  skipped, across restarts;
- ``challenger_decisions``: the trial's sequential decision each time it changes, with the
  evidence it rested on.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Add the role column and the three trial tables."""
    with op.batch_alter_table("predictions") as batch:
        batch.add_column(sa.Column("role", sa.String(16), nullable=True))
    op.create_table(
        "shadow_predictions",
        sa.Column("prediction_id", sa.String(36), nullable=False),
        sa.Column("model_version", sa.String(50), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("prediction", sa.String(32), nullable=False),
        sa.Column("class_index", sa.Integer(), nullable=False),
        sa.Column("probabilities", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["prediction_id"],
            ["predictions.prediction_id"],
            name="fk_shadow_predictions_prediction_id_predictions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("prediction_id", "model_version", name="pk_shadow_predictions"),
    )
    op.create_index("ix_shadow_predictions_model_version", "shadow_predictions", ["model_version"])
    op.create_table(
        "shadow_cursors",
        sa.Column("trial", sa.String(120), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("trial", name="pk_shadow_cursors"),
    )
    op.create_table(
        "challenger_decisions",
        sa.Column("seq", SEQ, nullable=False, autoincrement=True),
        sa.Column("decided_at", TS, nullable=False),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("champion_version", sa.String(50), nullable=False),
        sa.Column("challenger_version", sa.String(50), nullable=False),
        sa.Column("decision", sa.String(32), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("action", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_challenger_decisions"),
    )
    op.create_index("ix_challenger_decisions_decided_at", "challenger_decisions", ["decided_at"])


def downgrade() -> None:
    """Drop what the upgrade added."""
    op.drop_table("challenger_decisions")
    op.drop_table("shadow_cursors")
    op.drop_table("shadow_predictions")
    with op.batch_alter_table("predictions") as batch:
        batch.drop_column("role")
