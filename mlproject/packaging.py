"""Package the chosen estimator as the custom pyfunc and register it.

Models-from-code: ``python_model`` is the path of ``model_code.py`` and the whole
``mlproject`` package travels in ``code_paths``, so the served model needs only its pinned
pip requirements, not this repository.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from importlib.metadata import version as installed_version
from pathlib import Path

import joblib
import mlflow
from mlflow.models import infer_signature

from mlproject.config import FEATURES
from mlproject.data import Split
from mlproject.reference import build_reference

PACKAGE_DIR = Path(__file__).resolve().parent
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


def log_and_register(estimator, split: Split, model_name: str, digest: str, candidate: str) -> str:
    """Log the pyfunc in the active run, register it, and return the new version number."""
    example = split.x_test.head(3).reset_index(drop=True)
    run = mlflow.active_run()
    with tempfile.TemporaryDirectory() as folder:
        folder_path = Path(folder)
        estimator_path = folder_path / "estimator.joblib"
        joblib.dump(estimator, estimator_path)
        reference_path = folder_path / "drift_reference.json"
        reference_path.write_text(json.dumps(build_reference(split.x_train)))
        example_output = _example_output(estimator, example)
        with warnings.catch_warnings():
            # class_index is an int by design; MLflow's hint about NaN in ints does not apply.
            warnings.simplefilter("ignore", UserWarning)
            signature = infer_signature(example, example_output, params={"request_id": ""})
            info = _log_model(
                estimator_path,
                reference_path,
                signature,
                example,
                model_name,
                run.info.run_id if run else None,
                digest,
                candidate,
            )
    return str(info.registered_model_version)


def _log_model(
    estimator_path, reference_path, signature, example, model_name, run_id, digest, candidate
):
    return mlflow.pyfunc.log_model(
        name="model",
        python_model=str(MODEL_CODE),
        code_paths=[str(PACKAGE_DIR)],
        artifacts={
            "estimator": str(estimator_path),
            "drift_reference": str(reference_path),
        },
        signature=signature,
        input_example=example,
        pip_requirements=pip_requirements(),
        model_config={
            "model_name": model_name,
            "run_id": run_id,
            "data_digest": digest,
            "candidate": candidate,
        },
        registered_model_name=model_name,
    )


def _example_output(estimator, example) -> list[dict]:
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
