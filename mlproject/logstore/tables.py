"""The log store's tables (SQLAlchemy Core), shared by the pyfunc (writes) and the sidecar.

The schema itself is created by the alembic migrations beside this file; these Table
objects describe it for queries. Change both together: a test compares them.

Tables:
  predictions     one row per served input row; ``seq`` orders them for keyset paging
  rejections      one row per refused request, with the reason and the field at fault
  feedback        the true label of a prediction (one per prediction, replaced on repeat)
  counters        monotonic Prometheus counters kept by the writer in the same transaction
                  as the rows they count, so a scrape reads a handful of rows, not the log
  row_counts      how many rows a table holds now (``feedback``), kept by triggers
  retrain_jobs    background training jobs; ``active_slot`` is 1 for the one queued or
                  running job and NULL otherwise, and its UNIQUE constraint is what makes
                  retraining single-flight across processes and restarts
  model_switches  every change of the model in service (from, to, when, why, outcome)
  spool_offsets   how far the shipper has loaded each spool file, committed with the rows
  pending_feedback labels that arrived before their prediction; moved into ``feedback``
                  by the shipper in the transaction that stores the prediction
  shadow_predictions the other version's answer on a logged row (challenger trial)
  shadow_cursors  how far the shadow scorer has read the log, per trial, committed with
                  the shadow rows it wrote
  challenger_decisions the trial's sequential decision each time it changed, with evidence
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

# SQLite only autoincrements an INTEGER PRIMARY KEY (the rowid alias), not BIGINT.
SeqType = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

predictions = Table(
    "predictions",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("prediction_id", String(36), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("model_name", String(200), nullable=False),
    Column("model_version", String(50), nullable=False),
    Column("run_id", String(64), nullable=True),
    Column("request_id", String(200), nullable=True),
    Column("sepal_length", Float, nullable=False),
    Column("sepal_width", Float, nullable=False),
    Column("petal_length", Float, nullable=False),
    Column("petal_width", Float, nullable=False),
    Column("prediction", String(32), nullable=False),
    Column("class_index", Integer, nullable=False),
    Column("probabilities", JSON, nullable=False),
    # Time inside predict for the whole request this row came in, in seconds.
    Column("latency_seconds", Float, nullable=False),
    # Who answered: "champion" or "challenger" (a canary answer); NULL before revision 0003.
    Column("role", String(16), nullable=True),
    Index("ix_predictions_created_at", "created_at"),
    Index("ix_predictions_model_version_seq", "model_version", "seq"),
    Index("ix_predictions_prediction_seq", "prediction", "seq"),
    Index("ix_predictions_role_seq", "role", "seq"),
)

rejections = Table(
    "rejections",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("model_name", String(200), nullable=False),
    Column("model_version", String(50), nullable=False),
    Column("request_id", String(200), nullable=True),
    Column("reason", String(64), nullable=False),
    Column("field", String(64), nullable=True),
    Column("row_index", Integer, nullable=True),
    Column("message", Text, nullable=False),
    # Unique per refused request (NULL on rows from before migration 0002).
    Column("rejection_id", String(36), nullable=True),
    Index("ix_rejections_created_at", "created_at"),
    Index("ix_rejections_rejection_id", "rejection_id", unique=True),
)

feedback = Table(
    "feedback",
    metadata,
    Column(
        "prediction_id",
        String(36),
        ForeignKey("predictions.prediction_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("label", String(32), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_feedback_updated_at", "updated_at"),
)

counters = Table(
    "counters",
    metadata,
    Column("metric", String(100), primary_key=True),
    # Label set as canonical JSON: json.dumps(labels, sort_keys=True, separators=(",", ":")).
    Column("labels", String(400), primary_key=True),
    Column("value", Float, nullable=False),
)

row_counts = Table(
    "row_counts",
    metadata,
    # Rows in a table, kept by triggers (migration 0004) in the transaction that adds or
    # removes them: "feedback" (predictions with a true label).
    Column("table_name", String(64), primary_key=True),
    Column("row_count", BigInteger, nullable=False),
)

retrain_jobs = Table(
    "retrain_jobs",
    metadata,
    Column("job_id", String(36), primary_key=True),
    Column("state", String(16), nullable=False),  # queued, running, succeeded, failed
    Column("active_slot", Integer, nullable=True, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("host", String(255), nullable=True),
    Column("pid", Integer, nullable=True),
    Column("params", JSON, nullable=True),
    Column("log_path", Text, nullable=True),
    Column("run_id", String(64), nullable=True),
    Column("model_version", String(50), nullable=True),
    Column("promoted", Boolean, nullable=True),
    Column("reason", Text, nullable=True),
    Index("ix_retrain_jobs_created_at", "created_at"),
)

model_switches = Table(
    "model_switches",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("switched_at", DateTime(timezone=True), nullable=False),
    Column("model_name", String(200), nullable=False),
    Column("from_version", String(50), nullable=True),
    Column("to_version", String(50), nullable=False),
    # switched (now serving), refused (kept the old one), restarted (same version, new process)
    Column("outcome", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Index("ix_model_switches_switched_at", "switched_at"),
)

spool_offsets = Table(
    "spool_offsets",
    metadata,
    # The spool's random id (one per host and store) and the file within it: a segment
    # ("segments/<name>", position = bytes loaded) or a drop tally ("drops/<name>",
    # detail = the counts already added).
    Column("spool_id", String(36), primary_key=True),
    Column("stream", String(200), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("detail", JSON, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

pending_feedback = Table(
    "pending_feedback",
    metadata,
    Column("prediction_id", String(36), primary_key=True),
    Column("label", String(32), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_pending_feedback_created_at", "created_at"),
)

shadow_predictions = Table(
    "shadow_predictions",
    metadata,
    Column(
        "prediction_id",
        String(36),
        ForeignKey("predictions.prediction_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("model_version", String(50), primary_key=True),
    # The role of the version that made this shadow answer in its trial.
    Column("role", String(16), nullable=False),
    Column("prediction", String(32), nullable=False),
    Column("class_index", Integer, nullable=False),
    Column("probabilities", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_shadow_predictions_model_version", "model_version"),
)

shadow_cursors = Table(
    "shadow_cursors",
    metadata,
    # One trial: "<model name>:<champion version>:<challenger version>".
    Column("trial", String(120), primary_key=True),
    Column("last_seq", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

challenger_decisions = Table(
    "challenger_decisions",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("model_name", String(200), nullable=False),
    Column("champion_version", String(50), nullable=False),
    Column("challenger_version", String(50), nullable=False),
    # collecting, challenger better, challenger worse, no difference
    Column("decision", String(32), nullable=False),
    Column("evidence", JSON, nullable=False),
    # What was done about it: None (advice), "promoted", "canary withdrawn".
    Column("action", String(32), nullable=True),
    Index("ix_challenger_decisions_decided_at", "decided_at"),
)
