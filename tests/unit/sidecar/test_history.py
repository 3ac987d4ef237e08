"""GET /history and /history/at, and the refused promotion shown in /health."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from mlproject.logstore import tables

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def record(engine, minutes, to_version, outcome, from_version=None, reason="test"):
    with engine.begin() as conn:
        conn.execute(
            sa.insert(tables.model_switches).values(
                switched_at=T0 + timedelta(minutes=minutes),
                model_name="iris-classifier",
                from_version=from_version,
                to_version=to_version,
                outcome=outcome,
                reason=reason,
            )
        )


def test_history_lists_switches_refusals_and_restarts_newest_first(client, engine):
    record(engine, 0, "1", "switched", reason="first start")
    record(engine, 5, "2", "switched", "1", "alias moved")
    record(engine, 9, "3", "refused", "2", "smoke prediction failed")
    items = client.get("/history").get_json()["items"]
    assert [(i["to_version"], i["outcome"]) for i in items] == [
        ("3", "refused"),
        ("2", "switched"),
        ("1", "switched"),
    ]
    refused = client.get("/history?outcome=refused").get_json()["items"]
    assert [i["reason"] for i in refused] == ["smoke prediction failed"]


def test_history_at_a_time_names_the_version_that_served_then(client, engine):
    record(engine, 0, "1", "switched")
    record(engine, 5, "2", "switched", "1")
    record(engine, 7, "3", "refused", "2")
    record(engine, 8, "2", "restarted", "2")
    at = client.get("/history/at", query_string={"time": (T0 + timedelta(minutes=3)).isoformat()})
    assert at.status_code == 200
    assert at.get_json()["model_version"] == "1"
    later = client.get("/history/at", query_string={"time": "2026-11-01T12:07:30Z"}).get_json()
    assert later["model_version"] == "2"
    assert later["switch"]["outcome"] == "switched"


def test_challenger_events_are_listed_but_never_count_as_the_version_serving(client, engine):
    record(engine, 0, "1", "switched")
    record(engine, 2, "2", "canary started", "1", "@challenger is version 2")
    record(engine, 3, "2", "canary restarted", "1", "exited; restarted")
    record(engine, 4, "2", "canary stopped", "1", "@challenger was removed")
    items = client.get("/history?outcome=canary started").get_json()["items"]
    assert [(i["from_version"], i["to_version"]) for i in items] == [("1", "2")]
    at = client.get("/history/at", query_string={"time": "2026-11-01T12:05:00Z"}).get_json()
    assert at["model_version"] == "1"


def test_history_at_a_time_before_any_switch_is_a_404(client, engine):
    record(engine, 0, "1", "switched")
    response = client.get("/history/at", query_string={"time": "2020-01-01T00:00:00Z"})
    assert response.status_code == 404
    assert response.get_json()["error"]


def test_history_refuses_bad_parameters_with_a_400(client):
    for query in ({"time": "yesterday"}, {"time": "1' OR '1'='1"}):
        assert client.get("/history/at", query_string=query).status_code == 400
    assert client.get("/history", query_string={"limit": "0"}).status_code == 400
    assert client.get("/history", query_string={"outcome": "exploded"}).status_code == 400


def test_health_shows_a_refused_promotion_until_a_later_switch(client, engine):
    record(engine, 0, "1", "switched")
    record(engine, 1, "2", "refused", "1", "version 2 failed to load: estimator.joblib missing")
    refused = client.get("/health").get_json()["refused_promotion"]
    assert refused["to_version"] == "2"
    assert "failed to load" in refused["reason"]
    record(engine, 2, "3", "switched", "1")
    assert client.get("/health").get_json()["refused_promotion"] is None


def test_health_reports_a_restart_of_the_scoring_process(client, engine):
    assert client.get("/health").get_json()["last_serving_event"] is None
    record(engine, 0, "1", "switched")
    record(engine, 3, "1", "restarted", "1", "scoring process pid 41 exited with -9")
    event = client.get("/health").get_json()["last_serving_event"]
    assert (event["outcome"], event["to_version"]) == ("restarted", "1")
    assert "-9" in event["reason"]
