"""The trial as the registry sets it up: @champion, @challenger and the canary share.

One bounded request per ``ttl`` per process (``registered-models/get`` answers aliases
and tags at once). An unreachable registry is not an error: the trial is then taken
from the log store's newest shadow cursor, and the canary share is unknown.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import requests

from mlproject.config import Settings
from mlproject.logstore import contract

from .cache import TTLCache

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 2.0
TTL_SECONDS = 5.0


@dataclass(frozen=True)
class RegistryTrial:
    """What the registry says; every field None when it could not say."""

    reachable: bool
    champion: str | None = None
    challenger: str | None = None
    canary_percent: float | None = None


class TrialRegistrySource:
    """Cached lookups of the registered model's aliases and canary tag."""

    def __init__(self, settings: Settings, ttl: float = TTL_SECONDS) -> None:
        self._settings = settings
        self._cache: TTLCache[RegistryTrial] = TTLCache(ttl)

    def current(self) -> RegistryTrial:
        """The cached answer if fresh, else a new lookup."""
        return self._cache.get(self._settings.model_name, self._lookup)

    def _lookup(self) -> RegistryTrial:
        uri, name = self._settings.tracking_uri, self._settings.model_name
        try:
            if uri.startswith(("http://", "https://")):
                aliases, tags = _over_http(uri.rstrip("/"), name)
            else:
                aliases, tags = _with_client(uri, name)
        except Exception as exc:  # noqa: BLE001 - the registry is optional here
            logger.info("registry lookup for the trial failed: %s: %s", type(exc).__name__, exc)
            return RegistryTrial(reachable=False)
        return RegistryTrial(
            reachable=True,
            champion=aliases.get(contract.CHAMPION),
            challenger=aliases.get(contract.CHALLENGER),
            canary_percent=_percent(tags.get(contract.CANARY_PERCENT_TAG)),
        )


def _over_http(uri: str, name: str) -> tuple[dict[str, str], dict[str, str]]:
    response = requests.get(
        f"{uri}/api/2.0/mlflow/registered-models/get",
        params={"name": name},
        timeout=TIMEOUT_SECONDS,
    )
    if response.status_code == 404:
        return {}, {}
    response.raise_for_status()
    model = response.json().get("registered_model") or {}
    aliases = {a["alias"]: str(a["version"]) for a in model.get("aliases", [])}
    tags = {t["key"]: t.get("value", "") for t in model.get("tags", [])}
    return aliases, tags


def _with_client(uri: str, name: str) -> tuple[dict[str, str], dict[str, str]]:
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
        return {}, {}  # asking would create an empty tracking database as a side effect
    from mlflow import MlflowClient  # heavy: only for local (file/sqlite) registries
    from mlflow.exceptions import MlflowException

    try:
        model = MlflowClient(tracking_uri=uri, registry_uri=uri).get_registered_model(name)
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            return {}, {}
        raise
    return {k: str(v) for k, v in model.aliases.items()}, dict(model.tags)


def _percent(value: str | None) -> float:
    """The canary share in percent; 0 when unset, and when not a number in [0, 100]."""
    try:
        number = float(value) if value not in (None, "") else 0.0
    except ValueError:
        return 0.0
    return number if 0.0 <= number <= 100.0 else 0.0
