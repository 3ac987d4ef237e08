"""GET /logs: newest first, filters, limits, keyset cursor, and refusals that name the fault."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mlproject.config import FEATURES

from .conftest import auth
from .seeding import T0, prediction_record, row_counts, seed, seed_series


def test_logs_lists_predictions_newest_first_with_every_field(client, engine):
    records = seed_series(engine, 5)
    body = client.get("/logs").get_json()
    assert [item["prediction_id"] for item in body["items"]] == [
        r.prediction_id for r in reversed(records)
    ]
    assert body["next_cursor"] is None
    item, newest = body["items"][0], records[-1]
    assert item["created_at"] == newest.created_at.isoformat()
    for name in (
        "model_name",
        "model_version",
        "run_id",
        "request_id",
        "prediction",
        "class_index",
        "probabilities",
        "latency_seconds",
        "role",
        *FEATURES,
    ):
        assert item[name] == getattr(newest, name), name
    assert item["label"] is None


def test_logs_filter_by_model_version_returns_only_that_version(client, engine):
    seed(engine, [prediction_record(i, model_version=str(1 + i % 2)) for i in range(6)])
    items = client.get("/logs?model_version=2").get_json()["items"]
    assert len(items) == 3
    assert {item["model_version"] for item in items} == {"2"}


def test_logs_show_and_filter_the_role_and_rows_without_one_are_the_champions(client, engine):
    import dataclasses

    import sqlalchemy as sa

    from mlproject.logstore import tables

    records = [prediction_record(i, model_version=str(1 + i % 2)) for i in range(6)]
    seed(
        engine,
        [
            dataclasses.replace(r, role="challenger") if r.model_version == "2" else r
            for r in records
        ],
    )
    with engine.begin() as conn:  # a row logged before the trial had no role
        conn.execute(
            sa.update(tables.predictions)
            .where(tables.predictions.c.prediction_id == records[0].prediction_id)
            .values(role=None)
        )
    items = client.get("/logs").get_json()["items"]
    assert {(item["model_version"], item["role"]) for item in items} == {
        ("1", "champion"),
        ("2", "challenger"),
    }
    challenger = client.get("/logs?role=challenger").get_json()["items"]
    champion = client.get("/logs?role=champion").get_json()["items"]
    assert [len(challenger), len(champion)] == [3, 3]
    assert {item["model_version"] for item in champion} == {"1"}
    assert client.get("/logs?role=shadow").status_code == 400


def test_logs_filter_by_prediction_returns_only_that_species(client, engine):
    seed_series(engine, 9)
    items = client.get("/logs?prediction=virginica").get_json()["items"]
    assert len(items) == 3
    assert {item["prediction"] for item in items} == {"virginica"}


@pytest.mark.parametrize(
    "since",
    [
        "2026-01-01T12:00:03Z",
        "2026-01-01T12:00:03+00:00",
        "2026-01-01T12:00:03",
        "2026-01-01T13:00:03+01:00",
    ],
)
def test_logs_filter_since_keeps_rows_at_or_after_it_and_naive_means_utc(client, engine, since):
    seed_series(engine, 6)
    items = client.get("/logs", query_string={"since": since}).get_json()["items"]
    assert [item["request_id"] for item in items] == ["req-5", "req-4", "req-3"]


def test_logs_limit_defaults_to_100_and_allows_1000(client, engine):
    seed_series(engine, 120)
    assert len(client.get("/logs").get_json()["items"]) == 100
    assert len(client.get("/logs?limit=1000").get_json()["items"]) == 120
    assert len(client.get("/logs?limit=1").get_json()["items"]) == 1


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
        ("limit=-5", "limit"),
        ("limit=1.5", "limit"),
        ("limit=", "limit"),
        ("since=yesterday", "since"),
        ("since=2026-13-01", "since"),
        ("since=", "since"),
        ("cursor=abc", "cursor"),
        ("cursor=!!!", "cursor"),
        ("cursor=c2VxOi0x", "cursor"),
        ("cursor=c2VxOjA", "cursor"),
        ("cursor=", "cursor"),
        ("prediction=rose", "prediction"),
        ("prediction=", "prediction"),
        ("model_version=" + "9" * 51, "model_version"),
        ("model_version=", "model_version"),
        ("modelversion=1", "modelversion"),
        ("limit=1&limit=2", "limit"),
    ],
)
def test_logs_rejects_each_bad_parameter_with_400_naming_it(client, query, parameter):
    response = client.get(f"/logs?{query}")
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid_parameter"
    assert body["parameter"] == parameter
    assert parameter in body["message"]


@pytest.mark.parametrize("filters", [{}, {"prediction": "setosa"}, {"model_version": "2"}])
def test_cursor_pagination_walks_every_row_exactly_once(client, engine, filters):
    records = seed(engine, [prediction_record(i, model_version=str(1 + i % 2)) for i in range(47)])
    expected = [
        r.prediction_id
        for r in reversed(records)
        if all(str(getattr(r, k)) == v for k, v in filters.items())
    ]
    seen, cursor, pages = [], None, 0
    while True:
        query = {**filters, "limit": 5, **({"cursor": cursor} if cursor else {})}
        body = client.get("/logs", query_string=query).get_json()
        seen += [item["prediction_id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    assert pages == -(-len(expected) // 5)  # no trailing empty page


def test_logs_items_carry_the_feedback_label(client, engine):
    (record,) = seed_series(engine, 1)
    client.post(
        "/feedback",
        json={"prediction_id": record.prediction_id, "label": "virginica"},
        headers=auth(),
    )
    (item,) = client.get("/logs").get_json()["items"]
    assert item["label"] == "virginica"
    assert item["labelled_at"] is not None


INJECTIONS = [
    "1' OR '1'='1",
    "1; DROP TABLE predictions; --",
    "' UNION SELECT * FROM counters --",
    "setosa' --",
    '" OR 1=1 --',
    "%' OR 1=1; DELETE FROM feedback; --",
    "1)) OR ((1=1",
]


@pytest.mark.parametrize("parameter", ["model_version", "prediction", "since", "limit", "cursor"])
@pytest.mark.parametrize("value", INJECTIONS)
def test_sql_injection_in_any_filter_is_refused_or_matches_nothing(
    client, engine, parameter, value
):
    seed_series(engine, 3)
    before = row_counts(engine)
    response = client.get("/logs", query_string={parameter: value})
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert response.get_json()["items"] == []
    assert row_counts(engine) == before


def test_since_after_every_row_gives_an_empty_page(client, engine):
    seed_series(engine, 2)
    later = (T0 + timedelta(days=1)).isoformat()
    assert client.get("/logs", query_string={"since": later}).get_json() == {
        "items": [],
        "next_cursor": None,
    }
