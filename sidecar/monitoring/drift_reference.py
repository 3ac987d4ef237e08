"""The training reference drift is judged against: from MLflow per version, else the CSV.

Each model version carries ``drift_reference.json`` (``mlproject.reference``) among its
pyfunc artifacts, at ``artifacts/drift_reference.json`` inside the logged model. It is
fetched once per version and process and kept in memory. When the registry cannot give it
(no version known, tracking down, an old model without the artifact), a reference is built
from the versioned CSV instead, and ``source`` says so; MLflow is asked again after
``retry_seconds`` rather than on every scrape.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlproject.config import Settings
from mlproject.data import load_dataset
from mlproject.reference import build_reference
from mlproject.registry_reader import RegistryReader

logger = logging.getLogger(__name__)

ARTIFACT_PATH = "artifacts/drift_reference.json"
PROBE_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class Reference:
    """A drift reference (``mlproject.reference`` format) and where it came from."""

    features: dict[str, dict[str, Any]]
    rows: int
    version: str | None
    source: str  # "mlflow" or "data_csv"
    uri: str
    note: str | None = None  # why the CSV stands in, when it does

    def describe(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "source": self.source,
            "uri": self.uri,
            "rows": self.rows,
            "note": self.note,
        }


class ReferenceSource:
    """Per-version references from MLflow, fetched once (retried after ``retry_seconds``)."""

    def __init__(self, settings: Settings, data_path: Path, retry_seconds: float = 60.0) -> None:
        self._settings = settings
        self._data_path = Path(data_path)
        self._retry_seconds = retry_seconds
        self._lock = threading.Lock()
        self._by_version: dict[str, Reference] = {}
        self._failed: dict[str | None, tuple[float, str]] = {}
        self._csv: Reference | None = None

    def get(self, version: str | None) -> Reference:
        """The reference of ``version`` from MLflow, or the CSV's with a note why."""
        with self._lock:
            if version is not None and version in self._by_version:
                return self._by_version[version]
            failed = self._failed.get(version)
            if failed is None or time.monotonic() - failed[0] >= self._retry_seconds:
                reason = "no model version in service is known"
                if version is not None:
                    try:
                        found = self._from_mlflow(version)
                    except Exception as exc:  # noqa: BLE001 - any failure falls back to the CSV
                        reason = f"{exc.__class__.__name__}: {exc}"[:300]
                        logger.warning("drift reference of version %s: %s", version, reason)
                    else:
                        self._by_version[version] = found
                        self._failed.pop(version, None)
                        return found
                self._failed[version] = (time.monotonic(), reason)
            return self._from_csv(version, self._failed[version][1])

    def _from_mlflow(self, version: str) -> Reference:
        reader = RegistryReader(self._settings.tracking_uri, timeout=PROBE_TIMEOUT_SECONDS)
        payload, artifact_uri = reader.version_json(
            self._settings.model_name, version, ARTIFACT_PATH
        )
        return Reference(
            features=payload["features"],
            rows=int(payload["rows"]),
            version=version,
            source="mlflow",
            uri=artifact_uri,
        )

    def _from_csv(self, version: str | None, reason: str) -> Reference:
        if self._csv is None:
            dataset = load_dataset(self._data_path)
            payload = build_reference(dataset.features)
            self._csv = Reference(
                features=payload["features"],
                rows=int(payload["rows"]),
                version=None,
                source="data_csv",
                uri=f"{self._data_path} (sha256 {dataset.digest[:12]})",
            )
        csv = self._csv
        note = f"model reference unavailable ({reason}); built from the versioned CSV"
        return Reference(csv.features, csv.rows, version, csv.source, csv.uri, note)
