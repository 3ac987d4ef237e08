"""Package the chosen estimator as the custom pyfunc, and log or save it.

Models-from-code: ``python_model`` is the path of ``model_code.py`` and the whole
``mlproject`` package travels in ``code_paths``, so the served model needs only its pinned
pip requirements, not this repository.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

import joblib
import mlflow
import pandas as pd
from mlflow.models import infer_signature

from mlproject.cbpe import ARTIFACT_FILE as CALIBRATION_FILE
from mlproject.config import FEATURES
from mlproject.data import Split
from mlproject.estimator import Classifier
from mlproject.reference import build_reference

PACKAGE_DIR = Path(__file__).resolve().parent
# Params a request may carry (MLflow drops any not declared here): an id stored with the
# prediction, and the serving supervisor's smoke-test token (see pyfunc).
PARAMS = {"request_id": "", "smoke_token": ""}  # nosec B105 # empty defaults, no secret
MODEL_CODE = PACKAGE_DIR / "model_code.py"

# What the served model imports; pinned to what trained it.
_RUNTIME_PACKAGES = (
    "mlflow",
    "scikit-learn",
    "pandas",
    "numpy",
    "scipy",
    "joblib",
    "sqlalchemy",
    "alembic",
    "requests",
)


def pip_requirements() -> list[str]:
    """Pinned requirements of the served model, from the versions installed here."""
    pins = [f"{name}=={installed_version(name)}" for name in _RUNTIME_PACKAGES]
    pins.append(f"psycopg[binary]=={installed_version('psycopg')}")
    return pins


def log_and_register(
    estimator: Classifier,
    split: Split,
    model_name: str,
    digest: str,
    candidate: str,
    calibration: dict[str, Any] | None = None,
) -> str:
    """Log the pyfunc in the active run, register it, and return the new version number.

    ``calibration`` (``mlproject.cbpe``) travels as the artifact ``cbpe_calibration.json``
    for the sidecar's label-free accuracy estimate; the model itself never reads it.
    """
    run = mlflow.active_run()
    run_id = run.info.run_id if run else None
    with _model_arguments(
        estimator, split, model_name, run_id, digest, candidate, calibration
    ) as arguments:
        info = mlflow.pyfunc.log_model(name="model", registered_model_name=model_name, **arguments)
    return str(info.registered_model_version)


def save_model(
    path: Path, estimator: Classifier, split: Split, model_name: str, digest: str
) -> None:
    """Save the pyfunc to a local folder, unregistered (for tests and offline use)."""
    with _model_arguments(estimator, split, model_name, None, digest, "local") as arguments:
        mlflow.pyfunc.save_model(path=str(path), **arguments)


@contextmanager
def _model_arguments(
    estimator: Classifier,
    split: Split,
    model_name: str,
    run_id: str | None,
    digest: str,
    candidate: str,
    calibration: dict[str, Any] | None = None,
) -> Iterator[dict[str, Any]]:
    """Keyword arguments shared by log_model and save_model; files live for the block."""
    example = split.x_test.head(3).reset_index(drop=True)
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        # class_index is an int by design (MLflow hints about NaN in ints), and predict's
        # signature is given explicitly (MLflow hints about type hints): both do not apply.
        warnings.simplefilter("ignore", UserWarning)
        estimator_path = Path(folder) / "estimator.joblib"
        joblib.dump(estimator, estimator_path)
        reference_path = Path(folder) / "drift_reference.json"
        reference_path.write_text(json.dumps(build_reference(split.x_train)))
        artifacts = {"estimator": str(estimator_path), "drift_reference": str(reference_path)}
        if calibration is not None:
            calibration_path = Path(folder) / CALIBRATION_FILE
            calibration_path.write_text(json.dumps(calibration))
            artifacts["cbpe_calibration"] = str(calibration_path)
        yield {
            "python_model": str(MODEL_CODE),
            "code_paths": [str(PACKAGE_DIR)],
            "artifacts": artifacts,
            "signature": infer_signature(
                example, _example_output(estimator, example), params=PARAMS
            ),
            "input_example": example,
            "pip_requirements": pip_requirements(),
            "model_config": {
                "model_name": model_name,
                "run_id": run_id,
                "data_digest": digest,
                "candidate": candidate,
            },
        }


def _example_output(estimator: Classifier, example: pd.DataFrame) -> list[dict[str, Any]]:
    """An output shaped like the pyfunc's, for the signature (ids are placeholders)."""
    probabilities = estimator.predict_proba(example.loc[:, list(FEATURES)])
    classes = [str(label) for label in estimator.classes_]
    return [
        {
            "prediction": classes[int(row.argmax())],
            "class_index": int(row.argmax()),
            "probabilities": {label: float(p) for label, p in zip(classes, row, strict=True)},
            "prediction_id": "00000000-0000-0000-0000-000000000000",
            "model_version": "0",
        }
        for row in probabilities
    ]
