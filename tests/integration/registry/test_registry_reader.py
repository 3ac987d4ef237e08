"""RegistryReader against a real tracking server (HTTP) and a local SQLite store, alike."""

from __future__ import annotations

import contextlib
import sqlite3
import time

import pytest
from mlflow import MlflowClient

from mlproject.registry_reader import RegistryReader, RegistryUnavailable
from tests.support.processes import free_port
from tests.support.stack import sqlite_tracking_uri, start_tracking_server

NAME = "iris-reader-test"


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """A SQLite registry with two versions of NAME (v2 is @champion), served over HTTP too."""
    folder = tmp_path_factory.mktemp("registry")
    uri = sqlite_tracking_uri(folder)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.create_experiment("reader", artifact_location=str(folder / "artifacts"))
    client.create_registered_model(NAME)
    runs = []
    for index in (1, 2):
        run = client.create_run(experiment)
        client.log_param(run.info.run_id, "data_digest", f"digest-{index}")
        client.log_text(run.info.run_id, f'{{"index": {index}}}', "model/artifacts/info.json")
        client.set_terminated(run.info.run_id)
        client.create_model_version(
            NAME, f"{run.info.artifact_uri}/model", run.info.run_id, tags={"candidate": f"c{index}"}
        )
        runs.append(run)
    client.set_registered_model_alias(NAME, "champion", "2")
    server = start_tracking_server(uri, folder)
    yield {"sqlite": uri, "http": server.url, "runs": runs, "experiment": experiment}
    server.stop()


@pytest.fixture(params=["http", "sqlite"])
def reader(request, registry):
    return RegistryReader(registry[request.param], timeout=5)


def test_a_version_with_its_run_and_tags(reader, registry):
    found = reader.version(NAME, "1")
    assert found.version == "1"
    assert found.run_id == registry["runs"][0].info.run_id
    assert found.tags == {"candidate": "c1"}


def test_the_version_an_alias_points_at(reader):
    found = reader.version_by_alias(NAME, "champion")
    assert (found.version, found.aliases) == ("2", ("champion",))


def test_what_does_not_exist_is_none_not_an_error(reader, registry):
    assert reader.version(NAME, "99") is None
    assert reader.version_by_alias(NAME, "no-such-alias") is None
    assert reader.version_by_alias("no-such-model", "champion") is None
    assert reader.newest_version_for_run(NAME, "0" * 32) is None
    assert reader.run("0" * 32) is None


def test_the_newest_version_a_run_logged(reader, registry):
    assert reader.newest_version_for_run(NAME, registry["runs"][1].info.run_id) == "2"


def test_a_run_with_its_experiment_and_params(reader, registry):
    run = reader.run(registry["runs"][0].info.run_id)
    assert run.experiment_id == registry["experiment"]
    assert run.params == {"data_digest": "digest-1"}


def test_where_a_versions_files_are(reader, registry):
    assert reader.download_uri(NAME, "2") == f"{registry['runs'][1].info.artifact_uri}/model"


def test_a_json_file_among_a_versions_files(reader, registry):
    payload, uri = reader.version_json(NAME, "2", "artifacts/info.json")
    assert payload == {"index": 2}
    assert uri == f"{registry['runs'][1].info.artifact_uri}/model/artifacts/info.json"
    with pytest.raises(LookupError):
        reader.version_json(NAME, "99", "artifacts/info.json")


def test_an_unreachable_server_is_unavailable_within_the_timeout():
    reader = RegistryReader(f"http://127.0.0.1:{free_port()}", timeout=1)
    started = time.monotonic()
    with pytest.raises(RegistryUnavailable):
        reader.version(NAME, "1")
    with pytest.raises(RegistryUnavailable):
        reader.check_reachable()
    assert time.monotonic() - started < 5  # not MLflow's minutes of retries


def test_a_missing_sqlite_store_is_unavailable_and_not_created(tmp_path):
    uri = sqlite_tracking_uri(tmp_path)
    reader = RegistryReader(uri)
    with pytest.raises(RegistryUnavailable, match="no tracking database"):
        reader.version_by_alias(NAME, "champion")
    with pytest.raises(RegistryUnavailable):
        reader.check_reachable()
    assert not (tmp_path / "mlflow.db").exists()


def test_a_sqlite_store_still_being_created_is_unavailable_and_left_alone(tmp_path):
    # A training run has created the file and some of MLflow's tables; asking now must not
    # run MLflow's migration a second time beside it (two sidecar workers did: a 500).
    database = tmp_path / "mlflow.db"
    with contextlib.closing(sqlite3.connect(database)) as conn:
        conn.execute("CREATE TABLE experiments (experiment_id INTEGER PRIMARY KEY)")
        conn.commit()
    reader = RegistryReader(sqlite_tracking_uri(tmp_path))
    with pytest.raises(RegistryUnavailable, match="no tracking database"):
        reader.version_by_alias(NAME, "champion")
    with contextlib.closing(sqlite3.connect(database)) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert tables == {"experiments"}


def test_the_module_level_helpers_agree(registry):
    from mlproject.registry import version_for_run

    run_id = registry["runs"][0].info.run_id
    assert version_for_run(registry["http"], NAME, run_id) == "1"
