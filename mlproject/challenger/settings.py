"""The shadow scorer's settings, read once from the environment into a typed object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from mlproject.config import Settings, _flag

# Scorer-only variables (each read only here), beside mlproject.config.ENV_VARS.
CHALLENGER_ENV_VARS: tuple[str, ...] = (
    "IRIS_AUTO_PROMOTE",
    "IRIS_SHADOW_POLL_SECONDS",
    "IRIS_SHADOW_BATCH_ROWS",
    "IRIS_SHADOW_SETTLE_SECONDS",
    "IRIS_TRIAL_ALPHA",
    "IRIS_TRIAL_MARGIN",
)


@dataclass(frozen=True)
class ScorerSettings:
    """Everything ``python -m mlproject.challenger`` reads.

    Environment variables, besides MLFLOW_TRACKING_URI, IRIS_MODEL_NAME and
    IRIS_LOG_STORE_URL (``mlproject.config.Settings``):
      IRIS_AUTO_PROMOTE           "true": act on a decision (move @champion, stop the canary);
                                  default false: the decision is advice, still recorded
      IRIS_SHADOW_POLL_SECONDS    pause between passes when there is nothing to do (2)
      IRIS_SHADOW_BATCH_ROWS      rows scored and committed per transaction (500)
      IRIS_SHADOW_SETTLE_SECONDS  rows are read only up to the highest seq seen this long
                                  ago, so a row committed late by a second writer is never
                                  passed by the cursor (2)
      IRIS_TRIAL_ALPHA            error level of each sequential claim (0.05)
      IRIS_TRIAL_MARGIN           accuracy difference that counts as none (0.02)
    """

    project: Settings = field(default_factory=Settings)
    auto_promote: bool = False
    poll_seconds: float = 2.0
    batch_rows: int = 500
    settle_seconds: float = 2.0
    alpha: float = 0.05
    margin: float = 0.02

    def __post_init__(self) -> None:
        if self.batch_rows < 1 or self.poll_seconds <= 0 or self.settle_seconds < 0:
            raise ValueError(
                "IRIS_SHADOW_BATCH_ROWS must be >= 1, IRIS_SHADOW_POLL_SECONDS > 0 and "
                "IRIS_SHADOW_SETTLE_SECONDS >= 0"
            )
        if not (0 < self.alpha < 0.5 and 0 < self.margin < 1):
            raise ValueError("IRIS_TRIAL_ALPHA must be in (0, 0.5), IRIS_TRIAL_MARGIN in (0, 1)")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ScorerSettings:
        """Settings from ``environ`` (default ``os.environ``), defaults for the rest."""
        env = os.environ if environ is None else environ
        default = cls()
        return cls(
            project=Settings.from_env(env),
            auto_promote=_flag(env.get("IRIS_AUTO_PROMOTE"), False),
            poll_seconds=float(env.get("IRIS_SHADOW_POLL_SECONDS") or default.poll_seconds),
            batch_rows=int(env.get("IRIS_SHADOW_BATCH_ROWS") or default.batch_rows),
            settle_seconds=float(env.get("IRIS_SHADOW_SETTLE_SECONDS") or default.settle_seconds),
            alpha=float(env.get("IRIS_TRIAL_ALPHA") or default.alpha),
            margin=float(env.get("IRIS_TRIAL_MARGIN") or default.margin),
        )
