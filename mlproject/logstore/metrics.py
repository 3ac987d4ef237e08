"""The metrics of the log store's contract: names, help texts and label names, each once.

The SPEC fixes the names (dashboards and alerts select them). Import them through
``mlproject.logstore.contract``, which re-exports every name here.

Metrics, each a ``Metric`` (name, help text, label names):
  counters kept in the ``counters`` table (``COUNTERS``, in exposition order):
    PREDICTIONS, PREDICTION_ERRORS, FEEDBACK, RETRAIN_JOBS, LOG_DROPPED,
    PROMOTION_REFUSED, FEEDBACK_UNMATCHED
  the latency histogram: DURATION, stored as DURATION_BUCKET{le} / DURATION_SUM /
    DURATION_COUNT rows over LATENCY_BUCKETS
  gauges the sidecar computes on each scrape: LOG_STORE_UP, MODEL_INFO, LIVE_ACCURACY,
    LIVE_ACCURACY_LABELLED, FEEDBACK_LABELLED_RATIO, LABEL_DELAY, DRIFT_WINDOW_SIZE,
    FEATURE_DRIFT_PSI, FEATURE_DRIFT_KS_PVALUE, and the label-free estimate
    ESTIMATED_ACCURACY (with _LOWER, _UPPER, _ROWS, _GAP, _LABELLED)
  the trial's gauges (``TRIAL_GAUGES``): LIVE_ACCURACY_BY_ROLE (iris_live_accuracy with
    labels version and role; the unlabelled series stays the served traffic's),
    CHALLENGER_AGREEMENT, CHALLENGER_DECISION (index in TRIAL_DECISIONS), SHADOW_LAG,
    CHALLENGER_CANARY_PERCENT
  *_TOTAL and DURATION_* are bare names (strings), the keys the writers count under.
  A help text may hold "{window}", filled in by whoever knows the window.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    """A metric's fixed name, its help text and its label names, in exposition order."""

    name: str
    help: str
    labels: tuple[str, ...] = ()


# ---- counters (rows of the ``counters`` table) --------------------------------------------
PREDICTIONS = Metric(
    "iris_predictions_total",
    "Predictions served, by model version and class",
    ("model_version", "prediction"),
)
PREDICTION_ERRORS = Metric(
    "iris_prediction_errors_total", "Rejected prediction requests, by reason", ("reason",)
)
FEEDBACK = Metric("iris_feedback_total", "True labels recorded through POST /feedback")
RETRAIN_JOBS = Metric(
    "iris_retrain_jobs_total", "Finished retrain jobs, by final status", ("status",)
)
LOG_DROPPED = Metric(
    "iris_prediction_log_dropped_total", "Prediction rows the log writer had to drop"
)
PROMOTION_REFUSED = Metric(
    "iris_promotion_refused_total",
    "Promotions the serving supervisor refused (the old version kept serving)",
)
FEEDBACK_UNMATCHED = Metric(
    "iris_feedback_unmatched_total",
    "Pending labels dropped because their prediction never reached the store in time",
)

COUNTERS: tuple[Metric, ...] = (
    PREDICTIONS,
    PREDICTION_ERRORS,
    FEEDBACK,
    RETRAIN_JOBS,
    LOG_DROPPED,
    PROMOTION_REFUSED,
    FEEDBACK_UNMATCHED,
)
# Exposed as 0 before their first increment, so rate() and alerts see a series at once.
ZERO_WHEN_ABSENT: frozenset[str] = frozenset({FEEDBACK.name, LOG_DROPPED.name})

PREDICTIONS_TOTAL = PREDICTIONS.name
ERRORS_TOTAL = PREDICTION_ERRORS.name
FEEDBACK_TOTAL = FEEDBACK.name
RETRAIN_JOBS_TOTAL = RETRAIN_JOBS.name
DROPPED_TOTAL = LOG_DROPPED.name
REFUSED_TOTAL = PROMOTION_REFUSED.name
FEEDBACK_UNMATCHED_TOTAL = FEEDBACK_UNMATCHED.name

# ---- the latency histogram -------------------------------------------------------------------
DURATION = Metric(
    "iris_prediction_duration_seconds", "Time inside the model's predict, per request"
)
DURATION_BUCKET = f"{DURATION.name}_bucket"  # one row per bound, label "le"
DURATION_SUM = f"{DURATION.name}_sum"
DURATION_COUNT = f"{DURATION.name}_count"

# ---- gauges the sidecar computes from the store -------------------------------------------
LOG_STORE_UP = Metric("iris_log_store_up", "1 if the last scrape could read the store")
MODEL_INFO = Metric("iris_model_info", "The model in service", ("name", "version", "run_id"))
LIVE_ACCURACY = Metric(
    "iris_live_accuracy", "Share of correct predictions among the latest {window} labelled ones"
)
LIVE_ACCURACY_LABELLED = Metric(
    "iris_live_accuracy_labelled", "Labelled predictions behind iris_live_accuracy"
)
FEEDBACK_LABELLED_RATIO = Metric(
    "iris_feedback_labelled_ratio",
    "Share of the latest {window} predictions that have a true label",
)
LABEL_DELAY = Metric(
    "iris_label_delay_seconds",
    "Median seconds from a prediction to its first label, latest {window} labels",
)
DRIFT_WINDOW_SIZE = Metric(
    "iris_drift_window_size", "Predictions in the live drift window (at most IRIS_DRIFT_WINDOW)"
)
FEATURE_DRIFT_PSI = Metric(
    "iris_feature_drift_psi",
    "Population stability index of the live window against the training reference",
    ("feature",),
)
FEATURE_DRIFT_KS_PVALUE = Metric(
    "iris_feature_drift_ks_pvalue",
    "Two-sample Kolmogorov-Smirnov p-value, live window against the training values",
    ("feature",),
)
# Label-free accuracy (CBPE, mlproject.cbpe): per model version, over the latest {window}
# predictions that version answered (served or shadow-scored), and on the latest {window}
# labelled ones, how far live accuracy sits from the calibrated expectation.
ESTIMATED_ACCURACY = Metric(
    "iris_estimated_accuracy",
    "Estimated accuracy without labels (mean calibrated confidence), latest {window} predictions",
    ("version",),
)
ESTIMATED_ACCURACY_LOWER = Metric(
    "iris_estimated_accuracy_lower", "Lower end of the estimate's 95% interval", ("version",)
)
ESTIMATED_ACCURACY_UPPER = Metric(
    "iris_estimated_accuracy_upper", "Upper end of the estimate's 95% interval", ("version",)
)
ESTIMATED_ACCURACY_ROWS = Metric(
    "iris_estimated_accuracy_rows", "Predictions behind iris_estimated_accuracy", ("version",)
)
ESTIMATED_ACCURACY_GAP = Metric(
    "iris_estimated_accuracy_gap_zscore",
    "Live minus estimated correct count on the latest {window} labelled predictions, in "
    "standard deviations of the estimate (beyond +-1.96: outside its 95% interval)",
    ("version",),
)
ESTIMATED_ACCURACY_LABELLED = Metric(
    "iris_estimated_accuracy_labelled",
    "Labelled predictions behind iris_estimated_accuracy_gap_zscore",
    ("version",),
)
# The challenger trial (absent while no trial runs).
LIVE_ACCURACY_BY_ROLE = Metric(
    LIVE_ACCURACY.name,
    LIVE_ACCURACY.help,
    ("version", "role"),
)  # same name: the trial's two versions over their paired labelled rows
CHALLENGER_AGREEMENT = Metric(
    "iris_challenger_agreement_ratio",
    "Share of paired rows on which champion and challenger predict the same class",
)
CHALLENGER_DECISION = Metric(
    "iris_challenger_decision",
    "The trial's recorded decision: 0 collecting, 1 challenger better, "
    "2 challenger worse, 3 no difference",
)
SHADOW_LAG = Metric(
    "iris_shadow_lag_rows", "Logged rows of the model the shadow scorer has not read yet"
)
CHALLENGER_CANARY_PERCENT = Metric(
    "iris_challenger_canary_percent",
    "Share of live traffic (percent) the registry's serving.canary_percent sends to the challenger",
)
TRIAL_GAUGES: tuple[Metric, ...] = (
    LIVE_ACCURACY_BY_ROLE,
    CHALLENGER_AGREEMENT,
    CHALLENGER_DECISION,
    SHADOW_LAG,
    CHALLENGER_CANARY_PERCENT,
)

GAUGES: tuple[Metric, ...] = (
    LOG_STORE_UP,
    MODEL_INFO,
    LIVE_ACCURACY,
    LIVE_ACCURACY_LABELLED,
    FEEDBACK_LABELLED_RATIO,
    LABEL_DELAY,
    DRIFT_WINDOW_SIZE,
    FEATURE_DRIFT_PSI,
    FEATURE_DRIFT_KS_PVALUE,
    ESTIMATED_ACCURACY,
    ESTIMATED_ACCURACY_LOWER,
    ESTIMATED_ACCURACY_UPPER,
    ESTIMATED_ACCURACY_ROWS,
    ESTIMATED_ACCURACY_GAP,
    ESTIMATED_ACCURACY_LABELLED,
    # the trial's, but LIVE_ACCURACY_BY_ROLE (a second label set of LIVE_ACCURACY)
    *TRIAL_GAUGES[1:],
)


# Histogram buckets (seconds) for iris_prediction_duration_seconds, kept cumulative in
# ``counters`` as metric "iris_prediction_duration_seconds_bucket" with label "le".
LATENCY_BUCKETS: tuple[float, ...] = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
