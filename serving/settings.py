"""The supervisor's settings: read once from the environment and the CLI into a frozen object."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mlproject.config import Settings
from serving.cores import usable_cores

ALIAS = "alias"
STAGE = "stage"
PRODUCTION = "Production"
NO_STAGE = "none"

# RFC 6750's b64token: what may follow "Bearer " (and stays one HAProxy config word).
_TOKEN = re.compile(r"[A-Za-z0-9._~+/-]+=*")
AUTO = "auto"  # SCORING_PROCESSES: one scoring process per usable core


def parse_processes(text: str | int) -> int:
    """``SCORING_PROCESSES``: a count >= 1, or ``auto`` (the default): ``usable_cores()``.

    Raises ValueError for anything else.
    """
    if str(text).strip().lower() == AUTO:
        return usable_cores()
    count = int(text)
    if count < 1:
        raise ValueError(f"SCORING_PROCESSES must be auto or at least 1, got {text!r}")
    return count


@dataclass(frozen=True)
class Follow:
    """What "promoted" means: an alias, a stage's most recent version, or both reconciled.

    With both, the one moved last wins (the alias when both moved between two polls) and
    the other is moved to match (see serving.promotion).
    """

    alias: str | None = "champion"
    stage: str | None = PRODUCTION

    def __post_init__(self) -> None:
        if not self.alias and not self.stage:
            raise ValueError("follow needs an alias, a stage, or both")

    def __str__(self) -> str:
        parts = [f"{ALIAS}:{self.alias}"] if self.alias else []
        if self.stage:
            parts.append(f"{STAGE}:{self.stage}")
        return ",".join(parts)


def _stage_name(name: str) -> str:
    # The registry's stage names are capitalised: Staging, Production, Archived.
    return name[:1].upper() + name[1:].lower()


def parse_follow(text: str) -> Follow:
    """``alias:champion``, ``stage:Production``, or both joined by a comma.

    A bare name is an alias. Raises ValueError for an unknown kind or an empty name.
    """
    alias = stage = None
    for part in (p.strip() for p in text.split(",")):
        kind, sep, name = part.partition(":")
        if not sep:
            kind, name = ALIAS, kind
        kind, name = kind.strip().lower(), name.strip()
        if kind not in (ALIAS, STAGE) or not name:
            raise ValueError(
                f"--follow wants alias:<name>, stage:<name> or both (comma), got {text!r}"
            )
        if kind == ALIAS:
            alias = name
        else:
            stage = _stage_name(name)
    return Follow(alias, stage)


@dataclass(frozen=True)
class EdgeSettings:
    """HAProxy on the public port: limits, timeouts, auth, metrics (see docs/SERVING.md)."""

    host: str = "127.0.0.1"
    port: int = 5001
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 8404
    # Requests whose declared or streamed body is larger get 413 (SCORING_MAX_BODY).
    max_body: int = 16 * 1024 * 1024
    # None: /invocations is open; else it needs "Authorization: Bearer <token>".
    token: str | None = field(default=None, repr=False)
    # Client connections held at once; more wait in the kernel's accept queue.
    max_connections: int = 4096
    # Requests in flight per scoring process; more wait in HAProxy's queue ...
    server_maxconn: int = 8
    # ... which answers 429 once it holds this many, and 503 after queue_timeout.
    max_queue: int = 512
    queue_timeout: float = 10.0
    # A client gets this long to send its headers (and a body that fits one buffer).
    http_request_timeout: float = 10.0
    client_timeout: float = 30.0
    keep_alive_timeout: float = 30.0
    # Soft stop on shutdown: requests in flight get this long to finish.
    stop_timeout: float = 2.0


@dataclass(frozen=True)
class ServingSettings:
    """Everything the supervisor reads, with defaults.

    Environment variables (flags of ``python -m serving`` override them):
      MLFLOW_TRACKING_URI, IRIS_MODEL_NAME, IRIS_LOG_STORE_URL   as in mlproject.config
      IRIS_MODEL_ALIAS        alias to follow and keep in step (default champion)
      IRIS_MODEL_STAGE        stage to follow and keep in step (default Production;
                              "none" follows the alias only)
      SCORING_HOST            public address (default 127.0.0.1)
      SCORING_PORT            public port (default 5001)
      SCORING_MAX_BODY        request body limit in bytes (default 16 MiB)
      SCORING_TOKEN           when set, /invocations needs "Authorization: Bearer <it>"
      SCORING_METRICS_HOST    HAProxy's Prometheus exporter address (default 127.0.0.1)
      SCORING_METRICS_PORT    ... and port (default 8404): /metrics, /slots
      SCORING_PROCESSES       scoring processes per version behind the edge: a count, or
                              auto (the default) = usable cores (see usable_cores)
      SCORING_WORKERS         uvicorn workers per scoring process (default 1)
      SERVING_POLL_SECONDS    registry poll interval (default 2)
      SERVING_RUN_DIR         models, logs, HAProxy's files, state.json (default .run/serving)
      IRIS_SPOOL_DIR          the prediction spool the scoring processes append to and the
                              supervisor's log shipper loads (default <run dir>/spool)
      SERVING_READY_TIMEOUT   seconds a new version gets to answer /ping (default 120)
      SERVING_LIVENESS_TIMEOUT  a process silent on /ping this long is replaced (default 10)
    """

    tracking_uri: str
    model_name: str
    log_store_url: str
    follow: Follow = field(default_factory=Follow)
    edge: EdgeSettings = field(default_factory=EdgeSettings)
    # from_env's default is AUTO (one per usable core); built directly, one.
    processes: int = 1
    workers: int = 1
    poll_seconds: float = 2.0
    run_dir: Path = Path(".run/serving")
    # None: <run_dir>/spool. Absolute once resolved, so children in other folders agree.
    spool_dir: Path | None = None
    ready_timeout: float = 120.0
    liveness_timeout: float = 10.0
    # A drained version's requests in flight get this long before it is stopped anyway.
    drain_timeout: float = 30.0
    # A scoring process gets this long for uvicorn's graceful shutdown before SIGKILL.
    stop_timeout: float = 5.0
    # While a process restarts, HAProxy retries a refused connection once a second for
    # this long (a request is sent at most once: only failed connects are retried).
    unavailable_wait: float = 30.0
    # MLflow's per-request limit inside the scoring server (its own default is 60).
    request_timeout: int = 60

    @property
    def spool_root(self) -> Path:
        """The absolute spool root every scoring process and the shipper share."""
        return (self.spool_dir or self.run_dir / "spool").resolve()

    @property
    def host(self) -> str:
        return self.edge.host

    @property
    def port(self) -> int:
        return self.edge.port

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, edge: dict | None = None, **overrides
    ) -> ServingSettings:
        """Settings from ``environ`` (default ``os.environ``); overrides win when not None.

        Raises:
            ValueError: a value that cannot be used (a token HAProxy could not hold).
        """
        env = os.environ if environ is None else environ
        project = Settings.from_env(env)
        stage = (env.get("IRIS_MODEL_STAGE") or PRODUCTION).strip()
        defaults = EdgeSettings()
        edge_values = {
            "host": env.get("SCORING_HOST") or defaults.host,
            "port": int(env.get("SCORING_PORT") or defaults.port),
            "metrics_host": env.get("SCORING_METRICS_HOST") or defaults.metrics_host,
            "metrics_port": int(env.get("SCORING_METRICS_PORT") or defaults.metrics_port),
            "max_body": int(env.get("SCORING_MAX_BODY") or defaults.max_body),
            "token": env.get("SCORING_TOKEN") or None,
        }
        edge_values.update({k: v for k, v in (edge or {}).items() if v is not None})
        token = edge_values["token"]
        if token is not None and not _TOKEN.fullmatch(token):
            raise ValueError("SCORING_TOKEN may hold only letters, digits and -._~+/ (then =)")
        if edge_values["max_body"] < 1:
            raise ValueError("SCORING_MAX_BODY must be a positive number of bytes")
        values = {
            "tracking_uri": project.tracking_uri,
            "model_name": project.model_name,
            "log_store_url": project.log_store_url,
            "follow": Follow(
                project.model_alias,
                None if stage.lower() == NO_STAGE else _stage_name(stage),
            ),
            "edge": EdgeSettings(**edge_values),
            "processes": parse_processes(env.get("SCORING_PROCESSES") or AUTO),
            "workers": int(env.get("SCORING_WORKERS") or cls.workers),
            "poll_seconds": float(env.get("SERVING_POLL_SECONDS") or cls.poll_seconds),
            "run_dir": Path(env.get("SERVING_RUN_DIR") or cls.run_dir),
            "spool_dir": Path(env["IRIS_SPOOL_DIR"]) if env.get("IRIS_SPOOL_DIR") else None,
            "ready_timeout": float(env.get("SERVING_READY_TIMEOUT") or cls.ready_timeout),
            "liveness_timeout": float(env.get("SERVING_LIVENESS_TIMEOUT") or cls.liveness_timeout),
        }
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)


# Variables read here on top of mlproject.config.ENV_VARS; tests clear them too.
SERVING_ENV_VARS: tuple[str, ...] = (
    "IRIS_MODEL_STAGE",
    "SCORING_HOST",
    "SCORING_PORT",
    "SCORING_MAX_BODY",
    "SCORING_TOKEN",
    "SCORING_METRICS_HOST",
    "SCORING_METRICS_PORT",
    "SCORING_PROCESSES",
    "SCORING_WORKERS",
    "SERVING_POLL_SECONDS",
    "SERVING_RUN_DIR",
    "SERVING_READY_TIMEOUT",
    "SERVING_LIVENESS_TIMEOUT",
)
