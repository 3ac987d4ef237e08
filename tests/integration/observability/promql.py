"""Just enough PromQL reading to list the metric names an expression selects."""

from __future__ import annotations

import re

# The SPEC's metrics ("Metrics (names fixed)"), plus the counters the brief adds.
SPEC_COUNTERS = {
    "iris_predictions_total",
    "iris_prediction_errors_total",
    "iris_feedback_total",
    "iris_retrain_jobs_total",
    "iris_prediction_log_dropped_total",
    "iris_promotion_refused_total",
}
SPEC_GAUGES = {
    "iris_live_accuracy",
    "iris_feature_drift_psi",
    "iris_model_info",
    # the challenger trial (SPEC), and the canary share the trial's alert needs
    "iris_challenger_agreement_ratio",
    "iris_challenger_decision",
    "iris_shadow_lag_rows",
    "iris_challenger_canary_percent",
}
# The label-free accuracy estimate beside live accuracy (issue 9, item 7).
ESTIMATE_GAUGES = {
    "iris_estimated_accuracy",
    "iris_estimated_accuracy_lower",
    "iris_estimated_accuracy_upper",
    "iris_estimated_accuracy_rows",
    "iris_estimated_accuracy_gap_zscore",
    "iris_estimated_accuracy_labelled",
}
SPEC_HISTOGRAMS = {"iris_prediction_duration_seconds"}
# prometheus-flask-exporter's metrics, and the series Prometheus writes for every target.
FLASK_EXPORTER = {"flask_http_request_total"}
FLASK_HISTOGRAMS = {"flask_http_request_duration_seconds"}
PROMETHEUS_BUILTIN = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
# The scoring edge: HAProxy's exporter, the slot-to-version page, the recording rules.
EDGE = {
    "haproxy_frontend_http_responses_total",
    "haproxy_server_http_responses_total",
    "haproxy_server_total_time_average_seconds",
    "haproxy_server_current_sessions",
    "haproxy_server_current_queue",
    "iris_edge_slot_info",
    "iris_edge:slot_version",
    "iris_edge:responses:rate5m",
    "iris_edge:error_ratio:rate5m",
    "iris_edge:total_time_seconds:avg",
    "iris_edge:current_sessions",
}

_HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def known_metric_names() -> set[str]:
    """Every series name a dashboard or alert may select."""
    names = SPEC_COUNTERS | SPEC_GAUGES | ESTIMATE_GAUGES | FLASK_EXPORTER | PROMETHEUS_BUILTIN
    names |= EDGE
    for base in SPEC_HISTOGRAMS | FLASK_HISTOGRAMS:
        names |= {base + suffix for suffix in _HISTOGRAM_SUFFIXES}
    return names


_KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "offset",
    "bool",
    "inf",
    "nan",
}
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_LABEL_LISTS = re.compile(
    r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", re.IGNORECASE
)
_OFFSETS = re.compile(r"\boffset\s+-?[0-9a-z]+", re.IGNORECASE)
_IDENT = re.compile(r"(?<![\w:.$])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?")


def metric_names(expr: str) -> set[str]:
    """Metric names selected by a PromQL ``expr`` (functions, keywords, labels dropped)."""
    text = _STRINGS.sub('""', expr)
    text = _MATCHERS.sub(" ", text)
    text = _RANGES.sub(" ", text)
    text = _LABEL_LISTS.sub(" ", text)
    text = _OFFSETS.sub(" ", text)
    names = set()
    for match in _IDENT.finditer(text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in _KEYWORDS:
            continue
        names.add(name)
    return names
