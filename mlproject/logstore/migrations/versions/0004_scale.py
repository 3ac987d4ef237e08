"""Reads that cost the same at 10 million rows as at 10 thousand.

- ``ix_predictions_role_seq``: ``GET /logs?role=challenger`` walks the challenger's own
  rows newest first instead of every row of the log (canary answers are a few percent);
- ``row_counts``: how many rows ``feedback`` holds, kept by triggers in the same
  transaction as every insert and delete (``POST /feedback``, the shipper matching pending
  labels, retention's cascade), so the dashboard's "labelled" total reads one row instead
  of counting the table. Triggers rather than application code: every path that adds or
  removes a label, including ``ON DELETE CASCADE``, is counted.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_TRIGGERS = (
    """CREATE TRIGGER feedback_count_insert AFTER INSERT ON feedback BEGIN
         INSERT INTO row_counts (table_name, row_count) VALUES ('feedback', 1)
         ON CONFLICT (table_name) DO UPDATE SET row_count = row_count + 1;
       END""",
    """CREATE TRIGGER feedback_count_delete AFTER DELETE ON feedback BEGIN
         UPDATE row_counts SET row_count = row_count - 1 WHERE table_name = 'feedback';
       END""",
)
# PostgreSQL: one update per statement (a bulk insert of labels adds them all at once).
POSTGRES_TRIGGERS = (
    """CREATE FUNCTION feedback_count_added() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO row_counts (table_name, row_count)
           SELECT 'feedback', count(*) FROM added HAVING count(*) > 0
         ON CONFLICT (table_name) DO UPDATE
           SET row_count = row_counts.row_count + EXCLUDED.row_count;
         RETURN NULL;
       END $$""",
    """CREATE FUNCTION feedback_count_removed() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         UPDATE row_counts SET row_count = row_count - (SELECT count(*) FROM removed)
           WHERE table_name = 'feedback';
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER feedback_count_insert AFTER INSERT ON feedback
       REFERENCING NEW TABLE AS added FOR EACH STATEMENT
       EXECUTE FUNCTION feedback_count_added()""",
    """CREATE TRIGGER feedback_count_delete AFTER DELETE ON feedback
       REFERENCING OLD TABLE AS removed FOR EACH STATEMENT
       EXECUTE FUNCTION feedback_count_removed()""",
)


def upgrade() -> None:
    """Add the role index, the row_counts table, its triggers and its first count."""
    op.create_index("ix_predictions_role_seq", "predictions", ["role", "seq"])
    op.create_table(
        "row_counts",
        sa.Column("table_name", sa.String(64), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("table_name", name="pk_row_counts"),
    )
    op.execute(
        "INSERT INTO row_counts (table_name, row_count) SELECT 'feedback', count(*) FROM feedback"
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRES_TRIGGERS if postgres else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    """Drop what the upgrade added."""
    postgres = op.get_bind().dialect.name == "postgresql"
    for trigger in ("feedback_count_insert", "feedback_count_delete"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}" + (" ON feedback" if postgres else ""))
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS feedback_count_added()")
        op.execute("DROP FUNCTION IF EXISTS feedback_count_removed()")
    op.drop_table("row_counts")
    op.drop_index("ix_predictions_role_seq", table_name="predictions")
