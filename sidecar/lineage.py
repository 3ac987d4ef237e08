"""Where the model in service came from: its registry tags, training run and data digest.

The dashboard asks at most once per ``ttl`` per model version and process, with a short
timeout: an unreachable registry degrades every field to None ("unknown" on the page)
and is asked again sooner than a registry that answered.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from mlproject.config import Settings
from mlproject.registry_reader import RegistryReader, RegistryUnavailable

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 2.0
TTL_SECONDS = 60.0
FAILURE_TTL_SECONDS = 15.0


@dataclass(frozen=True)
class Lineage:
    """What the registry says about one model version; None wherever it could not say."""

    registry: str  # "reachable", "unreachable" or "not_asked" (no version known)
    run_id: str | None = None
    experiment_id: str | None = None
    data_digest: str | None = None
    candidate: str | None = None
    gate_decision: str | None = None
    run_url: str | None = None
    model_url: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class LineageSource:
    """Cached registry lookups for one process."""

    def __init__(self, settings: Settings, ttl: float = TTL_SECONDS) -> None:
        self._settings = settings
        self._ttl = ttl
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], tuple[float, Lineage]] = {}

    def lookup(self, name: str, version: str | None, run_id: str | None = None) -> Lineage:
        """The lineage of ``name`` version ``version`` (cached)."""
        if not version:
            return Lineage(registry="not_asked", run_id=run_id)
        key = (name, version)
        with self._lock:
            cached = self._cache.get(key)
            if cached and time.monotonic() < cached[0]:
                return cached[1]
        found = self._ask(name, version, run_id)
        ttl = self._ttl if found.registry == "reachable" else min(self._ttl, FAILURE_TTL_SECONDS)
        with self._lock:
            self._cache[key] = (time.monotonic() + ttl, found)
        return found

    def _ask(self, name: str, version: str, run_id: str | None) -> Lineage:
        uri = self._settings.tracking_uri
        reader = RegistryReader(uri, timeout=TIMEOUT_SECONDS)
        try:
            found = reader.version(name, version)
            run_id = (found.run_id if found else None) or run_id
            run = reader.run(run_id) if run_id else None
        except RegistryUnavailable as exc:  # the registry is optional for the page
            logger.info("lineage lookup failed: %s", exc)
            return Lineage(registry="unreachable", run_id=run_id)
        tags = found.tags if found else {}
        params = run.params if run else {}
        experiment_id = run.experiment_id if run else None
        ui = ui_base(uri)
        run_url = None
        if ui and run_id:
            run_url = (
                f"{ui}/#/experiments/{quote(experiment_id)}/runs/{quote(run_id)}"
                if experiment_id
                else f"{ui}/#/runs/{quote(run_id)}"
            )
        return Lineage(
            registry="reachable",
            run_id=run_id,
            experiment_id=experiment_id,
            data_digest=tags.get("data_digest") or params.get("data_digest"),
            candidate=tags.get("candidate"),
            gate_decision=tags.get("gate.decision"),
            run_url=run_url,
            model_url=(
                f"{ui}/#/models/{quote(name, safe='')}/versions/{quote(version, safe='')}"
                if ui
                else None
            ),
        )


def ui_base(tracking_uri: str) -> str | None:
    """The MLflow UI's base URL for an http(s) tracking URI, credentials removed."""
    if not tracking_uri.startswith(("http://", "https://")):
        return None
    parts = urlsplit(tracking_uri)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
