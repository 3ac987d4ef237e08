"""The shadow scorer when it must not act: advice mode, and a challenger that cannot load."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from mlproject.logstore import contract, create_store_engine, tables

from .conftest import NAME
from .shadow_scorer_support import (
    cursor_of,
    decisions,
    log_rows,
    max_seq,
    set_trial,
    start_scorer,
    wait_until,
)

pytestmark = pytest.mark.slow


def test_without_auto_promote_the_decision_is_advice_and_the_registry_is_left_alone(
    registry, answers, sqlite_url
):
    client = registry["client"]
    set_trial(client, champion="1", challenger="2")
    engine = create_store_engine(sqlite_url)
    scorer = start_scorer(registry, sqlite_url, auto_promote=False)
    try:
        wait_until(lambda: cursor_of(engine, f"{NAME}:1:2") is not None, what="trial start")
        log_rows(engine, answers, range(60), lambda i: ("1", None))
        wait_until(
            lambda: any(d.decision == contract.CHALLENGER_WORSE for d in decisions(engine)),
            what="a worse decision",
            server=scorer,
        )
        assert decisions(engine)[-1].action is None
        assert client.get_registered_model(NAME).tags[contract.CANARY_PERCENT_TAG] == "10"
        assert str(client.get_model_version_by_alias(NAME, contract.CHALLENGER).version) == "2"
        with engine.connect() as conn:
            assert (
                conn.execute(sa.select(sa.func.count()).select_from(tables.model_switches)).scalar()
                == 0
            )
    finally:
        scorer.stop()
        engine.dispose()


def test_a_challenger_that_cannot_be_loaded_only_delays_its_shadow_rows(
    registry, answers, sqlite_url
):
    client = registry["client"]
    broken = client.create_model_version(NAME, source=str(registry["workdir"] / "missing"))
    set_trial(client, champion="1", challenger=str(broken.version))
    engine = create_store_engine(sqlite_url)
    scorer = start_scorer(registry, sqlite_url, auto_promote=True)
    trial = f"{NAME}:1:{broken.version}"
    try:
        wait_until(lambda: cursor_of(engine, trial) is not None, what="trial start")
        start = cursor_of(engine, trial)
        log_rows(engine, answers, range(20), lambda i: ("1", None))
        time.sleep(5)
        assert scorer.process.poll() is None, scorer.output()[-3000:]
        assert cursor_of(engine, trial) == start
        with engine.connect() as conn:
            count = sa.select(sa.func.count()).select_from(tables.shadow_predictions)
            assert conn.execute(count).scalar() == 0
        # The alias moves to a version that loads: the new trial scores from its own start.
        client.set_registered_model_alias(NAME, contract.CHALLENGER, "2")
        wait_until(lambda: cursor_of(engine, f"{NAME}:1:2") is not None, what="new trial")
        log_rows(engine, answers, range(5), lambda i: ("1", None))
        newest = max_seq(engine)
        wait_until(
            lambda: cursor_of(engine, f"{NAME}:1:2") == newest, what="scoring", server=scorer
        )
    finally:
        scorer.stop()
        engine.dispose()
        client.delete_model_version(NAME, str(broken.version))
