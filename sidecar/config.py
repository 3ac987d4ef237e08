"""The sidecar's settings: the project's Settings plus what only the sidecar reads."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mlproject.config import Settings

# The repository root: the folder holding MLproject and data/, parent of this package.
DEFAULT_PROJECT_DIR = Path(__file__).resolve().parents[1]

# Sidecar-only variables (each read only here), beside mlproject.config.ENV_VARS.
SIDECAR_ENV_VARS: tuple[str, ...] = (
    "IRIS_PROJECT_DIR",
    "IRIS_DATA_PATH",
    "IRIS_JOBS_DIR",
    "IRIS_ACCURACY_WINDOW",
    "IRIS_DRIFT_WINDOW",
    "IRIS_DRIFT_MIN_ROWS",
    "IRIS_DRIFT_PSI_THRESHOLD",
    "IRIS_DRIFT_KS_PVALUE",
    "IRIS_FEEDBACK_RATE_PER_MINUTE",
    "IRIS_FEEDBACK_BURST",
    "IRIS_RETRAIN_RATE_PER_MINUTE",
    "IRIS_RETRAIN_BURST",
)


@dataclass(frozen=True)
class RateLimit:
    """A token bucket: ``burst`` requests at once, refilled at ``per_minute``."""

    per_minute: int
    burst: int


@dataclass(frozen=True)
class RateLimits:
    """Per-client limits of the write endpoints (see ``sidecar.ratelimit``; per process).

    Environment variables:
      IRIS_FEEDBACK_RATE_PER_MINUTE, IRIS_FEEDBACK_BURST   POST /feedback (1200, 200)
      IRIS_RETRAIN_RATE_PER_MINUTE, IRIS_RETRAIN_BURST     POST /retrain (6, 20)
    """

    feedback: RateLimit = RateLimit(per_minute=1200, burst=200)
    retrain: RateLimit = RateLimit(per_minute=6, burst=20)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RateLimits:
        """Limits from ``env``, defaults for what is unset."""
        default = cls()
        return cls(
            feedback=_rate_limit(env, "FEEDBACK", default.feedback),
            retrain=_rate_limit(env, "RETRAIN", default.retrain),
        )

    def by_route(self) -> dict[tuple[str, str], RateLimit]:
        """The limits keyed by (method, route), as the app applies them."""
        return {("POST", "/feedback"): self.feedback, ("POST", "/retrain"): self.retrain}


def _rate_limit(env: Mapping[str, str], name: str, default: RateLimit) -> RateLimit:
    rate, burst = f"IRIS_{name}_RATE_PER_MINUTE", f"IRIS_{name}_BURST"
    return RateLimit(
        per_minute=_positive_int(rate, env.get(rate), default.per_minute),
        burst=_positive_int(burst, env.get(burst), default.burst),
    )


@dataclass(frozen=True)
class DriftSettings:
    """How drift is judged; the defaults are calibrated in tests/unit/sidecar/test_drift.py.

    Environment variables:
      IRIS_DRIFT_WINDOW         latest predictions in the live window (default 250)
      IRIS_DRIFT_MIN_ROWS       fewer rows than this (or than the window) expose no drift
                                (default 200)
      IRIS_DRIFT_PSI_THRESHOLD  PSI at or above this is "drift"; half of it is "moderate"
                                (default 0.2)
      IRIS_DRIFT_KS_PVALUE      a Kolmogorov-Smirnov p-value below this is significant
                                (default 0.01)
    """

    window: int = 250
    min_rows: int = 200
    psi_threshold: float = 0.2
    ks_pvalue: float = 0.01

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DriftSettings:
        """Drift settings from ``env``, defaults for what is unset."""
        default = cls()
        return cls(
            window=_positive_int("IRIS_DRIFT_WINDOW", env.get("IRIS_DRIFT_WINDOW"), default.window),
            min_rows=_positive_int(
                "IRIS_DRIFT_MIN_ROWS", env.get("IRIS_DRIFT_MIN_ROWS"), default.min_rows
            ),
            psi_threshold=_float_in(
                "IRIS_DRIFT_PSI_THRESHOLD",
                env.get("IRIS_DRIFT_PSI_THRESHOLD"),
                default.psi_threshold,
            ),
            ks_pvalue=_float_in(
                "IRIS_DRIFT_KS_PVALUE",
                env.get("IRIS_DRIFT_KS_PVALUE"),
                default.ks_pvalue,
                upper=1.0,
            ),
        )


@dataclass(frozen=True)
class SidecarSettings:
    """Everything the sidecar needs, read once at start-up and passed down.

    Environment variables, besides those of ``mlproject.config.Settings``:
      IRIS_PROJECT_DIR      the MLflow Project that /retrain runs (default: the repo root)
      IRIS_DATA_PATH        the versioned CSV /sample draws from (default data/iris.csv there)
      IRIS_JOBS_DIR         where each retrain job keeps its output (default retrain-jobs there)
      IRIS_ACCURACY_WINDOW  how many latest labelled predictions iris_live_accuracy covers
      IRIS_DRIFT_*          see DriftSettings
      IRIS_*_RATE_PER_MINUTE, IRIS_*_BURST  see RateLimits
    """

    project: Settings = field(default_factory=Settings)
    project_dir: Path = DEFAULT_PROJECT_DIR
    data_path: Path = DEFAULT_PROJECT_DIR / "data" / "iris.csv"
    jobs_dir: Path = DEFAULT_PROJECT_DIR / "retrain-jobs"
    accuracy_window: int = 200
    drift: DriftSettings = field(default_factory=DriftSettings)
    rate_limits: RateLimits = field(default_factory=RateLimits)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SidecarSettings:
        """Build settings from ``environ`` (default ``os.environ``); defaults for the rest."""
        env = os.environ if environ is None else environ
        project_dir = Path(env.get("IRIS_PROJECT_DIR") or DEFAULT_PROJECT_DIR).resolve()
        return cls.build(
            project=Settings.from_env(env),
            project_dir=project_dir,
            data_path=env.get("IRIS_DATA_PATH") or None,
            jobs_dir=env.get("IRIS_JOBS_DIR") or None,
            accuracy_window=_positive_int(
                "IRIS_ACCURACY_WINDOW", env.get("IRIS_ACCURACY_WINDOW"), 200
            ),
            drift=DriftSettings.from_env(env),
            rate_limits=RateLimits.from_env(env),
        )

    @classmethod
    def build(
        cls,
        project: Settings | None = None,
        project_dir: Path | str = DEFAULT_PROJECT_DIR,
        data_path: Path | str | None = None,
        jobs_dir: Path | str | None = None,
        accuracy_window: int = 200,
        drift: DriftSettings | None = None,
        rate_limits: RateLimits | None = None,
    ) -> SidecarSettings:
        """Settings whose data and jobs paths default to places under ``project_dir``."""
        root = Path(project_dir).resolve()
        return cls(
            project=project or Settings(),
            project_dir=root,
            data_path=Path(data_path) if data_path else root / "data" / "iris.csv",
            jobs_dir=Path(jobs_dir) if jobs_dir else root / "retrain-jobs",
            accuracy_window=accuracy_window,
            drift=drift or DriftSettings(),
            rate_limits=rate_limits or RateLimits(),
        )


def _positive_int(name: str, value: str | None, default: int) -> int:
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{name} must be a positive integer, got {value!r}") from None
    if number < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return number


def _float_in(name: str, value: str | None, default: float, upper: float | None = None) -> float:
    """A float above 0 (and below ``upper`` when given), or ``default`` when unset."""
    if value is None or value.strip() == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not (math.isfinite(number) and number > 0 and (upper is None or number < upper)):
        bound = f"between 0 and {upper}" if upper is not None else "above 0"
        raise ValueError(f"{name} must be {bound}, got {value!r}")
    return number
