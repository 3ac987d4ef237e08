"""The dashboard's challenger panel in a real browser (Chromium via Playwright, gunicorn)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from mlproject.logstore import contract, create_store_engine, tables
from tests.e2e.dashboard_support import write_predictions
from tests.support.stack import trial_registry

pytestmark = pytest.mark.slow
NAME = "iris-classifier"


def record_trial(engine, records) -> None:
    """Shadow answers of version 2 (wrong on every other row), labels, and two decisions."""
    now = datetime.now(UTC)
    classes = ["setosa", "versicolor", "virginica"]
    with engine.begin() as conn:
        conn.execute(
            sa.insert(tables.shadow_predictions),
            [
                {
                    "prediction_id": r.prediction_id,
                    "model_version": "2",
                    "role": contract.CHALLENGER,
                    "prediction": r.prediction
                    if i % 2
                    else classes[(classes.index(r.prediction) + 1) % 3],
                    "class_index": 0,
                    "probabilities": {},
                    "created_at": now,
                }
                for i, r in enumerate(records)
            ],
        )
        conn.execute(
            sa.insert(tables.feedback),
            [
                {"prediction_id": r.prediction_id, "label": r.prediction, "created_at": now,
                 "updated_at": now}
                for r in records
            ],
        )  # fmt: skip
        last = conn.execute(sa.select(sa.func.max(tables.predictions.c.seq))).scalar()
        conn.execute(
            sa.insert(tables.shadow_cursors).values(
                trial=f"{NAME}:1:2", last_seq=last, updated_at=now
            )
        )
        for decision, action, ago in (
            (contract.COLLECTING, None, 60),
            (contract.CHALLENGER_WORSE, contract.CANARY_WITHDRAWN, 1),
        ):
            conn.execute(
                sa.insert(tables.challenger_decisions).values(
                    decided_at=now - timedelta(seconds=ago), model_name=NAME,
                    champion_version="1", challenger_version="2", decision=decision,
                    evidence={"labelled": len(records), "discordant_b": 0,
                              "discordant_c": len(records) // 2, "alpha": 0.05,
                              "margin": 0.02},
                    action=action,
                )
            )  # fmt: skip


def test_the_challenger_panel_shows_versions_accuracies_with_intervals_and_the_decision(
    tmp_path, sidecar, open_page
):
    from playwright.sync_api import expect

    tracking_uri = trial_registry(tmp_path, NAME)
    store_url = f"sqlite:///{tmp_path / 'predictions.db'}"
    engine = create_store_engine(store_url)
    records = write_predictions(engine, 40, "1", "run-one", seed=4)
    record_trial(engine, records)
    server = sidecar(store_url, tracking_uri=tracking_uri)
    page, console = open_page(server.url + "/")
    expect(page.locator("#trial-facts")).to_be_visible(timeout=20_000)
    expect(page.locator("#trial-none")).to_be_hidden()
    expect(page.locator("#trial-versions")).to_have_text("v1 (champion) vs v2 (challenger)")
    expect(page.locator("#trial-canary")).to_have_text("10%")
    expect(page.locator("#trial-lag")).to_have_text("0 rows")
    expect(page.locator("#trial-compared")).to_have_text("40 paired, 40 labelled")
    expect(page.locator("#trial-agreement")).to_have_text("50.0%")
    expect(page.locator("#trial-champion-accuracy")).to_contain_text("100.0% (95% ")
    expect(page.locator("#trial-challenger-accuracy")).to_contain_text("50.0% (95% ")
    expect(page.locator("#trial-discordant")).to_have_text(
        "0 only challenger right · 20 only champion right"
    )
    decision = page.get_by_test_id("trial-decision")
    expect(decision).to_have_text("challenger worse → canary withdrawn")
    expect(decision).to_have_attribute("data-kind", contract.CHALLENGER_WORSE)
    expect(page.locator("#trial-history-rows tr")).to_have_count(2)
    expect(page.locator("#trial-history-rows tr").first).to_contain_text("canary withdrawn")
    page.wait_for_timeout(6_000)  # one more polling round
    assert console.errors == []
    assert page.evaluate("window.cspViolations") == []
    engine.dispose()


def test_without_a_challenger_the_panel_says_how_to_start_a_trial(tmp_path, sidecar, open_page):
    from playwright.sync_api import expect

    server = sidecar(f"sqlite:///{tmp_path / 'predictions.db'}")
    page, console = open_page(server.url + "/")
    expect(page.locator("#trial-none")).to_contain_text("challenger", timeout=20_000)
    expect(page.locator("#trial-facts")).to_be_hidden()
    expect(page.locator("#trial-history-rows")).to_contain_text("no decisions recorded")
    assert console.errors == []
