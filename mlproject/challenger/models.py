"""The two versions of a trial as bare estimators: loaded once, nothing logged.

The registered pyfunc logs every prediction it makes; a shadow answer is not traffic, so
the scorer unwraps the pyfunc and calls its estimator directly. The entry point turns the
pyfunc's logging off (IRIS_PREDICTION_LOGGING=false) before any model loads, so loading
opens no spool and starts no shipper either.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import mlflow
import numpy as np

from mlproject.estimator import Classifier

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShadowModel:
    """One version's estimator and its class labels, in ``class_index`` order."""

    version: str
    estimator: Classifier  # predict_proba(array of FEATURES columns)
    classes: tuple[str, ...]

    def answer(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities, class index) per row of ``features``."""
        probabilities = self.estimator.predict_proba(features)
        return probabilities, probabilities.argmax(axis=1)


class ModelCache:
    """Versions loaded so far, keyed by version; only the versions asked for last are kept."""

    def __init__(self, model_name: str) -> None:
        self._model_name = model_name
        self._loaded: dict[str, ShadowModel] = {}

    def get(self, version: str) -> ShadowModel:
        """The version's model, loading it on first use (raises when it cannot be loaded)."""
        if version not in self._loaded:
            self._loaded[version] = load_version(self._model_name, version)
        return self._loaded[version]

    def keep_only(self, versions: set[str]) -> None:
        """Forget every version not in ``versions`` (a trial ended)."""
        self._loaded = {v: m for v, m in self._loaded.items() if v in versions}


def load_version(model_name: str, version: str) -> ShadowModel:
    """Load ``models:/<model_name>/<version>`` and take the estimator out of the pyfunc."""
    pyfunc = mlflow.pyfunc.load_model(f"models:/{model_name}/{version}")
    inner = pyfunc.unwrap_python_model()
    if getattr(inner, "_spool", None) is not None:
        raise RuntimeError("the shadow scorer must load models with prediction logging off")
    logger.info("loaded %s version %s for shadow scoring", model_name, version)
    return ShadowModel(version, inner._estimator, tuple(inner._classes))
