"""The shadow scorer for real: a trained registry, the scorer process, the log store.

Two versions: a good one and one trained on label-shuffled data, so the trial sees a real
accuracy difference. Rows are logged straight into the store (with their roles), the
scorer is run, killed with SIGKILL and restarted, and the decision must follow.
"""

from __future__ import annotations

import signal
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


def test_every_trial_row_gets_exactly_one_shadow_across_a_kill_and_a_worse_challenger_is_stopped(
    registry, answers, store_url
):
    client = registry["client"]
    set_trial(client, champion="1", challenger="2")
    engine = create_store_engine(store_url)
    before = log_rows(engine, answers, range(5), lambda i: ("1", None))
    scorer = start_scorer(registry, store_url, auto_promote=True)
    try:
        wait_until(lambda: cursor_of(engine, f"{NAME}:1:2") is not None, what="trial start")
        # Champion traffic (role NULL and "champion"), canary rows, and a stray version.
        pick = {0: ("2", contract.CHALLENGER), 1: ("1", contract.CHAMPION), 2: ("7", None)}
        trial_rows = log_rows(engine, answers, range(150), lambda i: pick.get(i % 5, ("1", None)))
        time.sleep(0.5)
        scorer.stop(sig=signal.SIGKILL)
        scorer = start_scorer(registry, store_url, auto_promote=True)
        newest = max_seq(engine)
        wait_until(lambda: cursor_of(engine, f"{NAME}:1:2") == newest, what="cursor", server=scorer)
        p, s = tables.predictions, tables.shadow_predictions
        with engine.connect() as conn:
            shadows = conn.execute(
                sa.select(
                    s.c.prediction_id, s.c.model_version, s.c.role, p.c.model_version
                ).select_from(s.join(p, p.c.prediction_id == s.c.prediction_id))
            ).all()
        by_row = {}
        for pid, version, role, logged_by in shadows:
            by_row.setdefault(pid, []).append((version, role, logged_by))
        in_pair = [pid for i, pid in enumerate(trial_rows) if i % 5 != 2]
        assert sorted(by_row) == sorted(in_pair)
        assert all(len(found) == 1 for found in by_row.values())
        for ((version, role, logged_by),) in by_row.values():
            assert (version, role) == (
                ("2", contract.CHALLENGER) if logged_by == "1" else ("1", contract.CHAMPION)
            )
        assert not set(before) & set(by_row)

        wait_until(
            lambda: any(d.decision == contract.CHALLENGER_WORSE for d in decisions(engine)),
            what="a worse decision",
            server=scorer,
        )
        history = decisions(engine)
        assert history[0].decision == contract.COLLECTING
        assert history[-1].action == contract.CANARY_WITHDRAWN
        assert history[-1].evidence["discordant_c"] > history[-1].evidence["discordant_b"]
        assert client.get_registered_model(NAME).tags[contract.CANARY_PERCENT_TAG] == "0"
        tags = client.get_model_version(NAME, "2").tags
        assert tags["trial.decision"] == contract.CHALLENGER_WORSE
        assert int(tags["trial.discordant_c"]) > 0
        with engine.connect() as conn:
            outcomes = conn.execute(sa.select(tables.model_switches.c.outcome)).scalars().all()
        assert contract.CANARY_WITHDRAWN in outcomes
        assert scorer.stop(sig=signal.SIGTERM) == 0
    finally:
        scorer.stop()
        engine.dispose()


def test_labels_drive_a_better_challenger_to_champion_with_the_evidence_on_the_version(
    registry, answers, store_url
):
    client = registry["client"]
    set_trial(client, champion="2", challenger="1")
    engine = create_store_engine(store_url)
    scorer = start_scorer(registry, store_url, auto_promote=True)
    try:
        wait_until(lambda: cursor_of(engine, f"{NAME}:2:1") is not None, what="trial start")
        log_rows(engine, answers, range(60), lambda i: ("2", contract.CHAMPION))
        # The decision row is written last, after the registry calls.
        wait_until(
            lambda: any(d.action == contract.PROMOTED for d in decisions(engine)),
            what="the promotion",
            server=scorer,
        )
        champion = client.get_model_version_by_alias(NAME, contract.CHAMPION)
        assert str(champion.version) == "1"
        assert contract.CHALLENGER not in client.get_registered_model(NAME).aliases
        version = client.get_model_version(NAME, "1")
        assert version.tags["trial.decision"] == contract.CHALLENGER_BETTER
        assert float(version.tags["trial.p_value"]) < 0.05
        assert "Live trial against version 2" in version.description
        assert version.current_stage == "Production"
        last = decisions(engine)[-1]
        assert (last.decision, last.action) == (contract.CHALLENGER_BETTER, contract.PROMOTED)
    finally:
        scorer.stop()
        engine.dispose()
