"""Fetch a small JSON file that travels inside a registered model version's pyfunc.

The CBPE calibration (``artifacts/cbpe_calibration.json``) is read this way, once per
version and process, as ``drift_reference`` reads the drift reference. The tracking server
is probed first with a short timeout, so a scrape does not wait through MLflow's minutes of
HTTP retries when it is down. (Main's ``mlproject.registry_reader`` now owns this for the
drift reference; this module should move onto it when the branches meet.)
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import requests

from mlproject.config import Settings

PROBE_TIMEOUT_SECONDS = 2.0


def fetch_version_json(settings: Settings, version: str, artifact_path: str) -> tuple[Any, str]:
    """The parsed JSON at ``artifact_path`` inside ``version``'s model, and its URI.

    Raises whatever MLflow or the probe raises; callers fall back and retry later.
    """
    name, uri = settings.model_name, settings.tracking_uri
    check_reachable(uri)
    from mlflow import MlflowClient  # heavy: imported on the first fetch only
    from mlflow.artifacts import download_artifacts

    # Not a models:/ URI: MLflow resolves those through the global registry URI and
    # ignores the one passed in, so ask the registry where the version's files are.
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    root = client.get_model_version_download_uri(name, version).rstrip("/")
    artifact_uri = f"{root}/{artifact_path}"
    with tempfile.TemporaryDirectory(prefix="iris-artifact-") as folder:
        path = download_artifacts(artifact_uri=artifact_uri, dst_path=folder, tracking_uri=uri)
        return json.loads(Path(path).read_text()), artifact_uri


def check_reachable(uri: str) -> None:
    """Fail fast instead of MLflow's minutes of HTTP retries, or creating an empty store."""
    if uri.startswith(("http://", "https://")):
        try:
            requests.get(f"{uri.rstrip('/')}/health", timeout=PROBE_TIMEOUT_SECONDS)
        except requests.RequestException as exc:
            raise ConnectionError(f"tracking server {uri} unreachable") from exc
    elif uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
        raise FileNotFoundError(f"no tracking database at {uri}")
