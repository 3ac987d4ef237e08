"""``GET /openapi.json``: the sidecar's OpenAPI 3.1 description, generated from its routes.

Paths and methods come from the app's URL map and each summary from its view's docstring;
what each takes and answers comes from ``operations.OPERATIONS`` beside them. A route
without an entry there still appears (so the document never hides an endpoint), and
tests/unit/sidecar/test_openapi.py fails until it has one.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify

from .operations import OPERATIONS
from .schemas import SCHEMAS

bp = Blueprint("openapi", __name__)

EXCLUDED_RULES = frozenset({"/static/<path:filename>"})  # the dashboard's own files
IMPLICIT_METHODS = frozenset({"HEAD", "OPTIONS"})  # answered by Flask for every route
_EXTENSION = "sidecar.openapi"
_CONVERTER = re.compile(r"<(?:[a-z_]+:)?([A-Za-z_][A-Za-z0-9_]*)>")


def openapi_path(rule: str) -> str:
    """A Flask rule in OpenAPI's spelling: ``/retrain/<job_id>`` is ``/retrain/{job_id}``."""
    return _CONVERTER.sub(r"{\1}", rule)


def routes(app: Flask) -> list[tuple[str, str, str]]:
    """``(method, OpenAPI path, endpoint)`` of every route the document describes."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.rule in EXCLUDED_RULES:
            continue
        for method in sorted((rule.methods or set()) - IMPLICIT_METHODS):
            found.append((method, openapi_path(rule.rule), rule.endpoint))
    return sorted(found, key=lambda item: (item[1], item[0]))


def summary(app: Flask, endpoint: str) -> str:
    """The first paragraph of the view's docstring, on one line, without reST quotes."""
    doc = (app.view_functions[endpoint].__doc__ or endpoint).strip()
    paragraph = doc.split("\n\n", 1)[0]
    return " ".join(line.strip() for line in paragraph.splitlines()).replace("``", "")


def build_document(app: Flask) -> dict[str, Any]:
    """The whole OpenAPI document for ``app``."""
    paths: dict[str, dict[str, Any]] = {}
    for method, path, endpoint in routes(app):
        operation = {"summary": summary(app, endpoint), "operationId": endpoint}
        operation.update(
            OPERATIONS.get((method, path))
            or {"responses": {"default": {"description": "undocumented"}}}
        )
        paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "iris sidecar",
            "version": "1",
            "description": (
                "Prediction log, samples, feedback, retraining, history, drift, the challenger "
                "trial and metrics of "
                "the served iris classifier. Errors are JSON {error, message}."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "SIDECAR_TOKEN"}
            },
        },
    }


def init_openapi(app: Flask) -> None:
    """Register ``GET /openapi.json``; call after every other route is registered."""
    app.register_blueprint(bp)
    app.extensions[_EXTENSION] = build_document(app)


@bp.get("/openapi.json")
def openapi_json():
    """This service's OpenAPI description."""
    return jsonify(current_app.extensions[_EXTENSION])
