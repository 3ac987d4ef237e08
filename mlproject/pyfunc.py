"""The served model: a custom pyfunc that validates its input and logs every prediction.

It travels inside the MLflow model (``code_paths``) and is instantiated by
``model_code.py`` (models-from-code), so nothing is pickled by reference. ``load_context``
builds everything that holds a resource (the estimator, the spool writer and, under a bare
``mlflow models serve``, the watch that starts a log shipper); ``__init__`` holds nothing,
because the object may be pickled. ``predict`` is called from several scoring-server
threads at once: it keeps no per-call state on ``self``, and the spool writer is
thread-safe.

The request path logs by appending one binary frame per request to a local spool before
the answer leaves (see ``mlproject.logstore.spool``); the shipper process loads it into the
SQL store. No SQL and no per-row logging objects here.
"""

from __future__ import annotations

import hmac
import logging
import time
from typing import TYPE_CHECKING, Any

import joblib
import numpy as np
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.pyfunc.model import PythonModel, PythonModelContext

from mlproject import request_checks
from mlproject.config import CLASSES, FEATURES, Settings
from mlproject.errors import InvalidInputError
from mlproject.estimator_input import array_estimator
from mlproject.logstore import frames
from mlproject.logstore.ids import IdSource
from mlproject.validation import validate_features

if TYPE_CHECKING:
    from mlproject.logstore.autostart import ShipperWatch
    from mlproject.logstore.spool import SpoolWriter

logger = logging.getLogger(__name__)


class IrisClassifier(PythonModel):
    """Validates a batch, predicts species with probabilities, logs each request."""

    def load_context(self, context: PythonModelContext) -> None:
        """Load the estimator and, unless logging is off, open the spool."""
        settings = Settings.from_env()
        config = dict(context.model_config or {})
        estimator = joblib.load(context.artifacts["estimator"])
        self._classes = [str(label) for label in estimator.classes_]
        if self._classes != list(CLASSES):
            raise MlflowException(f"estimator classes {self._classes} != {list(CLASSES)}")
        self._estimator = array_estimator(estimator)
        self._labels = np.array(self._classes, dtype=object)
        self._model_name = config.get("model_name") or settings.model_name
        self._run_id = config.get("run_id")
        self._model_version = settings.model_version or _registered_version(
            settings, self._model_name, self._run_id
        )
        # Set by the serving supervisor: a challenger's canary answers are logged as such.
        self._role = settings.model_role
        self._ids = IdSource()
        self._smoke_token = settings.smoke_token
        self._spool = self._watch = None
        if settings.prediction_logging:
            self._spool, self._watch = _open_spool(settings, self._log_context())
        logger.info(
            "loaded %s version %s (run %s) as %s; prediction log %s",
            self._model_name,
            self._model_version,
            self._run_id,
            self._role,
            f"spooled to {self._spool.folder}" if self._spool else "off",
        )

    # No type hints on purpose: MLflow reads predict's hints to convert and validate its
    # input (and would then bypass the signature's handling this model is tested with).
    def predict(self, context, model_input, params: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
        """One record per input row: prediction, class index, probabilities, ids.

        Raises:
            MlflowException: INVALID_PARAMETER_VALUE (HTTP 400) naming the rows and columns
                at fault; the rejection is logged with its reason.
        """
        started = time.perf_counter()
        request_id = request_checks.request_id(params)
        try:
            request_id = request_checks.checked_request_id(request_id)
            values = validate_features(model_input)
            request_checks.refuse_repeated_index(model_input)
        except InvalidInputError as error:
            self._log_rejection(error, request_id, params)
            raise MlflowException(str(error), error_code=INVALID_PARAMETER_VALUE) from None
        probabilities = self._estimator.predict_proba(values)
        class_index = probabilities.argmax(axis=1)
        latency = time.perf_counter() - started
        raw_ids, ids = self._ids.take(len(values))
        if self._spool is not None and not self._is_smoke_test(params):
            frame = frames.predictions_frame(
                time.time(),
                latency,
                (request_id or "").encode(),
                raw_ids,
                values,
                probabilities,
                class_index.astype(np.uint8),
            )
            self._spool.append(frame, len(values), latency)
        version, classes = self._model_version, self._classes
        return [
            {
                "prediction": label,
                "class_index": index,
                "probabilities": dict(zip(classes, row, strict=True)),
                "prediction_id": prediction_id,
                "model_version": version,
            }
            for label, index, row, prediction_id in zip(
                self._labels[class_index].tolist(),
                class_index.tolist(),
                probabilities.tolist(),
                ids,
                strict=True,
            )
        ]

    def _is_smoke_test(self, params: dict[str, Any] | None) -> bool:
        """A supervisor's check of a new version: answered like any request, not traffic."""
        offered = str((params or {}).get("smoke_token") or "")
        token = self._smoke_token
        if not token or not offered:
            return False
        return hmac.compare_digest(offered, token)

    def _log_context(self) -> dict[str, Any]:
        return {
            "model_name": self._model_name,
            "model_version": self._model_version,
            "run_id": self._run_id,
            "role": self._role,
            "classes": self._classes,
            "features": list(FEATURES),
        }

    def _log_rejection(
        self, error: InvalidInputError, request_id: str | None, params: dict[str, Any] | None
    ) -> None:
        if self._spool is None or self._is_smoke_test(params):
            return
        self._spool.append(
            frames.rejection_frame(
                {
                    "rejection_id": self._ids.take(1)[1][0],
                    "created_at": time.time(),
                    "request_id": request_checks.printable(request_id or "")[:200] or None,
                    "reason": error.reason,
                    "field": error.field,
                    "row_index": error.row,
                    "message": str(error)[:2000],
                }
            ),
            1,
        )


def _open_spool(
    settings: Settings, context: dict[str, Any]
) -> tuple[SpoolWriter, ShipperWatch | None]:
    """This process's spool writer and, in ``auto`` mode, the watch that starts a shipper."""
    from mlproject.logstore import layout
    from mlproject.logstore.autostart import ShipperWatch
    from mlproject.logstore.spool import SpoolWriter

    folder = layout.spool_folder(settings.spool_dir, settings.log_store_url)
    writer = SpoolWriter(
        folder,
        context,
        max_bytes=settings.spool_max_bytes,
        fsync=settings.log_durability == "fsync",
    )
    try:
        layout.prepare(folder, settings.log_store_url)
        writer.open()
    except OSError as exc:  # serve anyway: drops are counted until the folder works
        logger.error("prediction log spool %s not writable yet: %s", folder, exc)
    watch = None
    if settings.log_shipper == "auto":
        watch = ShipperWatch(folder, settings.log_store_url)
        watch.start()
    return writer, watch


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
