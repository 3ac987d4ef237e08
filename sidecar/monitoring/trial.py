"""The challenger trial's gauges, from the same report ``GET /challenger`` answers.

All are absent while no trial runs. ``iris_live_accuracy{version,role}`` is the accuracy
of each trial version over the paired labelled rows; it shares its name with the
unlabelled ``iris_live_accuracy`` of the served traffic, which alerts and dashboards
select with ``{role=""}``.
"""

from __future__ import annotations

import sqlalchemy as sa
from prometheus_client.core import GaugeMetricFamily, Metric

from mlproject.logstore import contract

from ..trial_report import TrialMonitor


def trial_metrics(monitor: TrialMonitor, conn: sa.Connection) -> list[Metric]:
    """Agreement, decision, shadow lag, canary share and per-version accuracy (gauge provider)."""
    trial = monitor.report(conn)["trial"]
    families = {
        ("by_role" if spec is contract.LIVE_ACCURACY_BY_ROLE else spec.name): _gauge(spec)
        for spec in contract.TRIAL_GAUGES
    }
    if trial is not None:
        for role in contract.ROLES:
            accuracy = trial[f"{role}_accuracy"]
            if accuracy is not None:
                families["by_role"].add_metric([trial[f"{role}_version"], role], accuracy["value"])
        if trial["agreement"] is not None:
            families[contract.CHALLENGER_AGREEMENT.name].add_metric([], trial["agreement"])
        families[contract.CHALLENGER_DECISION.name].add_metric(
            [], contract.TRIAL_DECISIONS.index(trial["decision"])
        )
        if trial["shadow_lag_rows"] is not None:
            families[contract.SHADOW_LAG.name].add_metric([], trial["shadow_lag_rows"])
        if trial["canary_percent"] is not None:
            families[contract.CHALLENGER_CANARY_PERCENT.name].add_metric(
                [], trial["canary_percent"]
            )
    # The per-version accuracies join the unlabelled iris_live_accuracy family: the
    # collector merges families of one name (see collector.merge_same_name).
    return list(families.values())


def _gauge(spec: contract.Metric) -> GaugeMetricFamily:
    return GaugeMetricFamily(spec.name, spec.help, labels=list(spec.labels))
