"""GET /sample: a ready-to-POST dataframe_split body of rows from the versioned CSV."""

from __future__ import annotations

import pytest

from mlproject.config import FEATURES

from .conftest import SAMPLE_ROWS


@pytest.fixture
def client(sqlite_app):
    return sqlite_app.test_client()


def test_sample_defaults_to_five_rows_in_dataframe_split_form(client):
    body = client.get("/sample").get_json()
    assert list(body) == ["dataframe_split"]
    assert body["dataframe_split"]["columns"] == list(FEATURES)
    assert len(body["dataframe_split"]["data"]) == 5


@pytest.mark.parametrize("n", [1, 6, 100])
def test_sample_returns_n_rows_each_from_the_csv(client, n):
    data = client.get(f"/sample?n={n}").get_json()["dataframe_split"]["data"]
    assert len(data) == n
    known = {tuple(row[:4]) for row in SAMPLE_ROWS}
    assert all(tuple(row) in known for row in data)
    assert all(isinstance(value, float) for row in data for value in row)


def test_sample_draws_distinct_rows_while_the_data_set_has_enough(client):
    data = client.get("/sample?n=6").get_json()["dataframe_split"]["data"]
    assert len({tuple(row) for row in data}) == 6


@pytest.mark.parametrize("n", ["0", "101", "-1", "five", "", "2.5"])
def test_sample_rejects_n_outside_1_to_100_with_400(client, n):
    response = client.get(f"/sample?n={n}")
    assert response.status_code == 400
    assert response.get_json()["parameter"] == "n"


def test_sample_is_503_when_the_data_set_is_missing(client, data_csv):
    data_csv.unlink()
    response = client.get("/sample")
    assert response.status_code == 503
    assert "data set" in response.get_json()["message"]


def test_sample_body_is_what_mlflow_scoring_parses(client):
    from mlflow.pyfunc.scoring_server import infer_and_parse_data

    frame = infer_and_parse_data(client.get("/sample?n=3").get_json())
    assert list(frame.columns) == list(FEATURES)
    assert len(frame) == 3


def test_sample_defaults_to_the_versioned_csv_in_the_repository(sqlite_url):
    import csv

    from mlproject.config import Settings
    from sidecar import create_app
    from sidecar.config import DEFAULT_PROJECT_DIR, SidecarSettings

    settings = SidecarSettings.build(project=Settings(log_store_url=sqlite_url))
    assert settings.data_path == DEFAULT_PROJECT_DIR / "data" / "iris.csv"
    with settings.data_path.open(newline="") as handle:
        known = {tuple(float(r[f]) for f in FEATURES) for r in csv.DictReader(handle)}
    data = create_app(settings).test_client().get("/sample?n=20").get_json()
    assert all(tuple(row) in known for row in data["dataframe_split"]["data"])
