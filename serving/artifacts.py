"""Download a registered version's model into its own folder under the run dir."""

from __future__ import annotations

import hashlib
import logging
import shutil
import uuid
from pathlib import Path

import mlflow
from mlflow import MlflowClient

logger = logging.getLogger(__name__)


def model_dir(run_dir: Path, version: str, identity: str = "") -> Path:
    """Where a version lives once downloaded: ``<run_dir>/models/v<version>-<hash>``.

    ``identity`` names the registry entry (tracking URI, model, version, source); version
    numbers alone repeat across registries, and a run dir may outlive its registry.
    """
    suffix = hashlib.sha256(identity.encode()).hexdigest()[:12] if identity else "local"
    return run_dir / "models" / f"v{version}-{suffix}"


class DownloadFailed(Exception):
    """The registry or the artifact store did not give us a version's files (an outage,
    most often): worth trying again later, unlike a version that fails its checks."""


def download_version(tracking_uri: str, name: str, version: str, run_dir: Path) -> Path:
    """The local folder (holding ``MLmodel``) of ``models:/<name>/<version>``.

    Downloads into a scratch folder and renames it, so a half-finished download is never
    mistaken for a model; a complete earlier download is reused (versions are immutable).

    Raises:
        DownloadFailed: whatever went wrong on the way (its cause is chained).
    """
    try:
        return _download(tracking_uri, name, version, run_dir)
    except Exception as exc:
        raise DownloadFailed(f"{type(exc).__name__}: {exc}"[:500]) from exc


def _download(tracking_uri: str, name: str, version: str, run_dir: Path) -> Path:
    source = (
        MlflowClient(tracking_uri, registry_uri=tracking_uri)
        .get_model_version(name, version)
        .source
    )
    target = model_dir(run_dir, version, f"{tracking_uri}|{name}|{version}|{source}")
    if (target / "MLmodel").is_file():
        return target
    scratch = target.with_name(f".{target.name}-{uuid.uuid4().hex[:8]}")
    scratch.mkdir(parents=True)
    try:
        local = Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{name}/{version}",
                dst_path=str(scratch),
                tracking_uri=tracking_uri,
                registry_uri=tracking_uri,
            )
        )
        if not (local / "MLmodel").is_file():
            raise FileNotFoundError(f"no MLmodel in the download of models:/{name}/{version}")
        shutil.rmtree(target, ignore_errors=True)
        local.rename(target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    logger.info("downloaded %s version %s to %s", name, version, target)
    return target
