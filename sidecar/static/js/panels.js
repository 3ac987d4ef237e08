/* The panels: each polls one JSON source and writes only the elements it claims. */

import { drawMix, drawSparkline } from "./charts.js";
import { challenger } from "./challenger.js";
import { claim, clear, el, setText } from "./dom.js";
import { classColor, fmtNumber, fmtPercent, fmtPValue, fmtSeconds, fmtTime, safeHref } from "./format.js";

const ACTIVE_JOB_STATES = ["queued", "running"];

function badge(text) { return el("span", { class: "badge", "data-kind": text, text }); }

function classDot(name) { return el("span", { class: "class-dot", style: { background: classColor(name) } }); }

function emptyRow(columns, text) { return el("tr", null, [el("td", { colspan: columns, class: "muted", text })]); }

function setPill(pill, name, reachable, error) {
  pill.dataset.state = reachable ? "ok" : "down";
  pill.textContent = `${name}${reachable ? " ok" : " down"}`;
  pill.title = error || "";
}

/* Health, the model in service and its lineage, totals, a refused promotion, and a job
 * already running (its id comes only with the token, so without it the page can only say
 * that one runs). */
function overview({ onActiveJob, onHiddenJob, authHeaders }) {
  const $ = claim("overview", [
    "health-store", "health-scoring", "model-name", "model-version", "lineage-name",
    "lineage-version", "lineage-run", "lineage-digest", "lineage-candidate", "lineage-gate",
    "lineage-run-link", "lineage-registry", "predictions-total", "last-prediction", "refused-banner",
  ]);
  return {
    source: "api/overview",
    headers: authHeaders,
    render(data) {
      const health = data.health || {};
      const store = health.log_store || {};
      const scoring = health.scoring || {};
      setPill($("health-store"), "log store", store.reachable, store.error);
      setPill($("health-scoring"), "scoring", scoring.reachable, scoring.error);

      const model = data.model || {};
      const lineage = data.lineage || {};
      setText($("model-name"), model.name);
      setText($("model-version"), `v${model.version || "unknown"}`);
      setText($("lineage-name"), model.name);
      setText($("lineage-version"), model.version || "unknown");
      setText($("lineage-run"), lineage.run_id || model.run_id || "unknown");
      setText($("lineage-digest"), lineage.data_digest || "unknown");
      $("lineage-digest").title = lineage.data_digest || "";
      setText($("lineage-candidate"), lineage.candidate || "unknown");
      setText($("lineage-gate"), lineage.gate_decision || "unknown");
      const link = $("lineage-run-link");
      const href = safeHref(lineage.run_url);
      link.hidden = !href;
      if (href) link.href = href; else link.removeAttribute("href");
      const registry = { reachable: "", not_asked: "no model version known yet" }[lineage.registry];
      setText($("lineage-registry"), registry ?? "MLflow registry unreachable: lineage unknown");

      setText($("predictions-total"), (data.predictions_total || 0).toLocaleString());
      setText($("last-prediction"), fmtTime(data.last_prediction_at));

      const refused = health.refused_promotion;
      const banner = $("refused-banner");
      banner.hidden = !refused;
      if (refused) {
        banner.textContent = `Promotion of ${refused.model_name} v${refused.to_version} was refused at ` +
          `${fmtTime(refused.switched_at)}: ${refused.reason}` +
          (refused.from_version ? ` (v${refused.from_version} keeps serving)` : "");
      }
      const job = data.latest_job;
      if (job && ACTIVE_JOB_STATES.includes(job.state)) {
        if (job.job_id) onActiveJob(job.job_id); else onHiddenJob(job.state);
      }
    },
  };
}

/* Class mix over time and latency percentiles. */
function stats() {
  const $ = claim("stats", [
    "mix-window", "mix-chart", "mix-legend", "latency-p50", "latency-p95", "latency-sparkline",
    "versions-in-window",
  ]);
  return {
    source: "api/stats?window=200&buckets=12",
    render(data) {
      setText($("mix-window"), `latest ${data.count} predictions`);
      drawMix($("mix-chart"), data);
      const legend = $("mix-legend");
      clear(legend);
      Object.entries(data.class_mix).forEach(([name, count]) => {
        const share = data.count ? Math.round((100 * count) / data.count) : 0;
        legend.appendChild(el("li", null, [
          el("span", { class: "swatch", style: { background: classColor(name) } }),
          `${name} ${count} (${share}%)`,
        ]));
      });
      const latency = data.latency_seconds || {};
      setText($("latency-p50"), fmtSeconds(latency.p50));
      setText($("latency-p95"), fmtSeconds(latency.p95));
      drawSparkline($("latency-sparkline"), latency.series || []);
      const versions = Object.entries(data.versions || {}).map(([v, n]) => `v${v}: ${n}`);
      setText($("versions-in-window"), versions.length ? `in window: ${versions.join(", ")}` : "no predictions yet");
    },
  };
}

/* The latest predictions (GET /logs), new ones highlighted. */
function predictions() {
  const $ = claim("predictions", ["predictions-rows"]);
  let seen = null;
  return {
    source: "logs?limit=15",
    render(data) {
      const rows = $("predictions-rows");
      const items = data.items || [];
      const fresh = new Set();
      clear(rows);
      if (!items.length) rows.appendChild(emptyRow(9, "no predictions logged yet"));
      items.forEach((item) => {
        const top = Math.max(0, ...Object.values(item.probabilities || {}).map(Number));
        const label = item.label
          ? [classDot(item.label), item.label + (item.label === item.prediction ? " ✓" : " ✗")]
          : ["–"];
        fresh.add(item.prediction_id);
        rows.appendChild(el("tr", {
          class: seen !== null && !seen.has(item.prediction_id) ? "fresh" : null,
          "data-prediction-id": item.prediction_id,
        }, [
          el("td", { title: item.created_at || "", text: fmtTime(item.created_at) }),
          el("td", { text: `v${item.model_version}` }),
          ...["sepal_length", "sepal_width", "petal_length", "petal_width"].map(
            (name) => el("td", { class: "num", text: fmtNumber(item[name], 1) }),
          ),
          el("td", null, [classDot(item.prediction), String(item.prediction)]),
          el("td", { class: "num", text: fmtPercent(top) }),
          el("td", null, label),
        ]));
      });
      seen = fresh;
    },
  };
}

/* Drift per feature (GET /api/drift), or why it is not judged yet. */
function drift() {
  const $ = claim("drift", ["drift-message", "drift-table", "drift-rows", "drift-window"]);
  return {
    source: "api/drift",
    render(data) {
      const features = data.features || [];
      $("drift-message").hidden = !data.message;
      setText($("drift-message"), data.message || "");
      const rows = typeof data.rows === "number" ? `${data.rows} of ` : "";
      setText($("drift-window"), data.window ? `latest ${rows}${data.window} predictions` : "");
      clear($("drift-rows"));
      features.forEach((row) => {
        $("drift-rows").appendChild(el("tr", { class: row.status === "drift" ? "bad" : null, "data-feature": row.feature }, [
          el("td", { text: row.feature }),
          el("td", { class: "num", text: fmtNumber(row.psi, 3) }),
          el("td", { class: "num", text: fmtPValue(row.ks_pvalue) }),
          el("td", null, [badge(row.status)]),
        ]));
      });
      $("drift-table").hidden = !features.length;
    },
  };
}

/* Live accuracy from feedback, overall and per version, and the label-free estimate. */
function accuracy() {
  const $ = claim("accuracy", ["accuracy-value", "accuracy-labelled", "accuracy-total", "accuracy-by-version", "accuracy-estimated"]);
  return {
    source: "api/accuracy",
    render(data) {
      setText($("accuracy-value"), data.accuracy === null ? "no labels yet" : fmtPercent(data.accuracy));
      setText($("accuracy-labelled"), data.labelled);
      setText($("accuracy-total"), data.labelled_total);
      const list = $("accuracy-by-version");
      clear(list);
      (data.by_version || []).forEach((v) => {
        list.appendChild(el("li", { text: `v${v.model_version}: ${fmtPercent(v.accuracy)} of ${v.labelled}` }));
      });
      renderEstimates($("accuracy-estimated"), data.estimated || []);
    },
  };
}

/* One line per version: estimate [interval] over n predictions; flagged when live accuracy
   on the labelled rows sits outside the estimate's 95% interval on those same rows. */
function renderEstimates(list, estimates) {
  clear(list);
  const shown = estimates.filter((item) => item.estimate);
  if (!shown.length) list.appendChild(el("li", { class: "muted", text: "no estimate yet" }));
  shown.forEach((item) => {
    const e = item.estimate;
    const diverged = item.live && Math.abs(item.live.gap_zscore) > 1.96;
    const text = `v${item.version}: ${fmtPercent(e.accuracy)} (${fmtPercent(e.lower)}–${fmtPercent(e.upper)}) of ${e.rows}`;
    const note = diverged ? " · live accuracy outside this interval" : "";
    list.appendChild(el("li", { class: diverged ? "bad" : null, "data-version": item.version, text: text + note }));
  });
}

/* Rejected requests by reason, and the latest one. */
function errors() {
  const $ = claim("errors", ["errors-total", "errors-rows", "errors-latest"]);
  return {
    source: "api/errors?limit=5",
    render(data) {
      setText($("errors-total"), data.total ? `(${data.total} in total)` : "");
      const rows = $("errors-rows");
      clear(rows);
      if (!data.by_reason.length) rows.appendChild(emptyRow(2, "no rejected requests"));
      data.by_reason.forEach((item) => {
        rows.appendChild(el("tr", null, [el("td", { text: item.reason }), el("td", { class: "num", text: item.count })]));
      });
      const latest = data.recent && data.recent[0];
      setText($("errors-latest"), latest ? `latest ${fmtTime(latest.created_at)}: ${latest.message}` : "");
    },
  };
}

/* Switches, refusals and restarts (GET /history). */
function history() {
  const $ = claim("history", ["history-rows"]);
  return {
    source: "history?limit=8",
    render(data) {
      const rows = $("history-rows");
      const items = data.items || [];
      clear(rows);
      if (!items.length) rows.appendChild(emptyRow(3, "no model changes recorded"));
      items.forEach((item) => {
        const from = item.from_version && item.from_version !== item.to_version ? `v${item.from_version} → ` : "";
        rows.appendChild(el("tr", { class: item.outcome === "refused" ? "bad" : null, title: item.reason || "" }, [
          el("td", { text: fmtTime(item.switched_at) }),
          el("td", null, [`${from}v${item.to_version}`, el("div", { class: "muted small", text: item.reason || "" })]),
          el("td", null, [badge(item.outcome)]),
        ]));
      });
    },
  };
}

/* Every panel of the page; ``onActiveJob(jobId)`` hears of a job already running,
 * ``onHiddenJob(state)`` of one whose id needs the token, ``authHeaders()`` sends it. */
export function createPanels(hooks) {
  return [overview(hooks), stats(), accuracy(), errors(), drift(), challenger(), predictions(), history()];
}
