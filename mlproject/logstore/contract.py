"""The log store's contract: the values its writers and readers must agree on, each once.

The SPEC fixes the metric names (dashboards and alerts select them); the serving supervisor
writes ``model_switches`` rows whose ``outcome`` the sidecar reads back; the sidecar's job
runner writes ``retrain_jobs`` states the dashboard follows. Import the names from here
rather than spelling them again.

The metrics (each a ``Metric``: name, help text, label names) are defined in
``mlproject.logstore.metrics`` and re-exported here, so every name has this one home.

``model_switches.outcome``: SWITCHED, REFUSED, RESTARTED; for the challenger's process
CANARY_STARTED, CANARY_STOPPED, CANARY_RESTARTED; and the trial's actions PROMOTED,
CANARY_WITHDRAWN (``TRIAL_ACTIONS``); all in ``SWITCH_OUTCOMES``. ``SERVING_OUTCOMES`` are
those after which a version is serving as the champion.
``retrain_jobs.state``: QUEUED, RUNNING, SUCCEEDED, FAILED (``JOB_STATES``);
``ACTIVE_JOB_STATES`` hold the single-flight slot.
"""

# Re-exported ("X as X"): the contract keeps one import surface. One statement, not isort's
# one per alias (the noqa), and so first in the file.
from mlproject.logstore.metrics import (  # noqa: I001
    CHALLENGER_AGREEMENT as CHALLENGER_AGREEMENT,
    CHALLENGER_CANARY_PERCENT as CHALLENGER_CANARY_PERCENT,
    CHALLENGER_DECISION as CHALLENGER_DECISION,
    COUNTERS as COUNTERS,
    DRIFT_WINDOW_SIZE as DRIFT_WINDOW_SIZE,
    DROPPED_TOTAL as DROPPED_TOTAL,
    DURATION as DURATION,
    DURATION_BUCKET as DURATION_BUCKET,
    DURATION_COUNT as DURATION_COUNT,
    DURATION_SUM as DURATION_SUM,
    ERRORS_TOTAL as ERRORS_TOTAL,
    ESTIMATED_ACCURACY as ESTIMATED_ACCURACY,
    ESTIMATED_ACCURACY_GAP as ESTIMATED_ACCURACY_GAP,
    ESTIMATED_ACCURACY_LABELLED as ESTIMATED_ACCURACY_LABELLED,
    ESTIMATED_ACCURACY_LOWER as ESTIMATED_ACCURACY_LOWER,
    ESTIMATED_ACCURACY_ROWS as ESTIMATED_ACCURACY_ROWS,
    ESTIMATED_ACCURACY_UPPER as ESTIMATED_ACCURACY_UPPER,
    FEATURE_DRIFT_KS_PVALUE as FEATURE_DRIFT_KS_PVALUE,
    FEATURE_DRIFT_PSI as FEATURE_DRIFT_PSI,
    FEEDBACK as FEEDBACK,
    FEEDBACK_LABELLED_RATIO as FEEDBACK_LABELLED_RATIO,
    FEEDBACK_TOTAL as FEEDBACK_TOTAL,
    FEEDBACK_UNMATCHED as FEEDBACK_UNMATCHED,
    FEEDBACK_UNMATCHED_TOTAL as FEEDBACK_UNMATCHED_TOTAL,
    GAUGES as GAUGES,
    LABEL_DELAY as LABEL_DELAY,
    LATENCY_BUCKETS as LATENCY_BUCKETS,
    LIVE_ACCURACY as LIVE_ACCURACY,
    LIVE_ACCURACY_BY_ROLE as LIVE_ACCURACY_BY_ROLE,
    LIVE_ACCURACY_LABELLED as LIVE_ACCURACY_LABELLED,
    LOG_DROPPED as LOG_DROPPED,
    LOG_STORE_UP as LOG_STORE_UP,
    MODEL_INFO as MODEL_INFO,
    PREDICTION_ERRORS as PREDICTION_ERRORS,
    PREDICTIONS as PREDICTIONS,
    PREDICTIONS_TOTAL as PREDICTIONS_TOTAL,
    PROMOTION_REFUSED as PROMOTION_REFUSED,
    REFUSED_TOTAL as REFUSED_TOTAL,
    RETRAIN_JOBS as RETRAIN_JOBS,
    RETRAIN_JOBS_TOTAL as RETRAIN_JOBS_TOTAL,
    SHADOW_LAG as SHADOW_LAG,
    TRIAL_GAUGES as TRIAL_GAUGES,
    ZERO_WHEN_ABSENT as ZERO_WHEN_ABSENT,
    Metric as Metric,
)

# ---- model_switches.outcome ------------------------------------------------------------------
SWITCHED = "switched"  # a new version took traffic
REFUSED = "refused"  # a promoted version failed to load or its smoke test; the old one serves
RESTARTED = "restarted"  # the same version in a new process
# The challenger (issue 9) in the edge's canary slots; a challenger that fails to load or
# its smoke test is REFUSED like a switch, with a reason naming the challenger. In these
# rows ``to_version`` is the challenger's version and ``from_version`` the champion's.
CANARY_STARTED = "canary started"  # the challenger took its slots (and its canary share)
CANARY_STOPPED = "canary stopped"  # alias moved or deleted, or the challenger became champion
CANARY_RESTARTED = "canary restarted"  # the challenger in a new process
# What the trial did with IRIS_AUTO_PROMOTE=true (challenger_decisions.action, and the
# outcome of the model_switches row that records the gesture; the supervisor's own
# "switched" row follows once the new champion serves).
PROMOTED = "promoted"  # @champion moved to the challenger on "challenger better"
CANARY_WITHDRAWN = "canary withdrawn"  # serving.canary_percent set to 0 on "challenger worse"
TRIAL_ACTIONS: tuple[str, ...] = (PROMOTED, CANARY_WITHDRAWN)
SWITCH_OUTCOMES: tuple[str, ...] = (
    SWITCHED,
    REFUSED,
    RESTARTED,
    CANARY_STARTED,
    CANARY_STOPPED,
    CANARY_RESTARTED,
    *TRIAL_ACTIONS,
)
SERVING_OUTCOMES: tuple[str, ...] = (SWITCHED, RESTARTED)

# ---- retrain_jobs.state ----------------------------------------------------------------------
QUEUED = "queued"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
JOB_STATES: tuple[str, ...] = (QUEUED, RUNNING, SUCCEEDED, FAILED)
ACTIVE_JOB_STATES: tuple[str, ...] = (QUEUED, RUNNING)

# ---- the challenger trial ----------------------------------------------------------------------
# predictions.role and shadow_predictions.role: who made the answer in its trial.
CHAMPION = "champion"
CHALLENGER = "challenger"
ROLES: tuple[str, ...] = (CHAMPION, CHALLENGER)
# challenger_decisions.decision, the sequential test's verdict; the metric
# iris_challenger_decision exposes its index in TRIAL_DECISIONS.
COLLECTING = "collecting"
CHALLENGER_BETTER = "challenger better"
CHALLENGER_WORSE = "challenger worse"
NO_DIFFERENCE = "no difference"
TRIAL_DECISIONS: tuple[str, ...] = (COLLECTING, CHALLENGER_BETTER, CHALLENGER_WORSE, NO_DIFFERENCE)
# The registered-model tag (set in the MLflow UI) with the challenger's share of live traffic.
CANARY_PERCENT_TAG = "serving.canary_percent"
