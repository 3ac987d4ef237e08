"""The model registry: register a version, read the champion, promote, explain the decision."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from mlproject.registry_reader import RegistryReader

logger = logging.getLogger(__name__)

PRODUCTION_STAGE = "Production"


@dataclass(frozen=True)
class Champion:
    """The version an alias points at, and the run that produced it."""

    version: str
    run_id: str | None


def version_for_run(tracking_uri: str, name: str, run_id: str) -> str | None:
    """The newest registered version of ``name`` logged by ``run_id``, or None.

    One bounded request (5 s) through RegistryReader, not MLflow's retrying client, so a
    scoring server whose tracking server is down still starts promptly.
    """
    return RegistryReader(tracking_uri, timeout=5).newest_version_for_run(name, run_id)


def current_champion(client: MlflowClient, name: str, alias: str) -> Champion | None:
    """The version ``alias`` points at, or None when the model or alias does not exist."""
    try:
        version = client.get_model_version_by_alias(name, alias)
    except MlflowException as exc:
        if exc.error_code in {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"}:
            return None
        raise
    return Champion(version=str(version.version), run_id=version.run_id)


def promote(client: MlflowClient, name: str, version: str, alias: str) -> None:
    """Point ``alias`` at ``version`` and mirror it to the legacy Production stage.

    The stage mirror archives the previous Production version, so users of the stage UI
    see the same champion as users of aliases.
    """
    client.set_registered_model_alias(name, alias, version)
    with warnings.catch_warnings():
        # Stages are deprecated in MLflow 3 but still shown in the UI; keep them in step.
        warnings.simplefilter("ignore", FutureWarning)
        client.transition_model_version_stage(
            name, version, PRODUCTION_STAGE, archive_existing_versions=True
        )
    logger.info("promoted %s version %s to @%s and %s", name, version, alias, PRODUCTION_STAGE)


def record_decision(
    client: MlflowClient, name: str, version: str, tags: dict[str, str], description: str
) -> None:
    """Write the gate's decision on the model version: tags for machines, text for people."""
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)
    client.update_model_version(name, version, description=description)


def main(argv: list[str] | None = None) -> int:
    """CLI: ``champion`` prints the version the alias points at (exit 1 when none)."""
    import argparse

    from mlproject.config import Settings

    parser = argparse.ArgumentParser(prog="python -m mlproject.registry")
    parser.add_argument("command", choices=["champion"])
    parser.parse_args(argv)
    settings = Settings.from_env()
    champion = current_champion(
        MlflowClient(settings.tracking_uri), settings.model_name, settings.model_alias
    )
    if champion is None:
        print(f"no @{settings.model_alias} for {settings.model_name}")
        return 1
    print(champion.version)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
