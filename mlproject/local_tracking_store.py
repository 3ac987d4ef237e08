"""Is a local ``sqlite:///`` tracking database ready to be asked, without touching it?

MlflowClient pointed at a SQLite file creates MLflow's tables when they are not all there:
an empty tracking database where there was none, or a second migration racing the first (a
training run creating the database while two sidecar workers ask: a 500 once). Readers ask
only once MLflow's own "all tables exist" check holds, on a read-only connection.
"""

from __future__ import annotations

from pathlib import Path

# Databases found ready: MLflow's tables, once there, stay (a reader asks on every call, and
# each check opens an engine and inspects the schema).
_READY: set[str] = set()


def sqlite_store_ready(tracking_uri: str) -> bool:
    """False for a ``sqlite:///`` URI whose file or tables are not all there; True otherwise."""
    if not tracking_uri.startswith("sqlite:///") or tracking_uri in _READY:
        return True
    path = Path(tracking_uri.removeprefix("sqlite:///"))
    if path.exists() and _mlflow_tables_exist(path):
        _READY.add(tracking_uri)
        return True
    return False


def _mlflow_tables_exist(path: Path) -> bool:
    import sqlalchemy as sa
    from mlflow.store.db.utils import _all_tables_exist  # what MlflowClient itself asks

    engine = sa.create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    try:
        return bool(_all_tables_exist(engine))
    except sa.exc.SQLAlchemyError:
        return False
    finally:
        engine.dispose()
