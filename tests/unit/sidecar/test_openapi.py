"""GET /openapi.json: a valid OpenAPI 3.1 document that agrees with the app's routes."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

from sidecar.openapi import EXCLUDED_RULES, openapi_path, routes
from sidecar.openapi.operations import OPERATIONS


def document(client) -> dict:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.is_json
    return response.get_json()


def test_the_document_is_valid_openapi_3_1(sqlite_app):
    body = document(sqlite_app.test_client())
    assert body["openapi"] == "3.1.0"
    validate(body)  # raises on any violation of the OpenAPI 3.1 schema


def test_every_route_is_described(sqlite_app):
    undescribed = [(m, p) for m, p, _ in routes(sqlite_app) if (m, p) not in OPERATIONS]
    assert undescribed == []


def test_every_described_operation_is_a_route(sqlite_app):
    served = {(m, p) for m, p, _ in routes(sqlite_app)}
    assert set(OPERATIONS) - served == set()


def test_the_document_lists_exactly_the_routes_of_the_app(sqlite_app):
    paths = document(sqlite_app.test_client())["paths"]
    listed = {(m.upper(), p) for p, ops in paths.items() for m in ops}
    assert listed == {(m, p) for m, p, _ in routes(sqlite_app)}
    rules = {r.rule for r in sqlite_app.url_map.iter_rules()} - EXCLUDED_RULES
    assert {openapi_path(r) for r in rules} == set(paths)


def test_every_path_parameter_is_declared(sqlite_app):
    paths = document(sqlite_app.test_client())["paths"]
    for path, operations in paths.items():
        names = set(re.findall(r"{(\w+)}", path))
        for operation in operations.values():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == names, path


def test_write_endpoints_declare_the_bearer_token_and_its_refusals(sqlite_app):
    paths = document(sqlite_app.test_client())["paths"]
    for path in ("/feedback", "/retrain"):
        operation = paths[path]["post"]
        assert operation["security"] == [{"bearer": []}]
        assert {"401", "429"} <= set(operation["responses"]), path


def test_flask_rules_become_openapi_paths():
    assert openapi_path("/retrain/<job_id>") == "/retrain/{job_id}"
    assert openapi_path("/a/<int:n>/<path:rest>") == "/a/{n}/{rest}"


def test_the_json_index_lists_what_the_document_describes(sqlite_app):
    client = sqlite_app.test_client()
    index = client.get("/", headers={"Accept": "application/json"}).get_json()["endpoints"]
    paths = document(client)["paths"]
    assert set(index) == {f"{m.upper()} {p}" for p, ops in paths.items() for m in ops}
    assert all(summary and "``" not in summary for summary in index.values())
