"""Injection and traversal strings on every parameter the sidecar describes.

The parameters come from the app's own OpenAPI document (query, path and JSON body
fields), so a parameter added later is tried too. Each hostile value must get an answer
below 500 that carries no stack trace, SQL, file content or injected header, and must
change nothing in the store. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote, urlsplit

import pytest

from .conftest import TOKEN, auth
from .seeding import row_counts, seed_series

HOSTILE = [
    # SQL
    "1' OR '1'='1",
    "1; DROP TABLE predictions; --",
    "' UNION SELECT prediction_id, NULL FROM predictions --",
    "%' OR 1=1; DELETE FROM feedback; --",
    # traversal
    "../../../../../../etc/passwd",
    "..%2f..%2f..%2fetc%2fpasswd",
    "....//....//....//etc/passwd",
    "/etc/passwd",
    "..\\..\\..\\windows\\win.ini",
    "file:///etc/passwd",
    # templates, scripts, shells, format strings
    "{{7*7}}{% print(1) %}",
    "${7*7}#{7*7}",
    "<script>alert(1)</script>",
    "$(id)`id`|id;id",
    "%s%s%s%n{0.__class__}",
    # headers and encodings
    "a\r\nX-Injected: 1",
    "\u202egnp.exe",
    "\x00",
    "A" * 5000,
]
# What a hostile value must never bring back.
LEAKS = re.compile(
    r"Traceback|File \"|\[SQL:|sqlalchemy|psycopg|SELECT |INSERT INTO|root:x:0:0|\[fonts\]"
    + "|"
    + re.escape(TOKEN)
)
BODY_SCHEMAS = {"FeedbackRequest", "RetrainRequest"}


def described_parameters(document: dict) -> list[tuple[str, str, str, str]]:
    """``(method, path, where, name)`` of every parameter and body field in ``document``."""
    found = []
    schemas = document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                found.append((method.upper(), path, parameter["in"], parameter["name"]))
            content = operation.get("requestBody", {}).get("content", {})
            for media in content.values():
                name = media["schema"]["$ref"].rsplit("/", 1)[1]
                for field in schemas[name]["properties"]:
                    found.append((method.upper(), path, "body", field))
    return found


def without_echo(text: str, value: str) -> str:
    """``text`` less the refused value the sidecar echoes (whole, cut, or split at commas)."""
    forms = (json.dumps(value, ensure_ascii=False)[1:-1], json.dumps(value)[1:-1], value)
    removed = True
    while removed:
        removed = False
        for echo in forms:
            for n in range(len(echo), 7, -1):
                if echo[:n] in text:
                    text, removed = text.replace(echo[:n], ""), True
                    break
    return text


def send(client, method: str, path: str, where: str, name: str, value: str):
    """One request with ``value`` in parameter ``name``; the others left at their defaults."""
    headers = auth()
    if where == "path":
        url = path.replace("{" + name + "}", quote(value, safe=""))
        return client.open(url, method=method, headers=headers)
    url = re.sub(r"\{[^}]+\}", "00000000-0000-7000-8000-000000000000", path)
    if where == "query":
        return client.open(url, method=method, headers=headers, query_string={name: value})
    body = {"prediction_id": "00000000-0000-7000-8000-000000000000", "label": "setosa"}
    body = {name: value} if path == "/retrain" else {**body, name: value}
    return client.open(url, method=method, headers=headers, json=body)


def test_every_described_parameter_is_tried(client):
    """Guards the test below against an empty or shrinking list."""
    tried = described_parameters(client.get("/openapi.json").get_json())
    names = {name for *_, name in tried}
    assert {"model_version", "since", "cursor", "time", "n", "job_id", "label"} <= names
    assert {"prediction_id", "candidates", "include_feedback"} <= names
    assert len(tried) >= 20


@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v)[:24])
def test_hostile_values_in_every_parameter_are_refused_or_harmless(client, engine, value):
    seed_series(engine, 3)
    before = row_counts(engine)
    answers = []
    for method, path, where, name in described_parameters(client.get("/openapi.json").get_json()):
        response = send(client, method, path, where, name, value)
        text = response.get_data(as_text=True)
        answers.append((method, path, name, response.status_code))
        assert response.status_code < 500, (method, path, name, text[:300])
        assert not LEAKS.search(without_echo(text, value)), (method, path, name, text[:300])
        assert "X-Injected" not in response.headers, (method, path, name)
        if method == "POST":  # no write may be accepted with a hostile value
            assert response.status_code in (400, 404, 413), (method, path, name, text[:300])
    assert row_counts(engine) == before
    assert len(answers) >= 20


@pytest.mark.parametrize(
    "path",
    [
        "/static/../../../../etc/passwd",
        "/static/..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/static/%2e%2e/%2e%2e/sidecar/config.py",
        "/static//etc/passwd",
        "/static/js/../../config.py",
        "/retrain/..%2F..%2Fetc%2Fpasswd",
    ],
)
def test_traversal_through_a_path_reaches_no_file_outside_the_static_folder(client, path):
    response = client.get(path, headers=auth())
    text = response.get_data(as_text=True)
    if response.status_code == 308:  # werkzeug merges "//": the redirect stays in /static/
        location = urlsplit(response.headers["Location"])
        assert (location.netloc, location.path) == ("localhost", "/static/etc/passwd")
        response = client.get(location.path, headers=auth())
        text = response.get_data(as_text=True)
    assert response.status_code in (400, 404), (path, response.status_code)
    assert "root:x:0:0" not in text and "SIDECAR_TOKEN" not in text
