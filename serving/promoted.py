"""Which version the registry currently promotes: an alias's target or a stage's newest."""

from __future__ import annotations

import logging
import warnings

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from mlproject.registry import current_champion
from serving.settings import ALIAS, Follow

logger = logging.getLogger(__name__)


class RegistryUnavailable(Exception):
    """The registry could not be asked; the supervisor keeps what it serves."""


def promoted_version(client: MlflowClient, name: str, follow: Follow) -> str | None:
    """The version ``follow`` designates for model ``name``, or None when nothing is promoted.

    Raises:
        RegistryUnavailable: the registry did not answer (the caller keeps serving).
    """
    try:
        if follow.kind == ALIAS:
            champion = current_champion(client, name, follow.name)
            return champion.version if champion else None
        return _newest_in_stage(client, name, follow.name)
    except MlflowException as exc:
        raise RegistryUnavailable(f"{type(exc).__name__}: {exc.message[:300]}") from exc
    except Exception as exc:  # noqa: BLE001 - transport errors of any backend store
        raise RegistryUnavailable(f"{type(exc).__name__}: {str(exc)[:300]}") from exc


def _newest_in_stage(client: MlflowClient, name: str, stage: str) -> str | None:
    with warnings.catch_warnings():
        # Stages are deprecated in MLflow 3, but the legacy stage UI still moves them.
        warnings.simplefilter("ignore", FutureWarning)
        try:
            versions = client.get_latest_versions(name, stages=[stage])
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise
    if not versions:
        return None
    return str(max(int(v.version) for v in versions))
