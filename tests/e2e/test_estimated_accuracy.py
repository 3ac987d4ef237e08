"""The label-free accuracy estimate on real parts: trained calibration, served predictions,
the shipper's store, and /metrics of a gunicorn sidecar (SQLite and PostgreSQL)."""

from __future__ import annotations

import pandas as pd
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from mlproject.config import FEATURES
from tests.e2e.test_prediction_log import drain
from tests.support.processes import REPO_ROOT, wait_for
from tests.support.stack import start_scoring, start_sidecar

pytestmark = pytest.mark.slow
TOKEN = "estimate-token"


def gauges(url: str) -> dict[tuple[str, str], float]:
    """(metric, version) -> value for the estimate's families on the sidecar's /metrics."""
    text = requests.get(f"{url}/metrics", timeout=30).text
    return {
        (sample.name, sample.labels["version"]): sample.value
        for family in text_string_to_metric_families(text)
        if family.name.startswith("iris_estimated_accuracy")
        for sample in family.samples
    }


def scrape_when(url: str, ready) -> dict | None:
    """One scrape's estimate gauges if ``ready(gauges)``, else None (each worker caches 5 s)."""
    found = gauges(url)
    return found if ready(found) else None


def test_served_predictions_get_an_estimated_accuracy_and_wrong_labels_show_the_gap(
    trained_registry, store_url, tmp_path
):
    rows = pd.read_csv(REPO_ROOT / "data" / "iris.csv").iloc[::3].reset_index(drop=True)
    spool = tmp_path / "spool"
    scoring = start_scoring(
        trained_registry["tracking_uri"],
        store_url,
        tmp_path,
        extra_env={"IRIS_SPOOL_DIR": str(spool)},
    )
    try:
        body = {
            "dataframe_split": {
                "columns": list(FEATURES),
                "data": rows[list(FEATURES)].values.tolist(),
            }
        }
        answer = requests.post(f"{scoring.url}/invocations", json=body, timeout=60)
        assert answer.status_code == 200, answer.text
        predictions = answer.json()["predictions"]
    finally:
        scoring.stop()
    from mlproject.logstore import layout

    drain(store_url, layout.spool_folder(spool, store_url))
    sidecar = start_sidecar(
        store_url, tmp_path, tracking_uri=trained_registry["tracking_uri"], token=TOKEN
    )
    try:
        version = predictions[0]["model_version"]
        found = wait_for(
            lambda: scrape_when(sidecar.url, lambda g: ("iris_estimated_accuracy", version) in g),
            "iris_estimated_accuracy on /metrics",
        )
        estimate = found[("iris_estimated_accuracy", version)]
        assert found[("iris_estimated_accuracy_rows", version)] == len(rows) == 50
        lower = found[("iris_estimated_accuracy_lower", version)]
        upper = found[("iris_estimated_accuracy_upper", version)]
        assert 0.8 < lower < estimate < upper <= 1.0
        assert ("iris_estimated_accuracy_gap_zscore", version) not in found  # no labels yet

        # Labels that contradict the model on 20 of 50 rows: live accuracy far below the
        # estimate, the situation the alert exists for.
        headers = {"Authorization": f"Bearer {TOKEN}"}
        for index, item in enumerate(predictions):
            truth = rows.loc[index, "species"]
            if index < 20:
                truth = "setosa" if item["prediction"] != "setosa" else "virginica"
            response = requests.post(
                f"{sidecar.url}/feedback",
                json={"prediction_id": item["prediction_id"], "label": truth},
                headers=headers,
                timeout=30,
            )
            assert response.status_code == 201, response.text
        found = wait_for(
            lambda: scrape_when(
                sidecar.url, lambda g: g.get(("iris_estimated_accuracy_labelled", version)) == 50
            ),
            "the gap on 50 labelled rows",
        )
        assert found[("iris_estimated_accuracy_gap_zscore", version)] < -5

        def panel_entry() -> dict | None:
            # Each gunicorn worker keeps its own computation for 5 s.
            panel = requests.get(f"{sidecar.url}/api/accuracy", timeout=30).json()
            [entry] = [e for e in panel["estimated"] if e["version"] == version]
            return entry if entry["live"] and entry["live"]["labelled"] == 50 else None

        entry = wait_for(panel_entry, "the dashboard's estimate beside 50 labels")
        assert entry["estimate"]["accuracy"] == pytest.approx(estimate)
        assert entry["live"]["accuracy"] <= 0.6
    finally:
        sidecar.stop()
