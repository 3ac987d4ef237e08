"""End-to-end fixtures: a trained registry, MLflow's real scoring server, and for the
dashboard tests Debian's Chromium (Playwright), a page with its console, a gunicorn sidecar."""

from __future__ import annotations

import os

import pytest

from tests.e2e.dashboard_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    CSP_LISTENER,
    DASHBOARD_TOKEN,
    Console,
    missing_browser,
    start_dashboard_sidecar,
)
from tests.support.processes import Server
from tests.support.stack import sqlite_tracking_uri, start_scoring, train


@pytest.fixture(scope="session")
def trained_registry(tmp_path_factory):
    """A SQLite tracking store with iris-classifier v1 as @champion (two fast candidates)."""
    workdir = tmp_path_factory.mktemp("registry")
    tracking_uri = sqlite_tracking_uri(workdir)
    train(tracking_uri, workdir, "--candidates", "logistic_regression,svm")
    return {"tracking_uri": tracking_uri, "workdir": workdir}


@pytest.fixture(scope="session")
def scoring_server(trained_registry, tmp_path_factory):
    """`mlflow models serve` for the champion, logging to a SQLite store of its own."""
    workdir = tmp_path_factory.mktemp("scoring")
    store_url = f"sqlite:///{workdir / 'predictions.db'}"
    server = start_scoring(trained_registry["tracking_uri"], store_url, workdir)
    server.store_url = store_url
    yield server
    server.stop()


@pytest.fixture
def browser():
    """Debian's Chromium, headless, through Playwright's sync API."""
    reason = missing_browser()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser test: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser):
    """A fresh page (1440 wide) with its console collected."""
    contexts = []

    def open_(url: str):
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        contexts.append(context)
        context.add_init_script(CSP_LISTENER)
        page = context.new_page()
        console = Console(page)
        page.goto(url)
        return page, console

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def sidecar(tmp_path):
    """Start the sidecar over a store in tmp_path (DASHBOARD_TOKEN by default); stopped after."""
    servers: list[Server] = []

    def start(store_url: str, *, token: str | None = DASHBOARD_TOKEN, **kwargs) -> Server:
        servers.append(start_dashboard_sidecar(tmp_path, store_url, token=token, **kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()
