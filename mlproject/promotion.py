"""Act on the gate's verdict: write the evidence on the version and the run, move an alias.

- ``promoted``: ``@champion`` (and the Production stage) move to the new version;
- ``refused``: nothing moves; the version stays registered with the evidence;
- ``challenger``: ``@challenger`` moves to the new version, so serving runs it beside the
  champion and live, labelled traffic settles what 30 held-out rows could not.

Machines read the tags (``gate.*``), people the description; the run gets the same numbers
as metrics (``gate_*``) so runs can be compared in the MLflow UI.
"""

from __future__ import annotations

import logging

import mlflow
from mlflow import MlflowClient

from mlproject.gate import CHALLENGER, PROMOTED, GateVerdict
from mlproject.registry import promote, record_decision

logger = logging.getLogger(__name__)

CHALLENGER_ALIAS = "challenger"


def version_tags(verdict: GateVerdict) -> dict[str, str]:
    """The verdict as model-version tags (strings, as the registry stores them)."""
    tags = {
        "gate.decision": verdict.decision,
        "gate.reason": verdict.reason,
        "gate.champion_version": verdict.champion_version or "",
        "gate.alpha": str(verdict.alpha),
    }
    if verdict.counts is not None and verdict.test is not None:
        tags.update(
            {
                "gate.rows": str(verdict.counts.rows),
                "gate.discordant_champion_only": str(verdict.counts.champion_only),
                "gate.discordant_candidate_only": str(verdict.counts.candidate_only),
                "gate.mcnemar_pvalue_worse": f"{verdict.test.p_candidate_worse:.6g}",
                "gate.mcnemar_pvalue_better": f"{verdict.test.p_candidate_better:.6g}",
            }
        )
    if verdict.cv is not None:
        tags.update({f"gate.cv_{k}": _text(v) for k, v in verdict.cv.summary().items()})
    for role, metrics in verdict.metrics.items():
        tags.update({f"gate.{role}_{name}": f"{value:.6f}" for name, value in metrics.items()})
    return tags


def run_metrics(verdict: GateVerdict) -> dict[str, float]:
    """The verdict's numbers as metrics of the training run."""
    metrics: dict[str, float] = {}
    if verdict.counts is not None and verdict.test is not None:
        metrics.update(
            {
                "gate_rows": verdict.counts.rows,
                "gate_discordant_champion_only": verdict.counts.champion_only,
                "gate_discordant_candidate_only": verdict.counts.candidate_only,
                "gate_mcnemar_pvalue_worse": verdict.test.p_candidate_worse,
                "gate_mcnemar_pvalue_better": verdict.test.p_candidate_better,
            }
        )
    if verdict.cv is not None:
        metrics.update(
            {
                "gate_cv_mean_difference": verdict.cv.mean,
                "gate_cv_std_difference": verdict.cv.std,
                "gate_cv_folds_worse": verdict.cv.folds_worse,
                "gate_cv_corrected_pvalue": verdict.cv.corrected_pvalue,
            }
        )
    return metrics


def apply_verdict(
    client: MlflowClient,
    name: str,
    version: str,
    verdict: GateVerdict,
    champion_alias: str,
    provenance: str,
    lineage: dict[str, str] | None = None,
) -> None:
    """Record the verdict on the version and the active run, then move the alias it calls for.

    ``lineage`` (candidate, data digest) is tagged on the version beside the verdict: the
    sidecar's lineage panel reads those tags.
    """
    words = {
        PROMOTED: f"Promoted to @{champion_alias}",
        CHALLENGER: f"Registered as @{CHALLENGER_ALIAS} (not @{champion_alias})",
    }
    verdict_text = words.get(verdict.decision, f"Not promoted to @{champion_alias}")
    record_decision(
        client,
        name,
        version,
        {**(lineage or {}), **version_tags(verdict)},
        f"{verdict_text} by the quality gate: {verdict.reason}. {provenance}",
    )
    mlflow.log_metrics(run_metrics(verdict))
    mlflow.log_params({"gate_decision": verdict.decision, "gate_alpha": verdict.alpha})
    if verdict.decision == PROMOTED:
        promote(client, name, version, champion_alias)
    elif verdict.decision == CHALLENGER:
        client.set_registered_model_alias(name, CHALLENGER_ALIAS, version)
        logger.info("%s version %s is @%s", name, version, CHALLENGER_ALIAS)


def _text(value: object) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)
