"""Alias and Production stage, reconciled poll after poll, on a real (SQLite) registry."""

from __future__ import annotations

import warnings

import pytest
from mlflow import MlflowClient

from serving.promotion import Reconciler, mirror, read_registry
from serving.settings import Follow

NAME = "iris-classifier"
FOLLOW = Follow("champion", "Production")


@pytest.fixture
def client(tmp_path):
    """A registry with versions 1, 2 and 3 (no artifacts: only pointers matter here)."""
    registry = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    registry.create_registered_model(NAME)
    for _ in range(3):
        registry.create_model_version(NAME, source=str(tmp_path / "model"))
    return registry


def _stage(client, version: str, archive: bool = True) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        client.transition_model_version_stage(NAME, version, "Production", archive)


def _poll(client, reconciler: Reconciler):
    """One supervisor poll: read, decide, mirror, remember. Returns the decision."""
    view = read_registry(client, NAME, reconciler.follow)
    decision = reconciler.decide(view)
    done = mirror(client, NAME, reconciler.follow, decision)
    reconciler.remember(view, decision, mirrored=True)
    return decision, done


def _pointers(client):
    view = read_registry(client, NAME, FOLLOW)
    return view.alias, view.stage, view.stage_crowded


def test_nothing_promoted_means_nothing_to_serve(client):
    decision, done = _poll(client, Reconciler(FOLLOW))
    assert decision.version is None and done == ""


def test_a_moved_alias_is_served_and_copied_to_the_stage(client):
    reconciler = Reconciler(FOLLOW)
    client.set_registered_model_alias(NAME, "champion", "1")
    decision, done = _poll(client, reconciler)
    assert decision.version == "1"
    assert "moved version 1 to Production" in done
    assert _pointers(client) == ("1", "1", False)
    client.set_registered_model_alias(NAME, "champion", "2")
    decision, done = _poll(client, reconciler)
    assert (decision.version, decision.gesture) == ("2", "@champion moved to version 2")
    assert _pointers(client) == ("2", "2", False)


def test_a_moved_stage_is_served_and_copied_to_the_alias_archiving_the_rest(client):
    reconciler = Reconciler(FOLLOW)
    client.set_registered_model_alias(NAME, "champion", "1")
    _poll(client, reconciler)
    _stage(client, "3", archive=False)  # "Transition to Production" without archiving
    assert _pointers(client) == ("1", "3", True)
    decision, done = _poll(client, reconciler)
    assert (decision.version, decision.gesture) == ("3", "stage Production moved to version 3")
    assert "pointed @champion at 3" in done and "others archived" in done
    assert _pointers(client) == ("3", "3", False)


def test_when_both_moved_between_two_polls_the_alias_wins(client):
    reconciler = Reconciler(FOLLOW)
    client.set_registered_model_alias(NAME, "champion", "1")
    _poll(client, reconciler)
    _stage(client, "2")
    client.set_registered_model_alias(NAME, "champion", "3")
    decision, _ = _poll(client, reconciler)
    assert decision.version == "3"
    assert "the alias wins" in decision.gesture
    assert _pointers(client) == ("3", "3", False)


def test_on_the_first_poll_the_alias_wins_over_a_different_stage(client):
    client.set_registered_model_alias(NAME, "champion", "2")
    _stage(client, "1")
    decision, _ = _poll(client, Reconciler(FOLLOW))
    assert decision.version == "2"
    assert _pointers(client) == ("2", "2", False)


def test_a_stage_only_registry_gets_the_alias_on_first_sight(client):
    _stage(client, "2")
    decision, done = _poll(client, Reconciler(FOLLOW))
    assert decision.version == "2" and "pointed @champion at 2" in done


def test_a_deleted_alias_is_not_recreated_and_serving_keeps_its_version(client):
    reconciler = Reconciler(FOLLOW)
    client.set_registered_model_alias(NAME, "champion", "1")
    _poll(client, reconciler)
    client.delete_registered_model_alias(NAME, "champion")
    decision, done = _poll(client, reconciler)
    assert (decision.version, done) == ("1", "")
    assert _pointers(client) == (None, "1", False)


def test_nothing_moved_means_no_write(client):
    reconciler = Reconciler(FOLLOW)
    client.set_registered_model_alias(NAME, "champion", "1")
    _poll(client, reconciler)
    before = client.get_model_version(NAME, "1").last_updated_timestamp
    decision, done = _poll(client, reconciler)
    assert (decision.version, done) == ("1", "")
    assert client.get_model_version(NAME, "1").last_updated_timestamp == before


def test_following_only_the_alias_never_touches_stages(client):
    reconciler = Reconciler(Follow("champion", None))
    client.set_registered_model_alias(NAME, "champion", "2")
    decision, done = _poll(client, reconciler)
    assert (decision.version, done) == ("2", "")
    assert _pointers(client) == ("2", None, False)
