"""Settings, read once from the environment into a typed, frozen object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

FEATURES: tuple[str, ...] = ("sepal_length", "sepal_width", "petal_length", "petal_width")
CLASSES: tuple[str, ...] = ("setosa", "versicolor", "virginica")
MAX_BATCH_ROWS = 10_000
MAX_MEASUREMENT_CM = 100.0
# Longest ``params.request_id`` stored with a prediction; a longer one is refused (400).
MAX_REQUEST_ID_CHARS = 200
# Training parameters' allowed ranges, inclusive: the training CLI, the sidecar's
# POST /retrain and its OpenAPI schema all check these.
TEST_SIZE_RANGE: tuple[float, float] = (0.05, 0.5)
CV_FOLDS_RANGE: tuple[int, int] = (2, 20)
SEED_RANGE: tuple[int, int] = (0, 2**31 - 1)
DURABILITY_MODES: tuple[str, ...] = ("buffered", "fsync")
SHIPPER_MODES: tuple[str, ...] = ("auto", "external")
# Who a scoring process answers for in a challenger trial (as in mlproject.logstore.contract,
# which this module cannot import: the log store imports this module).
MODEL_ROLES: tuple[str, ...] = ("champion", "challenger")


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Every setting the project reads, with the SPEC's defaults.

    Environment variables (each read only here):
      MLFLOW_TRACKING_URI      tracking server or store URI
      IRIS_MODEL_NAME          registered model name
      IRIS_MODEL_ALIAS         alias the scoring side follows
      IRIS_LOG_STORE_URL       SQLAlchemy URL of the prediction log store
      SIDECAR_TOKEN            bearer token for write endpoints (no default, ever)
      SCORING_URL              where the sidecar finds the scoring server
      IRIS_PREDICTION_LOGGING  "false" turns the pyfunc's logging off (used while
                               registering, so input-example checks are not traffic)
      IRIS_MODEL_VERSION       version the scoring process serves, when a supervisor knows it
      IRIS_MODEL_ROLE          "champion" (default) or "challenger": the role the supervisor
                               gave this scoring process, logged with each prediction
      IRIS_SMOKE_TOKEN         secret a supervisor's smoke prediction carries (param
                               ``smoke_token``) so it is answered but not logged as traffic
      IRIS_SPOOL_DIR           root of the on-disk prediction log spool (default .run/spool);
                               each log store gets its own folder below it
      IRIS_SPOOL_MAX_BYTES     spool size past which predictions are dropped and counted in
                               iris_prediction_log_dropped_total (default 1 GiB)
      IRIS_LOG_DURABILITY      "buffered" (default: survives a kill -9 of the scoring
                               process) or "fsync" (also survives an OS crash; slower)
      IRIS_LOG_SHIPPER         "auto" (default: the first model process that finds no shipper
                               starts one) or "external" (a supervisor runs the shipper)
      IRIS_FEEDBACK_WINDOW     seconds a label waits for its prediction (pending feedback),
                               and the age past which a dated prediction id is unknown
                               (default 3600)
      IRIS_LOG_RETENTION_DAYS  the shipper purges logged predictions and rejections older
                               than this (default 0: keep everything)
      IRIS_LOG_RETENTION_ROWS  ... and keeps at most this many predictions (default 0: all)
    """

    tracking_uri: str = "http://127.0.0.1:5000"
    model_name: str = "iris-classifier"
    model_alias: str = "champion"
    log_store_url: str = "sqlite:///predictions.db"
    sidecar_token: str | None = None
    scoring_url: str = "http://127.0.0.1:5001"
    prediction_logging: bool = True
    model_version: str | None = None
    model_role: str = "champion"
    smoke_token: str | None = None
    spool_dir: str = ".run/spool"
    spool_max_bytes: int = 1 << 30
    log_durability: str = "buffered"
    log_shipper: str = "auto"
    feedback_window_seconds: float = 3600.0
    retention_days: float = 0.0
    retention_rows: int = 0

    def __post_init__(self) -> None:
        if self.log_durability not in DURABILITY_MODES:
            raise ValueError(f"IRIS_LOG_DURABILITY must be one of {DURABILITY_MODES}")
        if self.log_shipper not in SHIPPER_MODES:
            raise ValueError(f"IRIS_LOG_SHIPPER must be one of {SHIPPER_MODES}")
        if self.model_role not in MODEL_ROLES:
            raise ValueError(f"IRIS_MODEL_ROLE must be one of {MODEL_ROLES}")
        if self.spool_max_bytes <= 0 or self.feedback_window_seconds <= 0:
            raise ValueError("IRIS_SPOOL_MAX_BYTES and IRIS_FEEDBACK_WINDOW must be positive")
        if self.retention_days < 0 or self.retention_rows < 0:
            raise ValueError("IRIS_LOG_RETENTION_DAYS and IRIS_LOG_RETENTION_ROWS must be >= 0")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``environ`` (default ``os.environ``), defaults for the rest."""
        env = os.environ if environ is None else environ
        default = cls()
        return cls(
            tracking_uri=env.get("MLFLOW_TRACKING_URI") or default.tracking_uri,
            model_name=env.get("IRIS_MODEL_NAME") or default.model_name,
            model_alias=env.get("IRIS_MODEL_ALIAS") or default.model_alias,
            log_store_url=env.get("IRIS_LOG_STORE_URL") or default.log_store_url,
            sidecar_token=env.get("SIDECAR_TOKEN") or None,
            scoring_url=(env.get("SCORING_URL") or default.scoring_url).rstrip("/"),
            prediction_logging=_flag(env.get("IRIS_PREDICTION_LOGGING"), True),
            model_version=env.get("IRIS_MODEL_VERSION") or None,
            model_role=(env.get("IRIS_MODEL_ROLE") or default.model_role).strip().lower(),
            smoke_token=env.get("IRIS_SMOKE_TOKEN") or None,
            spool_dir=env.get("IRIS_SPOOL_DIR") or default.spool_dir,
            spool_max_bytes=int(env.get("IRIS_SPOOL_MAX_BYTES") or default.spool_max_bytes),
            log_durability=(env.get("IRIS_LOG_DURABILITY") or default.log_durability).lower(),
            log_shipper=(env.get("IRIS_LOG_SHIPPER") or default.log_shipper).lower(),
            feedback_window_seconds=float(
                env.get("IRIS_FEEDBACK_WINDOW") or default.feedback_window_seconds
            ),
            retention_days=float(env.get("IRIS_LOG_RETENTION_DAYS") or 0),
            retention_rows=int(env.get("IRIS_LOG_RETENTION_ROWS") or 0),
        )


# Every variable Settings reads; tests clear these around each test.
ENV_VARS: tuple[str, ...] = (
    "MLFLOW_TRACKING_URI",
    "IRIS_MODEL_NAME",
    "IRIS_MODEL_ALIAS",
    "IRIS_LOG_STORE_URL",
    "SIDECAR_TOKEN",
    "SCORING_URL",
    "IRIS_PREDICTION_LOGGING",
    "IRIS_MODEL_VERSION",
    "IRIS_MODEL_ROLE",
    "IRIS_SMOKE_TOKEN",
    "IRIS_SPOOL_DIR",
    "IRIS_SPOOL_MAX_BYTES",
    "IRIS_LOG_DURABILITY",
    "IRIS_LOG_SHIPPER",
    "IRIS_FEEDBACK_WINDOW",
    "IRIS_LOG_RETENTION_DAYS",
    "IRIS_LOG_RETENTION_ROWS",
)
