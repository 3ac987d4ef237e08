"""Who answered: the role in a spool segment's context reaches predictions.role, on both stores."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from mlproject.logstore import PredictionRecord, tables, write_records
from mlproject.logstore.contract import CHALLENGER, CHAMPION
from mlproject.logstore.shipper import Shipper
from mlproject.logstore.spool import SpoolWriter

from .spooling import append_requests, context, folder_for


@pytest.fixture
def store(store_url, store_engine_factory, tmp_path):
    """(engine, spool folder) for a fresh store."""
    return store_engine_factory(store_url), folder_for(tmp_path / "spool", store_url)


def _roles(engine: sa.Engine) -> dict[str, str | None]:
    p = tables.predictions
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(p.c.prediction_id, p.c.role)).all())


def test_the_challengers_segments_are_stored_as_challenger_and_the_rest_as_champion(store):
    engine, folder = store
    champion = SpoolWriter(folder, {**context("1"), "role": CHAMPION}, max_bytes=1 << 30)
    challenger = SpoolWriter(folder, {**context("2"), "role": CHALLENGER}, max_bytes=1 << 30)
    # A model version registered before the trial writes no role at all.
    older = SpoolWriter(folder, context("0"), max_bytes=1 << 30)
    for writer in (champion, challenger, older):
        writer.open()
    champion_ids = append_requests(champion, 5, rows=2)
    challenger_ids = append_requests(challenger, 3)
    older_ids = append_requests(older, 2)
    assert Shipper(folder, engine).drain(30)
    roles = _roles(engine)
    assert {roles[i] for i in champion_ids} == {CHAMPION}
    assert {roles[i] for i in challenger_ids} == {CHALLENGER}
    assert {roles[i] for i in older_ids} == {CHAMPION}
    assert len(roles) == 15
    for writer in (champion, challenger, older):
        writer.close()


def test_records_written_directly_keep_their_role(store):
    engine, _ = store
    base = {
        "created_at": datetime.now(UTC),
        "model_name": "iris-classifier",
        "run_id": None,
        "request_id": None,
        "sepal_length": 5.1,
        "sepal_width": 3.5,
        "petal_length": 1.4,
        "petal_width": 0.2,
        "prediction": "setosa",
        "class_index": 0,
        "probabilities": {"setosa": 0.9, "versicolor": 0.06, "virginica": 0.04},
        "latency_seconds": 0.001,
    }
    records = [
        PredictionRecord(prediction_id="a" * 8, model_version="1", **base),
        PredictionRecord(prediction_id="b" * 8, model_version="2", role=CHALLENGER, **base),
    ]
    write_records(engine, [(records, 0.001)])
    assert _roles(engine) == {"a" * 8: CHAMPION, "b" * 8: CHALLENGER}


def test_a_record_with_an_unknown_role_is_refused():
    with pytest.raises(ValueError, match="role must be one of"):
        PredictionRecord(
            prediction_id="c",
            created_at=datetime.now(UTC),
            model_name="m",
            model_version="1",
            run_id=None,
            request_id=None,
            sepal_length=1,
            sepal_width=1,
            petal_length=1,
            petal_width=1,
            prediction="setosa",
            class_index=0,
            probabilities={},
            latency_seconds=0,
            role="shadow",
        )
