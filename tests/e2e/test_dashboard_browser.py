"""The dashboard in a real browser: the sidecar under gunicorn, Debian's Chromium, Playwright.

Skipped when Chromium or Playwright is missing, except under CI, where that fails.
``UPDATE_DASHBOARD_SCREENSHOT=1`` also writes the final screenshot to docs/dashboard.png.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import requests

from mlproject.logstore import create_store_engine
from tests.e2e.dashboard_support import (
    DASHBOARD_TOKEN as TOKEN,
)
from tests.e2e.dashboard_support import (
    compact_png,
    label_some,
    record_switches,
    write_predictions,
)
from tests.support.processes import REPO_ROOT

pytestmark = pytest.mark.slow

SCREENSHOT = REPO_ROOT / "docs" / "dashboard.png"
MAX_SCREENSHOT_BYTES = 300_000


def test_dashboard_loads_without_console_errors_and_shows_the_version_in_service(
    tmp_path, sidecar, open_page
):
    from playwright.sync_api import expect

    store_url = f"sqlite:///{tmp_path / 'predictions.db'}"
    engine = create_store_engine(store_url)
    write_predictions(engine, 40, "4", "run-four", seed=1)
    server = sidecar(store_url)
    page, console = open_page(server.url + "/")
    expect(page.get_by_test_id("model-version")).to_have_text("v4")
    expect(page.locator("#updated")).to_contain_text("updated", timeout=20_000)
    expect(page.locator("#predictions-rows tr")).to_have_count(15)
    expect(page.locator("#health-store")).to_have_text("log store ok")
    expect(page.locator("#health-scoring")).to_have_text("scoring down")
    # No registry here: lineage degrades to "unknown" instead of failing.
    expect(page.locator("#lineage-digest")).to_have_text("unknown")
    expect(page.locator("#drift-message, #drift-table").first).to_be_visible()
    page.wait_for_timeout(6_000)  # one more polling round
    assert console.errors == []
    # The page works under its own strict policy: nothing it does is blocked.
    html = requests.get(server.url + "/", headers={"Accept": "text/html"}, timeout=10)
    assert "script-src 'self'" in html.headers["Content-Security-Policy"]
    assert html.headers["X-Content-Type-Options"] == "nosniff"
    assert page.evaluate("window.cspViolations") == []
    assert requests.get(server.url + "/", headers={"Accept": "application/json"}).json()[
        "endpoints"
    ]
    engine.dispose()


def test_dashboard_updates_when_new_predictions_are_logged(tmp_path, sidecar, open_page):
    from playwright.sync_api import expect

    store_url = f"sqlite:///{tmp_path / 'predictions.db'}"
    engine = create_store_engine(store_url)
    write_predictions(engine, 10, "2", "run-two", seed=2)
    server = sidecar(store_url)
    page, console = open_page(server.url + "/")
    total = page.get_by_test_id("predictions-total")
    expect(total).to_have_text("10", timeout=20_000)
    newer = write_predictions(engine, 5, "3", "run-three", seed=3)
    expect(total).to_have_text("15", timeout=20_000)
    first_row = page.locator("#predictions-rows tr").first
    expect(first_row).to_have_attribute("data-prediction-id", newer[-1].prediction_id)
    expect(page.get_by_test_id("model-version")).to_have_text("v3", timeout=20_000)
    assert console.errors == []
    engine.dispose()


def test_the_label_free_estimate_shows_beside_live_accuracy_for_a_calibrated_version(
    tmp_path, sidecar, open_page, trained_registry
):
    from playwright.sync_api import expect

    store_url = f"sqlite:///{tmp_path / 'predictions.db'}"
    engine = create_store_engine(store_url)
    records = write_predictions(engine, 40, "1", "run-one", seed=5)  # v1 carries a calibration
    server = sidecar(store_url, tracking_uri=trained_registry["tracking_uri"])
    label_some(server.url, TOKEN, records, share=0.5)
    page, console = open_page(server.url + "/")
    line = page.locator('#accuracy-estimated li[data-version="1"]')
    expect(line).to_contain_text("v1: ", timeout=30_000)
    expect(line).to_contain_text("of 40")
    expect(line).to_have_text(re.compile(r"v1: \d+\.\d% \(\d+\.\d%–\d+\.\d%\) of 40"))
    expect(page.locator("#accuracy-by-version")).to_contain_text("v1: ")
    assert console.errors == []
    engine.dispose()


def test_retrain_refuses_a_wrong_token_then_follows_the_job_to_its_final_state(
    tmp_path, sidecar, open_page, trained_registry
):
    from playwright.sync_api import expect

    # A copy of the trained registry, so the tiny project's run lands in this test's copy.
    shutil.copy(Path(trained_registry["workdir"]) / "mlflow.db", tmp_path / "mlflow.db")
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    from mlflow import MlflowClient

    version = MlflowClient(tracking_uri, tracking_uri).get_model_version_by_alias(
        "iris-classifier", "champion"
    )
    store_url = f"sqlite:///{tmp_path / 'predictions.db'}"
    engine = create_store_engine(store_url)
    records = write_predictions(engine, 260, version.version, version.run_id, seed=0, shift=0.8)
    record_switches(engine, version.version)
    server = sidecar(store_url, tracking_uri=tracking_uri)
    label_some(server.url, TOKEN, records[-40:], share=0.6)

    page, console = open_page(server.url + "/")
    expect(page.get_by_test_id("model-version")).to_have_text(f"v{version.version}")
    digest = version.tags["data_digest"]
    expect(page.locator("#lineage-digest")).to_have_text(digest, timeout=30_000)
    expect(page.locator("#refused-banner")).to_contain_text("v9 was refused")
    expect(page.locator("#history-rows tr.bad")).to_have_count(1)
    expect(page.locator("#accuracy-value")).to_contain_text("%")
    expect(page.locator("#errors-rows tr")).to_have_count(2)
    expect(page.locator("#predictions-rows tr").first).to_contain_text("✓")
    # Drift belongs to GET /drift: either not there yet, or sepal_width's shift shows red.
    expect(page.locator("#drift-message")).not_to_have_text("loading…")
    if page.locator("#drift-table").is_visible():
        expect(page.locator("#drift-rows tr[data-feature=sepal_width]")).to_have_class("bad")
    else:
        expect(page.locator("#drift-message")).to_contain_text("not available")

    page.fill("#retrain-token", "not-the-token")
    page.click("#retrain-button")
    expect(page.locator("#retrain-message")).to_contain_text("401")
    # The 401 path asks for the token: it says which one, and puts the cursor there.
    expect(page.locator("#retrain-message")).to_contain_text("SIDECAR_TOKEN")
    expect(page.locator("#retrain-token")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#retrain-token")).to_be_focused()
    # The browser itself reports the refused request; nothing else may be logged.
    unexpected = [e for e in console.errors if "401" not in e]
    assert unexpected == []
    assert page.evaluate("sessionStorage.getItem('iris-sidecar-token')") is None

    page.fill("#retrain-token", TOKEN)
    page.click("#retrain-button")
    expect(page.locator("#retrain-job")).to_be_visible()
    expect(page.get_by_test_id("job-state")).to_have_text("succeeded", timeout=120_000)
    expect(page.locator("#job-version")).to_have_text("v7")
    expect(page.locator("#job-gate")).to_contain_text("promoted")
    expect(page.locator("#job-tail")).to_contain_text("tiny training done")
    assert page.evaluate("sessionStorage.getItem('iris-sidecar-token')") == TOKEN
    expect(page.locator("#retrain-token")).not_to_have_attribute("aria-invalid", "true")
    assert [e for e in console.errors if "401" not in e] == []
    assert page.evaluate("window.cspViolations") == []

    page.wait_for_timeout(500)
    png = page.screenshot(full_page=True)
    (tmp_path / "dashboard.png").write_bytes(png)
    if os.environ.get("UPDATE_DASHBOARD_SCREENSHOT"):
        SCREENSHOT.write_bytes(compact_png(png))
        assert SCREENSHOT.stat().st_size < MAX_SCREENSHOT_BYTES
    engine.dispose()


def test_retrain_without_a_configured_token_says_retraining_is_unavailable(
    tmp_path, sidecar, open_page
):
    from playwright.sync_api import expect

    server = sidecar(f"sqlite:///{tmp_path / 'predictions.db'}", token=None)
    page, console = open_page(server.url + "/")
    expect(page.locator("#retrain-card")).to_contain_text("SIDECAR_TOKEN is not set")
    page.fill("#retrain-token", "anything")
    page.click("#retrain-button")
    expect(page.locator("#retrain-message")).to_contain_text("unavailable (503)")
    expect(page.locator("#retrain-message")).to_contain_text("SIDECAR_TOKEN is not configured")
    assert [e for e in console.errors if "503" not in e] == []


def test_a_running_job_is_followed_once_the_token_is_entered_then_a_start_is_409(
    tmp_path, sidecar, open_page
):
    from playwright.sync_api import expect

    server = sidecar(
        f"sqlite:///{tmp_path / 'predictions.db'}", extra_env={"TINY_TRAIN_SECONDS": "6"}
    )
    started = requests.post(
        f"{server.url}/retrain", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
    )
    assert started.status_code == 202, started.text
    job_id = started.json()["job_id"]
    page, console = open_page(server.url + "/")
    # A job already running when the page opens: without the token the page learns only
    # that one runs (not its id) and asks for the token.
    expect(page.locator("#retrain-message")).to_contain_text(
        "Enter SIDECAR_TOKEN to follow it", timeout=20_000
    )
    assert job_id not in page.content()
    expect(page.locator("#retrain-job")).to_be_hidden()
    page.fill("#retrain-token", TOKEN)
    page.press("#retrain-token", "Tab")  # the field's change event: the token is entered
    expect(page.locator("#job-id")).to_have_text(job_id, timeout=20_000)
    expect(page.get_by_test_id("job-state")).to_have_text("running")
    assert page.evaluate("sessionStorage.getItem('iris-sidecar-token')") == TOKEN
    # The page disables the button while it follows a job; another client can still start
    # one between two polls, which is the 409 this exercises.
    page.evaluate("document.getElementById('retrain-button').disabled = false")
    page.click("#retrain-button")
    expect(page.locator("#retrain-message")).to_contain_text("already queued or running (409)")
    expect(page.get_by_test_id("job-state")).to_have_text("succeeded", timeout=120_000)
    expect(page.locator("#job-id")).to_have_text(job_id)
    assert [e for e in console.errors if "409" not in e] == []
