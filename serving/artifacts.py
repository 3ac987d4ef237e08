"""Download a registered version's model into its own folder under the run dir."""

from __future__ import annotations

import logging
import shutil
import uuid
from pathlib import Path

import mlflow

logger = logging.getLogger(__name__)


def model_dir(run_dir: Path, version: str) -> Path:
    """Where version ``version`` lives once downloaded: ``<run_dir>/models/v<version>``."""
    return run_dir / "models" / f"v{version}"


def download_version(tracking_uri: str, name: str, version: str, run_dir: Path) -> Path:
    """The local folder (holding ``MLmodel``) of ``models:/<name>/<version>``.

    Downloads into a scratch folder and renames it, so a half-finished download is never
    mistaken for a model; a complete earlier download is reused (versions are immutable).
    """
    target = model_dir(run_dir, version)
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
