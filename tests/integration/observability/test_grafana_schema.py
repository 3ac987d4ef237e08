"""Dashboards type-check against Grafana's own schema (@grafana/schema, tsc --noEmit)."""

from __future__ import annotations

import json

import pytest

from .conftest import DASHBOARDS_DIR, GRAFANA_DIR, assert_succeeded, require_tool, run

CHECK = GRAFANA_DIR / "schema-check" / "check.sh"

pytestmark = pytest.mark.timeout(600)


def _require_node():
    require_tool("node", "the Grafana dashboard schema check")
    require_tool("npm", "installing @grafana/schema and typescript (npm ci)")


def test_dashboards_match_the_grafana_dashboard_schema():
    _require_node()
    result = run(["bash", CHECK])
    assert_succeeded(result)
    assert "grafana schema check: OK" in result.stdout


def test_the_schema_check_rejects_a_dashboard_with_a_wrong_field(tmp_path):
    _require_node()
    dashboard = json.loads((DASHBOARDS_DIR / "iris-overview.json").read_text())
    panel = next(p for p in dashboard["panels"] if p["type"] == "timeseries")
    panel["fieldConfig"]["defaults"]["custom"]["drawStyle"] = "lines"  # not a GraphDrawStyle
    panel["gridPos"]["h"] = "8"  # a string where the schema wants a number
    (tmp_path / "broken.json").write_text(json.dumps(dashboard))

    result = run(["bash", CHECK], env={"CHECK_DASHBOARDS_DIR": str(tmp_path)})

    assert result.returncode != 0
    assert '"lines"' in result.stdout
    assert "not assignable to type 'number'" in result.stdout
    # leave generated/ describing the real dashboards again
    assert_succeeded(run(["bash", CHECK]))
