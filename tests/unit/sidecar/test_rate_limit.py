"""Per-client token buckets on POST /feedback and POST /retrain: 429 with Retry-After."""

from __future__ import annotations

import uuid

import pytest

from sidecar.config import RateLimit, RateLimits, SidecarSettings
from sidecar.ratelimit import TokenBuckets

from .conftest import auth


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_client_gets_its_burst_then_waits_for_the_refill():
    clock = Clock()
    buckets = TokenBuckets(RateLimit(per_minute=60, burst=3), clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [None, None, None]
    assert buckets.take("a") == pytest.approx(1.0)
    clock.now += 0.5
    assert buckets.take("a") == pytest.approx(0.5)
    clock.now += 0.5
    assert buckets.take("a") is None


def test_a_bucket_never_holds_more_than_its_burst():
    clock = Clock()
    buckets = TokenBuckets(RateLimit(per_minute=600, burst=2), clock=clock)
    buckets.take("a")
    clock.now += 3600
    assert [buckets.take("a") is None for _ in range(3)] == [True, True, False]


def test_clients_have_buckets_of_their_own():
    buckets = TokenBuckets(RateLimit(per_minute=1, burst=1), clock=Clock())
    assert buckets.take("a") is None
    assert buckets.take("a") is not None
    assert buckets.take("b") is None


def test_the_least_recently_seen_client_is_forgotten_past_the_bound():
    buckets = TokenBuckets(RateLimit(per_minute=1, burst=1), max_clients=2, clock=Clock())
    for client in ("a", "b", "c"):
        assert buckets.take(client) is None
    assert len(buckets._buckets) == 2
    assert buckets.take("a") is None  # forgotten, so a full bucket again
    assert buckets.take("c") is not None


def test_limits_come_from_the_environment_and_refuse_nonsense():
    settings = SidecarSettings.from_env(
        {"IRIS_FEEDBACK_RATE_PER_MINUTE": "30", "IRIS_RETRAIN_BURST": "2"}
    )
    assert settings.rate_limits.feedback == RateLimit(per_minute=30, burst=200)
    assert settings.rate_limits.retrain == RateLimit(per_minute=6, burst=2)
    with pytest.raises(ValueError, match="IRIS_RETRAIN_BURST"):
        SidecarSettings.from_env({"IRIS_RETRAIN_BURST": "0"})


def test_every_limited_route_is_a_route_of_the_app(sqlite_app):
    routes = {(m, r.rule) for r in sqlite_app.url_map.iter_rules() for m in r.methods or ()}
    assert set(RateLimits().by_route()) <= routes


TIGHT = RateLimits(
    feedback=RateLimit(per_minute=1, burst=2), retrain=RateLimit(per_minute=1, burst=1)
)


def test_feedback_past_the_burst_is_429_with_retry_after(make_app, sqlite_url):
    client = make_app(sqlite_url, rate_limits=TIGHT).test_client()
    body = {"prediction_id": str(uuid.uuid4()), "label": "setosa"}
    statuses = [client.post("/feedback", json=body, headers=auth()).status_code for _ in range(3)]
    assert statuses == [202, 202, 429]
    response = client.post("/feedback", json=body, headers=auth())
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert response.get_json()["error"] == "too_many_requests"
    assert "retry after" in response.get_json()["message"]


def test_wrong_tokens_use_up_the_retrain_bucket_before_the_token_is_checked(make_app, sqlite_url):
    client = make_app(sqlite_url, rate_limits=TIGHT).test_client()
    wrong = {"Authorization": "Bearer guess"}
    assert client.post("/retrain", headers=wrong).status_code == 401
    assert client.post("/retrain", headers=wrong).status_code == 429
    assert client.post("/retrain", headers=auth()).status_code == 429


def test_another_client_is_not_limited_by_the_first(make_app, sqlite_url):
    client = make_app(sqlite_url, rate_limits=TIGHT).test_client()
    first = {"REMOTE_ADDR": "192.0.2.1"}
    second = {"REMOTE_ADDR": "192.0.2.2"}
    body = {"prediction_id": str(uuid.uuid4()), "label": "setosa"}
    for _ in range(2):
        client.post("/feedback", json=body, headers=auth(), environ_base=first)
    assert (
        client.post("/feedback", json=body, headers=auth(), environ_base=first).status_code == 429
    )
    assert (
        client.post("/feedback", json=body, headers=auth(), environ_base=second).status_code == 202
    )


def test_reads_are_not_limited(make_app, sqlite_url):
    client = make_app(sqlite_url, rate_limits=TIGHT).test_client()
    assert {client.get("/logs?limit=1").status_code for _ in range(20)} == {200}
