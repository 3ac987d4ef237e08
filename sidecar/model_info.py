"""Which model is in service: from the log store first, the MLflow registry last."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mlproject.config import Settings
from mlproject.logstore import contract, tables
from mlproject.registry_reader import RegistryReader, RegistryUnavailable

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
        .where(s.c.outcome == contract.SWITCHED)
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
    reader = RegistryReader(settings.tracking_uri, timeout=REGISTRY_TIMEOUT_SECONDS)
    try:
        if version is None:
            found = reader.version_by_alias(settings.model_name, settings.model_alias)
        else:
            found = reader.version(settings.model_name, version)
    except RegistryUnavailable as exc:  # the registry is optional here, never fatal
        logger.info("model registry lookup failed: %s", exc)
        return {}
    return {"version": found.version, "run_id": found.run_id} if found else {}
