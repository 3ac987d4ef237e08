"""The served model: a custom pyfunc that validates its input and logs every prediction.

It travels inside the MLflow model (``code_paths``) and is instantiated by
``model_code.py`` (models-from-code), so nothing is pickled by reference. ``load_context``
builds everything that holds a resource (the estimator, the log-store engine and its
background writer); ``__init__`` holds nothing, because the object may be pickled.
``predict`` is called from several scoring-server threads at once: it keeps no per-call
state on ``self`` and the writer is thread-safe.
"""

from __future__ import annotations

import hmac
import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import joblib
import mlflow
import numpy as np
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

from mlproject.config import CLASSES, FEATURES, Settings
from mlproject.errors import InvalidInputError
from mlproject.validation import validate_batch

logger = logging.getLogger(__name__)


class IrisClassifier(mlflow.pyfunc.PythonModel):
    """Validates a batch, predicts species with probabilities, logs each row."""

    def load_context(self, context) -> None:
        """Load the estimator and, unless logging is off, start the log-store writer."""
        settings = Settings.from_env()
        config = dict(context.model_config or {})
        self._estimator = joblib.load(context.artifacts["estimator"])
        self._classes = [str(label) for label in self._estimator.classes_]
        if self._classes != list(CLASSES):
            raise MlflowException(f"estimator classes {self._classes} != {list(CLASSES)}")
        self._model_name = config.get("model_name") or settings.model_name
        self._run_id = config.get("run_id")
        self._model_version = settings.model_version or _registered_version(
            settings, self._model_name, self._run_id
        )
        self._writer = _start_writer(settings) if settings.prediction_logging else None
        self._smoke_token = settings.smoke_token
        logger.info(
            "loaded %s version %s (run %s); prediction log %s",
            self._model_name,
            self._model_version,
            self._run_id,
            "on" if self._writer else "off",
        )

    def predict(self, context, model_input, params: dict[str, Any] | None = None):
        """One record per input row: prediction, class index, probabilities, ids.

        Raises:
            MlflowException: INVALID_PARAMETER_VALUE (HTTP 400) naming the rows and columns
                at fault; the rejection is logged with its reason.
        """
        started = time.perf_counter()
        request_id = _request_id(params)
        try:
            features = validate_batch(model_input)
        except InvalidInputError as error:
            self._log_rejection(error, request_id)
            raise MlflowException(str(error), error_code=INVALID_PARAMETER_VALUE) from None
        probabilities = self._estimator.predict_proba(features)
        class_indexes = np.argmax(probabilities, axis=1)
        latency = time.perf_counter() - started
        now = datetime.now(UTC)
        outputs = []
        for row_probabilities, class_index in zip(probabilities, class_indexes, strict=True):
            outputs.append(
                {
                    "prediction": self._classes[class_index],
                    "class_index": int(class_index),
                    "probabilities": {
                        label: float(p)
                        for label, p in zip(self._classes, row_probabilities, strict=True)
                    },
                    "prediction_id": str(uuid.uuid4()),
                    "model_version": self._model_version,
                }
            )
        if self._writer is not None and not self._is_smoke_test(params):
            self._log_predictions(features, outputs, request_id, now, latency)
        return outputs

    def _is_smoke_test(self, params: dict[str, Any] | None) -> bool:
        """A supervisor's check of a new version: answered like any request, not traffic."""
        offered = str((params or {}).get("smoke_token") or "")
        return bool(self._smoke_token and offered) and hmac.compare_digest(
            offered, self._smoke_token
        )

    def _log_predictions(self, features, outputs, request_id, now, latency) -> None:
        from mlproject.logstore import PredictionRecord

        values = features.to_numpy()
        records = [
            PredictionRecord(
                prediction_id=output["prediction_id"],
                created_at=now,
                model_name=self._model_name,
                model_version=self._model_version,
                run_id=self._run_id,
                request_id=request_id,
                **{name: float(value) for name, value in zip(FEATURES, row, strict=True)},
                prediction=output["prediction"],
                class_index=output["class_index"],
                probabilities=output["probabilities"],
                latency_seconds=latency,
            )
            for row, output in zip(values, outputs, strict=True)
        ]
        self._writer.submit_predictions(records, latency)

    def _log_rejection(self, error: InvalidInputError, request_id: str | None) -> None:
        if self._writer is None:
            return
        from mlproject.logstore import RejectionRecord

        self._writer.submit_rejection(
            RejectionRecord(
                created_at=datetime.now(UTC),
                model_name=self._model_name,
                model_version=self._model_version,
                request_id=request_id,
                reason=error.reason,
                field=error.field,
                row_index=error.row,
                message=str(error)[:2000],
            )
        )


def _request_id(params: dict[str, Any] | None) -> str | None:
    value = (params or {}).get("request_id")
    if value in (None, ""):
        # The edge's X-Request-ID, set by serving.asgi for this request (None elsewhere).
        from mlproject.request_context import current_request_id

        value = current_request_id()
    return str(value)[:200] if value not in (None, "") else None


def _start_writer(settings: Settings):
    """The log-store engine and its writer: one per process, made here, never at import."""
    from mlproject.logstore import LogWriter, create_store_engine, install_shutdown_hooks

    writer = LogWriter(create_store_engine(settings.log_store_url))
    writer.start()
    install_shutdown_hooks(writer)
    return writer


def _registered_version(settings: Settings, name: str, run_id: str | None) -> str:
    """The registry's version number for the run that logged this model, or "unregistered"."""
    if not run_id:
        return "unregistered"
    try:
        from mlproject.registry import version_for_run

        return version_for_run(settings.tracking_uri, name, run_id) or "unregistered"
    except Exception as exc:  # noqa: BLE001 - serving must start even without a registry
        logger.warning("could not look up the registered version of run %s: %s", run_id, exc)
        return "unknown"
