"""Alerts and dashboards select only the SPEC's metrics, through the provisioned datasource."""

from __future__ import annotations

import json

import pytest
import yaml

from mlproject.logstore import contract

from .conftest import (
    DASHBOARDS_DIR,
    DATASOURCE_UID,
    GRAFANA_DIR,
    PROMETHEUS_DIR,
    assert_succeeded,
    require_tool,
    run,
)
from .promql import EDGE, known_metric_names, metric_names


def _alert_exprs():
    rules = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())
    return [(rule["alert"], rule["expr"]) for g in rules["groups"] for rule in g["rules"]]


def _panels(panels):
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def _dashboards():
    paths = sorted(DASHBOARDS_DIR.glob("*.json"))
    assert paths, f"no dashboards in {DASHBOARDS_DIR}"
    return [(path.name, json.loads(path.read_text())) for path in paths]


def _dashboard_exprs():
    for name, dashboard in _dashboards():
        for panel in _panels(dashboard.get("panels", [])):
            for target in panel.get("targets", []):
                yield f"{name} / {panel.get('title')} / {target.get('refId')}", target["expr"]


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (
            "sum by (le) (rate(iris_prediction_duration_seconds_bucket[5m]))",
            {"iris_prediction_duration_seconds_bucket"},
        ),
        ('up{job=~"sidecar|x"} == 0', {"up"}),
        ("a / ignoring(prediction) group_left() sum(b) or vector(0)", {"a", "b"}),
        ("x unless x offset 1h and on (job, instance) (up offset 1h == 1)", {"x", "up"}),
        ('histogram_quantile(0.95, sum by (le) (rate(m{l="a{b}"}[5m]))) > 0.5', {"m"}),
    ],
)
def test_metric_name_reader_finds_selected_series_only(expr, expected):
    assert metric_names(expr) == expected


def test_a_misspelt_metric_name_would_be_caught():
    unknown = metric_names("sum(rate(iris_predictons_total[5m]))") - known_metric_names()
    assert unknown == {"iris_predictons_total"}


def test_every_spec_metric_the_dashboards_may_use_is_defined_in_the_log_store_contract():
    defined = {m.name for m in (*contract.COUNTERS, *contract.GAUGES)}
    defined |= {contract.DURATION_BUCKET, contract.DURATION_SUM, contract.DURATION_COUNT}
    # The edge's series come from HAProxy, its recording rules and the supervisor's /slots.
    spec = {name for name in known_metric_names() - EDGE if name.startswith("iris_")}
    assert spec - defined == set()


def test_the_contract_defines_each_metric_name_once():
    names = [m.name for m in (*contract.COUNTERS, *contract.GAUGES, contract.DURATION)]
    assert len(names) == len(set(names))
    assert all(m.name.endswith("_total") for m in contract.COUNTERS)


def test_every_metric_in_the_alert_rules_is_a_spec_metric():
    unknown = {
        alert: sorted(metric_names(expr) - known_metric_names()) for alert, expr in _alert_exprs()
    }
    assert {alert: names for alert, names in unknown.items() if names} == {}


def test_every_metric_in_the_dashboards_is_a_spec_metric():
    unknown = {
        where: sorted(metric_names(expr) - known_metric_names())
        for where, expr in _dashboard_exprs()
    }
    assert {where: names for where, names in unknown.items() if names} == {}


def test_every_dashboard_query_selects_at_least_one_metric():
    empty = [where for where, expr in _dashboard_exprs() if not metric_names(expr)]
    assert empty == []


def test_the_provisioned_datasource_has_the_uid_dashboards_use():
    provisioning = yaml.safe_load(
        (GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )
    [datasource] = provisioning["datasources"]
    assert datasource["uid"] == DATASOURCE_UID
    assert datasource["type"] == "prometheus"


def test_every_dashboard_panel_and_query_uses_the_provisioned_datasource():
    wrong = []
    for name, dashboard in _dashboards():
        for panel in _panels(dashboard.get("panels", [])):
            if panel["type"] == "row":
                continue
            where = f"{name} / {panel.get('title')}"
            if (panel.get("datasource") or {}).get("uid") != DATASOURCE_UID:
                wrong.append(where)
            for target in panel.get("targets", []):
                if (target.get("datasource") or {}).get("uid") != DATASOURCE_UID:
                    wrong.append(f"{where} / {target.get('refId')}")
                if not target.get("expr", "").strip():
                    wrong.append(f"{where} / {target.get('refId')}: no expr")
    assert wrong == []


def test_dashboards_have_unique_uids_and_panel_ids():
    uids = [dashboard["uid"] for _, dashboard in _dashboards()]
    assert len(uids) == len(set(uids))
    for name, dashboard in _dashboards():
        ids = [panel["id"] for panel in _panels(dashboard.get("panels", []))]
        assert len(ids) == len(set(ids)), name


def test_dashboard_provider_loads_the_dashboards_folder():
    provisioning = yaml.safe_load(
        (GRAFANA_DIR / "provisioning" / "dashboards" / "dashboards.yml").read_text()
    )
    [provider] = provisioning["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "${GRAFANA_DASHBOARDS_DIR}"


def test_every_dashboard_query_is_valid_promql(tmp_path):
    promtool = require_tool("promtool", "parsing the dashboards' PromQL")
    rules = [
        {"record": f"dashboard:query_{index}:check", "expr": expr}
        for index, (_, expr) in enumerate(_dashboard_exprs())
    ]
    path = tmp_path / "dashboard_queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    assert_succeeded(run([promtool, "check", "rules", path]))
