"""What the dashboard's browser test needs: Chromium, a sidecar, realistic store content."""

from __future__ import annotations

import csv
import io
import random
import shutil
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
import sqlalchemy as sa

from mlproject.config import CLASSES, FEATURES
from mlproject.logstore import LogWriter, PredictionRecord, tables
from tests.support.processes import (
    REPO_ROOT,
    Server,
)
from tests.support.records import prediction_record, rejection_record
from tests.support.stack import start_sidecar

DASHBOARD_TOKEN = "dashboard-token-789"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TINY_PROJECT = REPO_ROOT / "tests" / "integration" / "sidecar" / "tiny_project"
# Records what the page's Content-Security-Policy blocked, from before any script runs.
CSP_LISTENER = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


def missing_browser() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium); no browser is downloaded"
    return None


class Console:
    """Console errors and uncaught exceptions of one page."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))


def start_dashboard_sidecar(
    folder: Path,
    store_url: str,
    *,
    token: str | None,
    tracking_uri: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> Server:
    """scripts/run-sidecar.sh over ``store_url`` with the tiny project, on a free port."""
    project = folder / f"project-{uuid.uuid4().hex[:8]}"
    return start_sidecar(
        store_url,
        folder,
        tracking_uri=tracking_uri or f"sqlite:///{folder / 'no-mlflow.db'}",
        token=token,
        isolated=True,  # nothing from the shell that ran pytest
        extra_env={
            "IRIS_PROJECT_DIR": str(shutil.copytree(TINY_PROJECT, project)),
            "IRIS_DATA_PATH": str(REPO_ROOT / "data" / "iris.csv"),
            **(extra_env or {}),
        },
    )


def iris_rows() -> list[dict[str, str]]:
    with (REPO_ROOT / "data" / "iris.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def prediction(row: dict, version: str, run_id: str, when: datetime, rng) -> PredictionRecord:
    """A logged prediction for a data set row: mostly right, confident, a few ms."""
    label = row["species"] if rng.random() > 0.08 else rng.choice(CLASSES)
    top = rng.uniform(0.6, 0.99)
    rest = (1 - top) / 2
    return prediction_record(
        created_at=when,
        model_version=version,
        run_id=run_id,
        request_id=f"req-{uuid.uuid4().hex[:8]}",
        **{name: float(row[name]) for name in FEATURES},
        prediction=label,
        class_index=CLASSES.index(label),
        probabilities={name: (top if name == label else rest) for name in CLASSES},
        latency_seconds=rng.uniform(0.0015, 0.004) * (3 if rng.random() < 0.05 else 1),
    )


def write_predictions(
    engine, count: int, version: str, run_id: str, seed: int, shift: float = 0.0
) -> list:
    """``count`` predictions ending now, written through the real LogWriter."""
    rng = random.Random(seed)
    rows = iris_rows()
    now = datetime.now(UTC)
    records = [
        prediction(rng.choice(rows), version, run_id, now - timedelta(seconds=2 * (count - i)), rng)
        for i in range(count)
    ]
    if shift:  # wider sepals in the latest rows: the drift the dashboard should show in red
        records[-count // 2 :] = [
            replace(r, sepal_width=r.sepal_width + shift) for r in records[-count // 2 :]
        ]
    writer = LogWriter(engine)
    writer.start()
    for record in records:
        writer.submit_predictions([record], record.latency_seconds)
    for index, (reason, field) in enumerate(
        [
            ("negative", "petal_width"),
            ("not_a_number", "sepal_length"),
            ("negative", "petal_length"),
        ]
        if seed == 0
        else []
    ):
        writer.submit_rejection(
            rejection_record(
                created_at=now - timedelta(minutes=index),
                model_version=version,
                request_id=None,
                reason=reason,
                field=field,
                row_index=0,
                message=f"row 0, column '{field}': refused ({reason})",
            )
        )
    assert writer.flush(timeout=30), "the log writer did not commit in time"
    writer.close()
    return records


def record_switches(engine, version: str) -> None:
    """What the serving supervisor writes: a start and a refused promotion."""
    now = datetime.now(UTC)
    rows = [
        (now - timedelta(hours=2), None, version, "switched", "first start of the champion"),
        (now - timedelta(minutes=30), version, "9", "refused", "smoke prediction failed"),
    ]
    with engine.begin() as conn:
        for when, old, new, outcome, reason in rows:
            conn.execute(
                sa.insert(tables.model_switches).values(
                    switched_at=when,
                    model_name="iris-classifier",
                    from_version=old,
                    to_version=new,
                    outcome=outcome,
                    reason=reason,
                )
            )


def label_some(url: str, token: str, records, share: float = 0.3) -> None:
    rng = random.Random(7)
    for record in records[-int(len(records) * share) :]:
        truth = record.prediction if rng.random() > 0.1 else rng.choice(CLASSES)
        response = requests.post(
            f"{url}/feedback",
            json={"prediction_id": record.prediction_id, "label": truth},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert response.status_code in (200, 201), response.text


def compact_png(png: bytes) -> bytes:
    """The screenshot with a 256-colour palette, which keeps the flat UI legible and small."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    out = io.BytesIO()
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(out, "PNG", optimize=True)
    return out.getvalue()
