"""The serving supervisor with real processes: HAProxy, MLflow's scoring app, a real registry.

Promotion by alias or by stage, in the client or as the UI does it, followed live with 0
failed requests and mirrored; another registered model; a broken version refused.
"""

from __future__ import annotations

import time

import pytest
import requests

from mlproject.logstore import create_store_engine, read_counters
from tests.support.load import Load
from tests.support.supervisor import (
    MODEL,
    wait_for,
)

from .conftest import POLL, SWITCH_DEADLINE
from .supervisor_support import (
    RegistryWatch,
    client_of,
    promote_both,
    registry_view,
    serve_registry,
    set_alias,
    set_stage,
    stale_answers,
    wait_for_one_scoring_process,
)

pytestmark = pytest.mark.slow


def test_moving_the_alias_and_back_switches_live_and_mirrors_the_stage(registry, start_supervisor):
    promote_both(registry, "1")
    supervisor = start_supervisor()
    with RegistryWatch(registry["tracking_uri"]) as watch, Load(supervisor.url) as load:
        load.wait_for_count(20)
        moves = [time.monotonic()]
        set_alias(registry, "2")
        to_v2 = load.wait_for_version("2", moves[0], SWITCH_DEADLINE)
        wait_for_one_scoring_process(supervisor)
        moves.append(time.monotonic())
        set_alias(registry, "1")
        back_to_v1 = load.wait_for_version("1", moves[1], SWITCH_DEADLINE)
        load.wait_for_count(len(load.results) + 20)
    assert load.failures() == []
    assert stale_answers(load, ["1", "2", "1"], moves) == []
    assert registry_view(client_of(registry)) == ("1", ["1"])
    assert watch.longest <= 3 * POLL, f"alias and stage disagreed for {watch.longest:.1f}s"
    rows = supervisor.switches()
    assert [(r["from_version"], r["to_version"], r["outcome"]) for r in rows] == [
        (None, "1", "switched"),
        ("1", "2", "switched"),
        ("2", "1", "switched"),
    ]
    assert "@champion moved to version 2" in rows[1]["reason"]
    assert "moved version 2 to Production" in rows[1]["reason"]
    print(f"alias v1->v2 seen after {to_v2:.1f}s, v2->v1 after {back_to_v1:.1f}s")


def test_moving_the_stage_without_archiving_switches_live_and_mirrors_the_alias(
    registry, start_supervisor
):
    promote_both(registry, "1")
    supervisor = start_supervisor()
    with RegistryWatch(registry["tracking_uri"]) as watch, Load(supervisor.url) as load:
        load.wait_for_count(20)
        moves = [time.monotonic()]
        set_stage(registry, "2", archive=False)  # v1 stays in Production too, for now
        load.wait_for_version("2", moves[0], SWITCH_DEADLINE)
        wait_for_one_scoring_process(supervisor)
        moves.append(time.monotonic())
        set_stage(registry, "1", archive=True)
        load.wait_for_version("1", moves[1], SWITCH_DEADLINE)
    assert load.failures() == []
    assert stale_answers(load, ["1", "2", "1"], moves) == []
    assert registry_view(client_of(registry)) == ("1", ["1"])
    assert watch.longest <= 3 * POLL, f"alias and stage disagreed for {watch.longest:.1f}s"
    rows = supervisor.switches()
    assert [r["to_version"] for r in rows] == ["1", "2", "1"]
    assert "stage Production moved to version 2" in rows[1]["reason"]
    assert "pointed @champion at 2" in rows[1]["reason"]
    assert supervisor.state()["follow"] == "alias:champion,stage:Production"


def test_promotion_in_the_ui_by_alias_or_by_stage_is_followed_and_mirrored(
    registry, start_supervisor, tmp_path
):
    # The MLflow UI calls these ajax-api endpoints of a real tracking server.
    promote_both(registry, "1")
    tracking = serve_registry(registry, tmp_path)
    try:
        supervisor = start_supervisor(tracking_uri=tracking.url)
        ajax = f"{tracking.url}/ajax-api/2.0/mlflow"
        with Load(supervisor.url) as load:
            load.wait_for_count(20)
            moved = time.monotonic()
            requests.post(
                f"{ajax}/model-versions/transition-stage",
                json={
                    "name": MODEL,
                    "version": "2",
                    "stage": "Production",
                    "archive_existing_versions": False,
                },
                timeout=10,
            ).raise_for_status()
            by_stage = load.wait_for_version("2", moved, SWITCH_DEADLINE)
            wait_for_one_scoring_process(supervisor)
            moved = time.monotonic()
            requests.post(
                f"{ajax}/registered-models/alias",
                json={"name": MODEL, "alias": "champion", "version": "1"},
                timeout=10,
            ).raise_for_status()
            by_alias = load.wait_for_version("1", moved, SWITCH_DEADLINE)
    finally:
        tracking.stop()
    assert load.failures() == []
    assert registry_view(client_of(registry)) == ("1", ["1"])
    print(f"UI stage move served after {by_stage:.1f}s, UI alias move after {by_alias:.1f}s")


def test_another_registered_model_is_followed_through_iris_model_name(registry, start_supervisor):
    # MLflow 3's "Promote model" copies a version into another registered model.
    client = client_of(registry)
    prod = "iris-classifier-prod"
    first = client.copy_model_version(f"models:/{MODEL}/1", prod).version
    second = client.copy_model_version(f"models:/{MODEL}/2", prod).version
    promote_both(registry, str(first), name=prod)
    supervisor = start_supervisor(env={"IRIS_MODEL_NAME": prod})
    with Load(supervisor.url) as load:
        load.wait_for_count(10)
        moved = time.monotonic()
        set_alias(registry, str(second), name=prod)
        load.wait_for_version(str(second), moved, SWITCH_DEADLINE)
    assert load.failures() == []
    assert supervisor.state()["model_name"] == prod
    assert registry_view(client, prod) == (str(second), [str(second)])
    assert [r["model_name"] for r in supervisor.switches()] == [prod, prod]


def test_a_broken_promotion_is_refused_once_and_the_old_version_keeps_serving(
    registry, start_supervisor
):
    promote_both(registry, "1")
    supervisor = start_supervisor()
    broken = registry["broken"]
    with Load(supervisor.url) as load:
        set_alias(registry, broken)
        refused = wait_for(
            lambda: [row for row in supervisor.switches() if row["outcome"] == "refused"],
            90,
            "a refused row",
        )
        time.sleep(3)  # several polls: the same broken version is not tried again
    promote_both(registry, "1")
    assert load.failures() == []
    assert {outcome.version for outcome in load.succeeded()} == {"1"}
    assert len(refused) == 1
    assert (refused[0]["from_version"], refused[0]["to_version"]) == ("1", broken)
    assert "exited" in refused[0]["reason"]
    assert [row["outcome"] for row in supervisor.switches()] == ["switched", "refused"]
    engine = create_store_engine(supervisor.store_url)
    with engine.connect() as conn:
        counters = {metric: value for metric, _, value in read_counters(conn)}
    engine.dispose()
    assert counters["iris_promotion_refused_total"] == 1
    state = supervisor.state()
    assert state["version"] == "1"
    assert state["last_refusal"]["version"] == broken
