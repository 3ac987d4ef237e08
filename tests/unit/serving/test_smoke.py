"""The smoke check a new version's answer must pass before it gets traffic."""

from __future__ import annotations

import pytest

from serving.smoke import (
    SMOKE_REQUEST_ID,
    SmokeTestFailed,
    check_smoke_response,
    smoke_body,
    smoke_token,
)


def _answer(**changes):
    record = {
        "prediction": "setosa",
        "class_index": 0,
        "probabilities": {"setosa": 0.9, "versicolor": 0.05, "virginica": 0.05},
        "prediction_id": "d3b07384-d9a0-4c9b-8f1e-000000000000",
        "model_version": "3",
    }
    record.update(changes)
    return {"predictions": [record]}


def test_a_spec_record_from_the_expected_version_passes():
    check_smoke_response(200, _answer(), "3")


def test_the_smoke_body_is_one_tagged_row_of_the_four_features():
    body = smoke_body()
    assert len(body["dataframe_split"]["data"]) == 1
    assert len(body["dataframe_split"]["columns"]) == 4
    assert body["params"] == {"request_id": SMOKE_REQUEST_ID, "smoke_token": smoke_token()}
    assert len(smoke_token()) >= 32 and smoke_token() == smoke_token()


@pytest.mark.parametrize(
    ("status", "payload", "message"),
    [
        (500, {"message": "boom"}, "HTTP 500"),
        (200, {"predictions": []}, "not one record"),
        (200, ["setosa"], "not one record"),
        (200, _answer(model_version="2"), "version '2'"),
        (200, _answer(prediction="rose"), "not an Iris class"),
        (200, _answer(probabilities={"setosa": 1.0}), "per class"),
        (200, {"predictions": [{"prediction": "setosa"}]}, "lacks"),
    ],
)
def test_wrong_answers_fail_with_a_reason(status, payload, message):
    with pytest.raises(SmokeTestFailed, match=message):
        check_smoke_response(status, payload, "3")
