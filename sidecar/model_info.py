"""Which model is in service: from the log store first, the MLflow registry last."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mlproject.config import Settings
from mlproject.logstore import tables

logger = logging.getLogger(__name__)

REGISTRY_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class ModelInService:
    """Name, version and run of the served model; ``source`` says where that came from."""

    name: str
    version: str | None = None
    run_id: str | None = None
    source: str | None = None  # model_switches, predictions, registry, or None if unknown

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class ModelInfoSource:
    """Looks the model up at most once per ``ttl`` seconds per process (health, scrapes)."""

    def __init__(self, engine: Engine, settings: Settings, ttl: float = 5.0) -> None:
        self._engine = engine
        self._settings = settings
        self._ttl = ttl
        self._lock = threading.Lock()
        self._cached: tuple[float, ModelInService] | None = None

    def current(self) -> ModelInService:
        """The cached answer if fresh, else a new lookup."""
        with self._lock:
            now = time.monotonic()
            if self._cached and now - self._cached[0] < self._ttl:
                return self._cached[1]
            found = self._lookup()
            self._cached = (now, found)
            return found

    def _lookup(self) -> ModelInService:
        name = self._settings.model_name
        try:
            with self._engine.connect() as conn:
                found = _from_store(conn, name)
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            logger.warning("model lookup in the log store failed: %s", exc.__class__.__name__)
            found = None
        if found and found.run_id:
            return found
        registry = _from_registry(self._settings, found.version if found else None)
        if found:
            return ModelInService(found.name, found.version, registry.get("run_id"), found.source)
        if registry.get("version"):
            return ModelInService(name, registry["version"], registry.get("run_id"), "registry")
        return ModelInService(name)


def _from_store(conn: sa.Connection, name: str) -> ModelInService | None:
    p, s = tables.predictions, tables.model_switches
    switch = conn.execute(
        sa.select(s.c.model_name, s.c.to_version)
        .where(s.c.outcome == "switched")
        .order_by(s.c.seq.desc())
        .limit(1)
    ).first()
    if switch is not None:
        run_id = conn.execute(
            sa.select(p.c.run_id)
            .where(p.c.model_version == switch.to_version)
            .order_by(p.c.seq.desc())
            .limit(1)
        ).scalar()
        return ModelInService(switch.model_name, switch.to_version, run_id, "model_switches")
    newest = conn.execute(
        sa.select(p.c.model_name, p.c.model_version, p.c.run_id).order_by(p.c.seq.desc()).limit(1)
    ).first()
    if newest is not None:
        return ModelInService(newest.model_name, newest.model_version, newest.run_id, "predictions")
    return None


def _from_registry(settings: Settings, version: str | None) -> dict[str, str | None]:
    """The alias's (or ``version``'s) version and run id, or {} when the registry can't say."""
    uri = settings.tracking_uri
    try:
        if uri.startswith(("http://", "https://")):
            return _from_registry_http(uri.rstrip("/"), settings, version)
        return _from_registry_client(uri, settings, version)
    except Exception as exc:  # noqa: BLE001 - the registry is optional here, never fatal
        logger.info("model registry lookup failed: %s: %s", exc.__class__.__name__, exc)
        return {}


def _from_registry_http(uri: str, settings: Settings, version: str | None) -> dict:
    if version is None:
        url = f"{uri}/api/2.0/mlflow/registered-models/alias"
        params = {"name": settings.model_name, "alias": settings.model_alias}
    else:
        url = f"{uri}/api/2.0/mlflow/model-versions/get"
        params = {"name": settings.model_name, "version": version}
    response = requests.get(url, params=params, timeout=REGISTRY_TIMEOUT_SECONDS)
    if response.status_code != 200:
        return {}
    found = response.json().get("model_version") or {}
    version = found.get("version")
    return {"version": None if version is None else str(version), "run_id": found.get("run_id")}


def _from_registry_client(uri: str, settings: Settings, version: str | None) -> dict:
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
        return {}  # asking would create an empty tracking database as a side effect
    from mlflow import MlflowClient  # heavy: only for local (file/sqlite) registries

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    if version is None:
        found = client.get_model_version_by_alias(settings.model_name, settings.model_alias)
    else:
        found = client.get_model_version(settings.model_name, version)
    return {"version": str(found.version), "run_id": found.run_id}
