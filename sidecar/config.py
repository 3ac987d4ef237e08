"""The sidecar's settings: the project's Settings plus what only the sidecar reads."""

from __future__ import annotations

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
)


@dataclass(frozen=True)
class SidecarSettings:
    """Everything the sidecar needs, read once at start-up and passed down.

    Environment variables, besides those of ``mlproject.config.Settings``:
      IRIS_PROJECT_DIR      the MLflow Project that /retrain runs (default: the repo root)
      IRIS_DATA_PATH        the versioned CSV /sample draws from (default data/iris.csv there)
      IRIS_JOBS_DIR         where each retrain job keeps its output (default retrain-jobs there)
      IRIS_ACCURACY_WINDOW  how many latest labelled predictions iris_live_accuracy covers
    """

    project: Settings = field(default_factory=Settings)
    project_dir: Path = DEFAULT_PROJECT_DIR
    data_path: Path = DEFAULT_PROJECT_DIR / "data" / "iris.csv"
    jobs_dir: Path = DEFAULT_PROJECT_DIR / "retrain-jobs"
    accuracy_window: int = 200

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
        )

    @classmethod
    def build(
        cls,
        project: Settings | None = None,
        project_dir: Path | str = DEFAULT_PROJECT_DIR,
        data_path: Path | str | None = None,
        jobs_dir: Path | str | None = None,
        accuracy_window: int = 200,
    ) -> SidecarSettings:
        """Settings whose data and jobs paths default to places under ``project_dir``."""
        root = Path(project_dir).resolve()
        return cls(
            project=project or Settings(),
            project_dir=root,
            data_path=Path(data_path) if data_path else root / "data" / "iris.csv",
            jobs_dir=Path(jobs_dir) if jobs_dir else root / "retrain-jobs",
            accuracy_window=accuracy_window,
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
