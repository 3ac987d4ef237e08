"""Shipping from the on-disk spool: offsets, rejection ids, pending feedback.

- ``spool_offsets``: how far the shipper has loaded each spool file (segment or drop
  tally), committed in the same transaction as the rows it loaded;
- ``rejections.rejection_id``: a unique id per refused request, so a retried load can never
  store a rejection twice;
- ``pending_feedback``: labels sent before their prediction reached the store, moved into
  ``feedback`` by the shipper when it arrives, dropped after a window.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add the offsets and pending-feedback tables and the rejection id."""
    op.create_table(
        "spool_offsets",
        sa.Column("spool_id", sa.String(36), nullable=False),
        sa.Column("stream", sa.String(200), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("spool_id", "stream", name="pk_spool_offsets"),
    )
    op.create_table(
        "pending_feedback",
        sa.Column("prediction_id", sa.String(36), nullable=False),
        sa.Column("label", sa.String(32), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("prediction_id", name="pk_pending_feedback"),
    )
    op.create_index("ix_pending_feedback_created_at", "pending_feedback", ["created_at"])
    with op.batch_alter_table("rejections") as batch:
        batch.add_column(sa.Column("rejection_id", sa.String(36), nullable=True))
        batch.create_index("ix_rejections_rejection_id", ["rejection_id"], unique=True)


def downgrade() -> None:
    """Drop what the upgrade added."""
    with op.batch_alter_table("rejections") as batch:
        batch.drop_index("ix_rejections_rejection_id")
        batch.drop_column("rejection_id")
    op.drop_table("pending_feedback")
    op.drop_table("spool_offsets")
