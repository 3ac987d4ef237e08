"""What each scoring process runs: MLflow's own scoring app inside ``serving.guard``, its
error answers without stack traces (``serving.quiet_errors``).

Started by the supervisor as ``uvicorn --factory serving.asgi:create_app`` with the same
environment ``mlflow models serve`` sets (``__pyfunc_model_path__``, the request timeout).

Import order matters. The model travels with its own copy of the ``mlproject`` package
(``code_paths``), which MLflow puts first on ``sys.path`` while loading the model. So
MLflow's app (which loads the model) is imported first, and only then
``mlproject.request_context``, from the model's copy: the module the pyfunc reads is then
the module this wrapper writes. Nothing here imports ``mlproject`` at module level.
"""

from __future__ import annotations

import logging
import os

from serving import response_json
from serving.guard import DEFAULT_MAX_BODY, RequestGuard
from serving.quiet_errors import HideStackTraces

logger = logging.getLogger(__name__)

MAX_BODY_VARIABLE = "SCORING_MAX_BODY"


def create_app():
    """MLflow's scoring app for the model in ``__pyfunc_model_path__``, guarded."""
    from mlflow.pyfunc.scoring_server.app import app as mlflow_app  # loads the model

    response_json.install()  # the same bytes, by the C encoder

    try:
        from mlproject.request_context import REQUEST_ID
    except ImportError:
        # A model registered before request ids existed: its pyfunc would not read it.
        logger.warning("the model's code has no mlproject.request_context; request ids off")
        REQUEST_ID = None  # noqa: N806 - the same name as the imported variable
    max_body = int(os.environ.get(MAX_BODY_VARIABLE) or DEFAULT_MAX_BODY)
    return RequestGuard(HideStackTraces(mlflow_app), max_body=max_body, request_id=REQUEST_ID)
