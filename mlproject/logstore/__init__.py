"""The prediction log store, shared by the served pyfunc (writes) and the sidecar (reads).

Map of the package:
  tables      SQLAlchemy Core tables of the schema (and LATENCY_BUCKETS)
  migrations  alembic environment and revisions that create that schema
  schema      alembic config built in code; revision checks; upgrade on a connection
  engine      create_store_engine (SQLite WAL tuning, migrate on first use, safe across
              processes), immediate_transaction, store_is_reachable
  records     PredictionRecord and RejectionRecord, what the pyfunc submits
  counters    Prometheus counters kept in the store: labels_key, increment_counters,
              read_counters
  batches     one writer batch committed in one transaction, rows and counters together
  writer      LogWriter: non-blocking submit, background batches, retries, bounded backlog
  outage      telling a store outage from a bad row; one warning per outage
  shutdown    install_shutdown_hooks: flush on SIGTERM and close at exit
"""

from mlproject.logstore import tables
from mlproject.logstore.counters import increment_counters, labels_key, read_counters
from mlproject.logstore.engine import (
    create_store_engine,
    ensure_schema,
    immediate_transaction,
    store_is_reachable,
)
from mlproject.logstore.records import PredictionRecord, RejectionRecord
from mlproject.logstore.shutdown import install_shutdown_hooks
from mlproject.logstore.writer import LogWriter

__all__ = [
    "LogWriter",
    "PredictionRecord",
    "RejectionRecord",
    "create_store_engine",
    "ensure_schema",
    "immediate_transaction",
    "increment_counters",
    "install_shutdown_hooks",
    "labels_key",
    "read_counters",
    "store_is_reachable",
    "tables",
]
