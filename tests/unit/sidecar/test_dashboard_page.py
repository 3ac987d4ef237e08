"""GET /: the dashboard page for browsers, a JSON index for API clients, and its assets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import sidecar

from .seeding import prediction_record, seed

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
PACKAGE = Path(sidecar.__file__).parent
# Namespace names, not addresses: nothing is fetched from them.
ALLOWED_URLS = {"http://www.w3.org/2000/svg"}
MODULES = ("dom.js", "format.js", "charts.js", "panels.js", "poll.js", "retrain.js")


def page(client):
    return client.get("/", headers={"Accept": BROWSER_ACCEPT})


# ---- GET / ----------------------------------------------------------------------------


def test_dashboard_is_html_for_browsers_with_the_model_and_every_region(client, engine):
    seed(engine, [prediction_record(0, model_version="6")])
    response = page(client)
    assert response.status_code == 200
    assert response.content_type == "text/html; charset=utf-8"
    assert response.headers["Vary"] == "Accept"
    html = response.get_data(as_text=True)
    assert "iris-classifier" in html
    assert re.search(r'id="model-version"[^>]*>v6<', html)
    for region in (
        "health-store",
        "health-scoring",
        "lineage-digest",
        "predictions-table",
        "mix-chart",
        "latency-sparkline",
        "accuracy-value",
        "drift-message",
        "errors-table",
        "history-table",
        "retrain-form",
    ):
        assert f'id="{region}"' in html, region
    assert 'type="password" id="retrain-token"' in html


def test_dashboard_escapes_values_it_renders(make_app, sqlite_url):
    app = make_app(sqlite_url, model_name="<script>alert(1)</script>")
    html = page(app.test_client()).get_data(as_text=True)
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize(
    "headers", [{"Accept": "application/json"}, {"Accept": "*/*"}, {}], ids=str
)
def test_index_is_json_for_api_clients(sqlite_app, headers):
    response = sqlite_app.test_client().get("/", headers=headers)
    assert response.status_code == 200
    assert response.is_json
    body = response.get_json()
    assert body["service"] == "iris-sidecar"
    for endpoint in ("GET /health", "GET /logs", "POST /retrain", "GET /api/overview"):
        assert endpoint in body["endpoints"]


def test_page_and_its_assets_reference_no_external_url():
    files = [*(PACKAGE / "templates").rglob("*"), *(PACKAGE / "static").rglob("*")]
    texts = {path.name: path.read_text() for path in files if path.is_file()}
    assert {"dashboard.html", "dashboard.js", "dashboard.css", "favicon.svg"} <= set(texts)
    assert set(MODULES) <= set(texts)
    for name, text in texts.items():
        urls = set(re.findall(r"https?://[^\s\"'<>)]+", text, flags=re.IGNORECASE))
        assert urls <= ALLOWED_URLS, (name, urls - ALLOWED_URLS)
        assert not re.search(r"(?:src|href)\s*=\s*[\"']//|url\(\s*[\"']?//", text), name
        assert "@import" not in text and "cdn" not in text.lower(), name


def test_page_links_only_to_its_own_assets(sqlite_app):
    html = page(sqlite_app.test_client()).get_data(as_text=True)
    for ref in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert ref.startswith("/"), ref
    client = sqlite_app.test_client()
    for asset in ("dashboard.js", "dashboard.css", "favicon.svg", *(f"js/{m}" for m in MODULES)):
        assert client.get(f"/static/{asset}").status_code == 200, asset


def test_the_page_loads_its_script_as_an_es_module_whose_imports_all_exist(sqlite_app):
    html = page(sqlite_app.test_client()).get_data(as_text=True)
    assert re.search(r'<script type="module" src="/static/dashboard\.js">', html)
    client = sqlite_app.test_client()
    for path in [PACKAGE / "static" / "dashboard.js", *(PACKAGE / "static" / "js").glob("*.js")]:
        for target in re.findall(r'^import .* from "(\./[^"]+)";$', path.read_text(), re.M):
            resolved = (path.parent / target).resolve()
            assert resolved.is_file(), (path.name, target)
            url = "/static/" + resolved.relative_to(PACKAGE / "static").as_posix()
            response = client.get(url)
            # Browsers refuse a module served with any type but JavaScript's.
            assert response.mimetype == "text/javascript", (url, response.mimetype)


def test_page_scripts_never_put_data_into_inner_html():
    for path in [PACKAGE / "static" / "dashboard.js", *(PACKAGE / "static" / "js").glob("*.js")]:
        script = path.read_text()
        assert "innerHTML" not in script and "insertAdjacentHTML" not in script, path.name
        assert "document.write" not in script and "eval(" not in script, path.name


def test_dashboard_page_still_renders_when_the_log_store_is_down(make_app):
    client = make_app("postgresql+psycopg://postgres@127.0.0.1:9/iris").test_client()
    response = page(client)
    assert response.status_code == 200
    assert 'id="model-version"' in response.get_data(as_text=True)
