"""The prediction log store, written through an on-disk spool, read by the sidecar.

Map of the package:
  tables       SQLAlchemy Core tables of the schema
  migrations   alembic environment and revisions that create that schema
  schema       alembic config built in code; revision checks; upgrade on a connection
  engine       create_store_engine (SQLite WAL tuning, migrate on first use, safe across
               processes), immediate_transaction, store_is_reachable
  counters     Prometheus counters kept in the store: labels_key, increment_counters,
               read_counters
  ids          UUIDv7 prediction ids, made per request
  frames       the spool's binary frames (length + CRC), encode and decode
  layout       spool folders, segment and tally files, their locks
  spool        SpoolWriter: the request path's one append
  tally        per-writer drop counts on disk
  reading      the shipper's reader: new frames since each file's offset
  assemble     frames -> rows and counters, by columns
  load         one batch into the store: rows, counters, offsets, feedback, in one transaction
  shipper      Shipper (and ``python -m mlproject.logstore.shipper``, see shipper_cli)
  autostart    spawn_shipper, ShipperWatch: a shipper under a bare ``mlflow models serve``
  drain        backlog, wait_drained: has everything spooled reached the store?
  feedback     record_feedback, match_pending, expire_pending: labels, early ones included
  records      PredictionRecord, RejectionRecord; direct: write_records, LogWriter (tools)
  outage       telling a store outage from a refused row
"""

from mlproject.logstore import tables
from mlproject.logstore.counters import increment_counters, labels_key, read_counters
from mlproject.logstore.direct import LogWriter, write_records
from mlproject.logstore.engine import (
    create_store_engine,
    ensure_schema,
    immediate_transaction,
    store_is_reachable,
)
from mlproject.logstore.records import PredictionRecord, RejectionRecord

__all__ = [
    "LogWriter",
    "PredictionRecord",
    "RejectionRecord",
    "create_store_engine",
    "ensure_schema",
    "immediate_transaction",
    "increment_counters",
    "labels_key",
    "read_counters",
    "store_is_reachable",
    "tables",
    "write_records",
]
