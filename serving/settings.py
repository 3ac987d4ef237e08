"""The supervisor's settings: read once from the environment and the CLI into a frozen object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mlproject.config import Settings

ALIAS = "alias"
STAGE = "stage"


@dataclass(frozen=True)
class Follow:
    """What "promoted" means: the version an alias points at, or the newest one in a stage."""

    kind: str  # ALIAS or STAGE
    name: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"


def parse_follow(text: str) -> Follow:
    """``alias:champion`` or ``stage:Production`` (a bare name is an alias).

    Raises:
        ValueError: an unknown kind or an empty name.
    """
    kind, sep, name = text.strip().partition(":")
    if not sep:
        kind, name = ALIAS, kind
    kind, name = kind.strip().lower(), name.strip()
    if kind not in (ALIAS, STAGE) or not name:
        raise ValueError(f"--follow wants alias:<name> or stage:<name>, got {text!r}")
    if kind == STAGE:
        # The registry's stage names are capitalised: Staging, Production, Archived.
        name = name[:1].upper() + name[1:].lower()
    return Follow(kind, name)


@dataclass(frozen=True)
class ServingSettings:
    """Everything the supervisor reads, with defaults.

    Environment variables (flags of ``python -m serving`` override them):
      MLFLOW_TRACKING_URI, IRIS_MODEL_NAME, IRIS_LOG_STORE_URL   as in mlproject.config
      IRIS_MODEL_ALIAS        alias to follow (default champion)
      IRIS_MODEL_STAGE        follow this stage instead of the alias (e.g. Production)
      SCORING_HOST            public address (default 127.0.0.1)
      SCORING_PORT            public port (default 5001)
      SCORING_WORKERS         uvicorn workers per scoring process (default 1)
      SERVING_POLL_SECONDS    registry poll interval (default 2)
      SERVING_RUN_DIR         downloaded models, process logs, state.json (default .run/serving)
      SERVING_READY_TIMEOUT   seconds a new version gets to answer /ping (default 120)
    """

    tracking_uri: str
    model_name: str
    log_store_url: str
    follow: Follow
    host: str = "127.0.0.1"
    port: int = 5001
    workers: int = 1
    poll_seconds: float = 2.0
    run_dir: Path = Path(".run/serving")
    ready_timeout: float = 120.0
    # In-flight requests to a replaced version get this long to finish before it is stopped.
    drain_timeout: float = 30.0
    # A scoring process gets this long for uvicorn's graceful shutdown before SIGKILL.
    stop_timeout: float = 7.0
    # A request waits this long for a serving process (start-up, crash restart) before 503.
    unavailable_wait: float = 30.0
    # MLflow's per-request limit inside the scoring server (its own default is 60).
    request_timeout: int = 60

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> ServingSettings:
        """Settings from ``environ`` (default ``os.environ``); ``overrides`` win when not None."""
        env = os.environ if environ is None else environ
        project = Settings.from_env(env)
        stage = env.get("IRIS_MODEL_STAGE") or ""
        values = {
            "tracking_uri": project.tracking_uri,
            "model_name": project.model_name,
            "log_store_url": project.log_store_url,
            "follow": Follow(STAGE, parse_follow(f"stage:{stage}").name)
            if stage
            else Follow(ALIAS, project.model_alias),
            "host": env.get("SCORING_HOST") or cls.host,
            "port": int(env.get("SCORING_PORT") or cls.port),
            "workers": int(env.get("SCORING_WORKERS") or cls.workers),
            "poll_seconds": float(env.get("SERVING_POLL_SECONDS") or cls.poll_seconds),
            "run_dir": Path(env.get("SERVING_RUN_DIR") or cls.run_dir),
            "ready_timeout": float(env.get("SERVING_READY_TIMEOUT") or cls.ready_timeout),
        }
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)


# Variables read here on top of mlproject.config.ENV_VARS; tests clear them too.
SERVING_ENV_VARS: tuple[str, ...] = (
    "IRIS_MODEL_STAGE",
    "SCORING_HOST",
    "SCORING_PORT",
    "SCORING_WORKERS",
    "SERVING_POLL_SECONDS",
    "SERVING_RUN_DIR",
    "SERVING_READY_TIMEOUT",
)
