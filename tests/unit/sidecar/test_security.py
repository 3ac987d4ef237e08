"""Security headers on every response; the token compared in constant time."""

from __future__ import annotations

import hmac
import re

import pytest

from sidecar.auth import tokens_match
from sidecar.security import HEADERS

from .conftest import TOKEN, auth

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("GET", "/", {"Accept": BROWSER_ACCEPT}, 200),
        ("GET", "/", {}, 200),
        ("GET", "/logs", {}, 200),
        ("GET", "/logs?limit=0", {}, 400),
        ("GET", "/nowhere", {}, 404),
        ("POST", "/logs", {}, 405),
        ("POST", "/retrain", {}, 401),
        ("GET", "/static/dashboard.js", {}, 200),
        ("GET", "/static/js/panels.js", {}, 200),
        ("GET", "/metrics", {}, 200),
    ],
)
def test_every_response_carries_the_security_headers(sqlite_app, method, path, headers, status):
    response = sqlite_app.test_client().open(path, method=method, headers=headers)
    assert response.status_code == status
    for name, value in HEADERS.items():
        assert response.headers.get(name) == value, name


def test_the_policy_allows_only_the_pages_own_scripts_styles_and_requests():
    policy = dict(part.split(" ", 1) for part in HEADERS["Content-Security-Policy"].split("; "))
    assert policy["default-src"] == "'none'"
    for directive in ("script-src", "style-src", "connect-src", "img-src"):
        assert policy[directive] == "'self'", directive
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in HEADERS["Content-Security-Policy"]


def test_the_page_has_no_inline_script_or_style_the_policy_would_block(sqlite_app):
    html = sqlite_app.test_client().get("/", headers={"Accept": BROWSER_ACCEPT}).get_data(True)
    assert "style=" not in html
    assert "<style" not in html
    assert all("src=" in tag for tag in html.split("<script")[1:])
    assert not re.search(r"\son[a-z]+\s*=", html)  # no inline event handlers


@pytest.mark.parametrize(
    ("supplied", "expected"),
    [(TOKEN, True), (TOKEN + "x", False), (TOKEN[:-1], False), ("", False), ("é" * 40, False)],
)
def test_tokens_match_only_when_equal(supplied, expected):
    assert tokens_match(supplied, TOKEN) is expected


def test_the_comparison_sees_equal_lengths_whatever_was_supplied(monkeypatch):
    seen = []
    real = hmac.compare_digest

    def spy(a, b):
        seen.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    for supplied in ("x", TOKEN, "y" * 10_000):
        tokens_match(supplied, TOKEN)
    assert seen == [(32, 32)] * 3


@pytest.mark.parametrize("header", ["Bearer wrong", "Bearer " + "a" * 5000, "Bearer \u00e9t\u00e9"])
def test_a_wrong_token_of_any_length_or_alphabet_is_a_401(client, header):
    response = client.post("/feedback", json={}, headers={"Authorization": header})
    assert response.status_code == 401
    assert TOKEN not in response.get_data(True)


def test_the_right_token_still_opens_the_door(client):
    assert client.post("/feedback", json={}, headers=auth()).status_code == 400
