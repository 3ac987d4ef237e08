"""One way to read the MLflow registry, with bounded timeouts, for code that must not hang.

MLflow's client retries an unreachable tracking server for minutes
(``MLFLOW_HTTP_REQUEST_MAX_RETRIES``), and pointed at a ``sqlite:///`` file that does not
exist yet it creates an empty tracking database. Neither is acceptable while a scoring
process starts or a dashboard renders. So against a tracking server each question here is
one HTTP request to MLflow's REST API with a timeout; against a local store (``sqlite:``,
``file:``) it is MlflowClient, after checking that the store exists with all its tables.

Every method returns None for "the registry says there is no such thing" and raises
``RegistryUnavailable`` for "the registry could not be asked"; callers decide what that
means for them (serving starts anyway, the dashboard shows "unknown").
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import requests

from mlproject.local_tracking_store import sqlite_store_ready

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

DEFAULT_TIMEOUT_SECONDS = 2.0
_MISSING = {"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "INVALID_PARAMETER_VALUE"}
_T = TypeVar("_T")


class RegistryUnavailable(Exception):
    """The registry could not be asked (unreachable, failing, or no store there yet)."""


@dataclass(frozen=True)
class VersionInfo:
    """What the registry holds about one model version."""

    name: str
    version: str
    run_id: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunInfo:
    """The tracking side of a run: where it lives, its params and tags."""

    run_id: str
    experiment_id: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


class RegistryReader:
    """Reads versions, aliases, runs and download locations from ``tracking_uri``."""

    def __init__(self, tracking_uri: str, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.tracking_uri = tracking_uri
        self.timeout = timeout
        self.is_http = urlsplit(tracking_uri).scheme in ("http", "https")

    # ---- questions ------------------------------------------------------------------------
    def version(self, name: str, version: str) -> VersionInfo | None:
        """Version ``version`` of ``name``, or None when there is none."""
        if self.is_http:
            found = self._get("model-versions/get", {"name": name, "version": version})
            return _version_from_json(found.get("model_version")) if found else None
        return self._client_call(lambda c: _version_from_entity(c.get_model_version(name, version)))

    def version_by_alias(self, name: str, alias: str) -> VersionInfo | None:
        """The version ``@alias`` of ``name`` points at, or None."""
        if self.is_http:
            found = self._get("registered-models/alias", {"name": name, "alias": alias})
            return _version_from_json(found.get("model_version")) if found else None
        return self._client_call(
            lambda c: _version_from_entity(c.get_model_version_by_alias(name, alias))
        )

    def newest_version_for_run(self, name: str, run_id: str) -> str | None:
        """The newest registered version of ``name`` logged by ``run_id``, or None."""
        query = f"name='{_quote(name)}' and run_id='{_quote(run_id)}'"
        if self.is_http:
            found = self._get("model-versions/search", {"filter": query}) or {}
            versions = [str(item["version"]) for item in found.get("model_versions", [])]
        else:
            found_versions: list[ModelVersion] = (
                self._client_call(lambda c: c.search_model_versions(query)) or []
            )
            versions = [str(mv.version) for mv in found_versions]
        return max(versions, key=int) if versions else None

    def run(self, run_id: str) -> RunInfo | None:
        """The run ``run_id``, or None when there is none."""
        if self.is_http:
            found = self._get("runs/get", {"run_id": run_id})
            body = (found or {}).get("run")
            if not body:
                return None
            data, info = body.get("data") or {}, body.get("info") or {}
            return RunInfo(
                run_id,
                info.get("experiment_id"),
                _pairs(data.get("params")),
                _pairs(data.get("tags")),
            )

        def ask(client: MlflowClient) -> RunInfo:
            run = client.get_run(run_id)
            return RunInfo(
                run_id, run.info.experiment_id, dict(run.data.params), dict(run.data.tags)
            )

        return self._client_call(ask)

    def download_uri(self, name: str, version: str) -> str | None:
        """Where version ``version``'s files are (an artifact URI), or None."""
        if self.is_http:
            found = self._get("model-versions/get-download-uri", {"name": name, "version": version})
            uri: str | None = (found or {}).get("artifact_uri")
            return uri
        return self._client_call(lambda c: c.get_model_version_download_uri(name, version))

    def version_json(self, name: str, version: str, artifact_path: str) -> tuple[Any, str]:
        """The parsed JSON file at ``artifact_path`` among a version's files, and its URI.

        Not a ``models:/`` URI: MLflow resolves those through the global registry URI and
        ignores the one passed in, so the registry is asked where the version's files are.
        Raises RegistryUnavailable, LookupError (no such version) or MLflow's download error.
        """
        self.check_reachable()  # fail fast rather than through MLflow's retries
        root = self.download_uri(name, version)
        if root is None:
            raise LookupError(f"{name} version {version} is not in the registry")
        artifact_uri = f"{root.rstrip('/')}/{artifact_path}"
        from mlflow.artifacts import download_artifacts  # heavy: imported on first use only

        with tempfile.TemporaryDirectory(prefix="iris-artifact-") as folder:
            path = download_artifacts(
                artifact_uri=artifact_uri, dst_path=folder, tracking_uri=self.tracking_uri
            )
            return json.loads(Path(path).read_text()), artifact_uri

    def check_reachable(self) -> None:
        """Raise RegistryUnavailable unless the registry answers (or its store exists)."""
        if not self.is_http:
            self._check_local_store()
            return
        try:
            requests.get(f"{self._base()}/health", timeout=self.timeout)
        except requests.RequestException as exc:
            raise RegistryUnavailable(f"tracking server {self._base()} unreachable") from exc

    # ---- transport ------------------------------------------------------------------------
    def _base(self) -> str:
        return self.tracking_uri.rstrip("/")

    def _get(self, endpoint: str, params: dict[str, str]) -> dict[str, Any] | None:
        url = f"{self._base()}/api/2.0/mlflow/{endpoint}"
        try:
            response = requests.get(url, params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            raise RegistryUnavailable(f"{url}: {exc.__class__.__name__}") from exc
        if response.status_code in (400, 404):
            try:
                code = response.json().get("error_code")
            except ValueError:
                code = None
            if code in _MISSING:
                return None
        if response.status_code != 200:
            raise RegistryUnavailable(f"{url}: HTTP {response.status_code}")
        try:
            body: dict[str, Any] = response.json()  # MLflow's REST answers are objects
            return body
        except ValueError as exc:
            raise RegistryUnavailable(f"{url}: not JSON") from exc

    def _client_call(self, ask: Callable[[MlflowClient], _T]) -> _T | None:
        self._check_local_store()
        from mlflow import MlflowClient  # heavy: only for local (file/sqlite) registries
        from mlflow.exceptions import MlflowException
        from sqlalchemy.exc import SQLAlchemyError

        try:
            client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)
            return ask(client)
        except MlflowException as exc:
            if exc.error_code in _MISSING:
                return None
            raise RegistryUnavailable(str(exc)[:300]) from exc
        except SQLAlchemyError as exc:  # e.g. the schema moved under us by a migration
            raise RegistryUnavailable(f"{exc.__class__.__name__}: {str(exc)[:200]}") from exc

    def _check_local_store(self) -> None:
        if not sqlite_store_ready(self.tracking_uri):
            raise RegistryUnavailable(f"no tracking database at {self.tracking_uri} yet")


def _version_from_json(item: dict[str, Any] | None) -> VersionInfo | None:
    if not item:
        return None
    return VersionInfo(
        name=item.get("name", ""),
        version=str(item.get("version")),
        run_id=item.get("run_id") or None,
        tags=_pairs(item.get("tags")),
        aliases=tuple(item.get("aliases") or ()),
    )


def _version_from_entity(found: ModelVersion) -> VersionInfo:
    return VersionInfo(
        name=found.name,
        version=str(found.version),
        run_id=found.run_id or None,
        tags=dict(found.tags or {}),
        aliases=tuple(found.aliases or ()),
    )


def _pairs(items: list[dict[str, Any]] | None) -> dict[str, str]:
    # Protobuf JSON may leave an unset value out; the client path reads those as "" too.
    return {item["key"]: item.get("value") or "" for item in items or [] if item.get("key")}


def _quote(value: str) -> str:
    return value.replace("'", "\\'")
