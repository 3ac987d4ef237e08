"""MLflow's response body, written by the C JSON encoder instead of the pure-Python one.

MLflow's scoring app writes ``{"predictions": ...}`` with ``json.dump(obj, stream,
cls=NumpyEncoder)``. ``json.dump`` to a stream always takes the standard library's
pure-Python encoder (``iterencode`` with ``_one_shot=False``); ``json.dumps`` takes the C
encoder. Same encoder class, same options, so the same bytes, about 3x faster: 1.46 ms
against 0.43 ms for a 100-row answer (docs/PERFORMANCE.md).

``install()`` swaps ``mlflow.pyfunc.scoring_server.predictions_to_json``, which the app
looks up by module global on every request. tests/unit/serving/test_response_json.py proves
the bytes equal MLflow's own for every shape a pyfunc can return, and fails on an MLflow
upgrade that changes the function we replace (its source digest is pinned below): re-check
this module then, and update the digest.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
from typing import Any, TextIO

logger = logging.getLogger(__name__)

# SHA-256 of inspect.getsource(mlflow.pyfunc.scoring_server.predictions_to_json) this module
# was checked against (MLflow 3.x).
CHECKED_SOURCE_SHA256 = "b90634da9dd3be375e6bbb2aab6284015913ad6aedb328a098ec45e2db039684"


def predictions_to_json(raw_predictions: Any, output: TextIO, metadata: dict | None = None):
    """``mlflow.pyfunc.scoring_server.predictions_to_json``, encoded in one C call."""
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
    from mlflow.utils.proto_json_utils import NumpyEncoder, _get_jsonable_obj

    if metadata and "predictions" in metadata:
        raise MlflowException(
            "metadata cannot contain 'predictions' key", error_code=INVALID_PARAMETER_VALUE
        )
    predictions = _get_jsonable_obj(raw_predictions, pandas_orient="records")
    output.write(json.dumps({"predictions": predictions, **(metadata or {})}, cls=NumpyEncoder))


def original_source_digest() -> str:
    """The digest of the installed MLflow's own ``predictions_to_json`` source."""
    from mlflow.pyfunc import scoring_server

    original = getattr(scoring_server, "_mlflow_predictions_to_json", None)
    source = inspect.getsource(original or scoring_server.predictions_to_json)
    return hashlib.sha256(source.encode()).hexdigest()


def install() -> None:
    """Make MLflow's scoring app write its answers with ``predictions_to_json`` above."""
    from mlflow.pyfunc import scoring_server

    if scoring_server.predictions_to_json is predictions_to_json:
        return
    scoring_server._mlflow_predictions_to_json = scoring_server.predictions_to_json
    scoring_server.predictions_to_json = predictions_to_json
