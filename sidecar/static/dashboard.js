/* The sidecar dashboard: polls the sidecar's JSON endpoints and draws with plain DOM/SVG.
 * Every value from the server goes into the page through textContent or an attribute,
 * never parsed as HTML. */
(function () {
  "use strict";

  var SVG_NS = "http://www.w3.org/2000/svg";
  var TOKEN_KEY = "iris-sidecar-token";
  var body = document.body;
  var POLL_MS = Math.max(1, Number(body.dataset.pollSeconds) || 5) * 1000;
  var CLASSES = (body.dataset.classes || "").split(",");
  var COLORS = { setosa: "var(--setosa)", versicolor: "var(--versicolor)", virginica: "var(--virginica)" };
  var seenPredictions = null;
  var jobTimer = null;
  var watchedJob = null;

  function $(id) { return document.getElementById(id); }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    setAttrs(node, attrs);
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" || typeof child === "number"
        ? document.createTextNode(String(child)) : child);
    });
    return node;
  }

  function svg(tag, attrs) {
    var node = document.createElementNS(SVG_NS, tag);
    setAttrs(node, attrs);
    return node;
  }

  function setAttrs(node, attrs) {
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else if (attrs[key] !== null && attrs[key] !== undefined) node.setAttribute(key, attrs[key]);
    });
  }

  function setText(id, value) { $(id).textContent = value === null || value === undefined ? "–" : String(value); }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function fmtTime(iso) {
    if (!iso) return "–";
    var date = new Date(iso);
    if (isNaN(date.getTime())) return String(iso);
    var sameDay = date.toDateString() === new Date().toDateString();
    return sameDay ? date.toLocaleTimeString() : date.toLocaleString();
  }

  function fmtSeconds(value) {
    if (typeof value !== "number") return "–";
    if (value < 1) return (value * 1000).toFixed(value < 0.01 ? 2 : 1) + " ms";
    return value.toFixed(2) + " s";
  }

  function fmtPercent(value) { return typeof value === "number" ? (value * 100).toFixed(1) + "%" : "–"; }

  function fmtNumber(value, digits) { return typeof value === "number" ? value.toFixed(digits) : "–"; }

  function fmtPValue(value) {
    if (typeof value !== "number") return "–";
    return value < 0.001 ? value.toExponential(1) : value.toFixed(3);
  }

  function badge(text, kind) { return el("span", { "class": "badge", "data-kind": kind || text, text: text }); }

  function classDot(name) {
    return el("span", { "class": "class-dot", style: "background:" + (COLORS[name] || "var(--other)") });
  }

  function safeHref(url) { return typeof url === "string" && /^https?:\/\//i.test(url) ? url : null; }

  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) {
        return response.json().catch(function () { return null; }).then(function (data) {
          return { status: response.status, ok: response.ok, body: data };
        });
      });
  }

  /* ---- health, model and lineage ---- */
  function renderOverview(data) {
    var health = data.health || {};
    var store = health.log_store || {};
    var scoring = health.scoring || {};
    setPill("health-store", "log store", store.reachable, store.error);
    setPill("health-scoring", "scoring", scoring.reachable, scoring.error);

    var model = data.model || {};
    var lineage = data.lineage || {};
    var known = lineage.registry === "reachable";
    setText("model-name", model.name);
    setText("model-version", "v" + (model.version || "unknown"));
    setText("lineage-name", model.name);
    setText("lineage-version", model.version || "unknown");
    setText("lineage-run", lineage.run_id || model.run_id || "unknown");
    setText("lineage-digest", lineage.data_digest || "unknown");
    $("lineage-digest").title = lineage.data_digest || "";
    setText("lineage-candidate", lineage.candidate || "unknown");
    setText("lineage-gate", lineage.gate_decision || "unknown");
    var link = $("lineage-run-link");
    var href = safeHref(lineage.run_url);
    if (href) { link.href = href; link.hidden = false; } else { link.hidden = true; link.removeAttribute("href"); }
    setText("lineage-registry", known ? "" : (lineage.registry === "not_asked"
      ? "no model version known yet" : "MLflow registry unreachable: lineage unknown"));

    setText("predictions-total", (data.predictions_total || 0).toLocaleString());
    setText("last-prediction", fmtTime(data.last_prediction_at));
    setText("accuracy-total", data.labelled_total || 0);

    var refused = health.refused_promotion;
    var banner = $("refused-banner");
    if (refused) {
      banner.textContent = "Promotion of " + refused.model_name + " v" + refused.to_version +
        " was refused at " + fmtTime(refused.switched_at) + ": " + refused.reason +
        (refused.from_version ? " (v" + refused.from_version + " keeps serving)" : "");
      banner.hidden = false;
    } else {
      banner.hidden = true;
    }
    var job = data.latest_job;
    if (job && !watchedJob && (job.state === "queued" || job.state === "running")) watchJob(job.job_id);
  }

  function setPill(id, name, reachable, error) {
    var pill = $(id);
    pill.dataset.state = reachable ? "ok" : "down";
    pill.textContent = name + (reachable ? " ok" : " down");
    pill.title = error || "";
  }

  /* ---- class mix and latency ---- */
  function renderStats(data) {
    setText("mix-window", "latest " + data.count + " predictions");
    drawMix(data);
    var legend = $("mix-legend");
    clear(legend);
    Object.keys(data.class_mix).forEach(function (name) {
      var count = data.class_mix[name];
      var share = data.count ? Math.round(100 * count / data.count) : 0;
      legend.appendChild(el("li", null, [
        el("span", { "class": "swatch", style: "background:" + (COLORS[name] || "var(--other)") }),
        name + " " + count + " (" + share + "%)",
      ]));
    });
    var latency = data.latency_seconds || {};
    setText("latency-p50", fmtSeconds(latency.p50));
    setText("latency-p95", fmtSeconds(latency.p95));
    drawSparkline($("latency-sparkline"), latency.series || []);
    var versions = Object.keys(data.versions || {}).map(function (v) { return "v" + v + ": " + data.versions[v]; });
    setText("versions-in-window", versions.length ? "in window: " + versions.join(", ") : "no predictions yet");
  }

  function drawMix(data) {
    var chart = $("mix-chart");
    clear(chart);
    var width = 480, height = 150, left = 30, bottom = 18, top = 4;
    var plotH = height - bottom - top;
    [0, 0.5, 1].forEach(function (share) {
      var y = top + plotH * (1 - share);
      chart.appendChild(svg("line", { x1: left, x2: width, y1: y, y2: y, stroke: "#e3e6ee" }));
      chart.appendChild(svg("text", { x: left - 4, y: y + 3, "text-anchor": "end", text: Math.round(share * 100) + "%" }));
    });
    var buckets = data.buckets || [];
    if (!buckets.length) {
      chart.appendChild(svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle", text: "no predictions yet" }));
      return;
    }
    var slot = (width - left) / buckets.length;
    var barW = Math.max(2, slot * 0.72);
    buckets.forEach(function (bucket, index) {
      var total = 0;
      Object.keys(bucket.class_mix).forEach(function (k) { total += bucket.class_mix[k]; });
      var y = top + plotH;
      var x = left + index * slot + (slot - barW) / 2;
      Object.keys(bucket.class_mix).forEach(function (name) {
        var count = bucket.class_mix[name];
        if (!count) return;
        var h = plotH * count / total;
        y -= h;
        var rect = svg("rect", { x: x, y: y, width: barW, height: h, style: "fill:" + (COLORS[name] || "var(--other)") });
        rect.appendChild(svg("title", { text: name + ": " + count + " of " + total + " (" + fmtTime(bucket.from) + " – " + fmtTime(bucket.to) + ")" }));
        chart.appendChild(rect);
      });
    });
    chart.appendChild(svg("text", { x: left, y: height - 4, text: fmtTime(data.from) }));
    chart.appendChild(svg("text", { x: width, y: height - 4, "text-anchor": "end", text: fmtTime(data.to) }));
  }

  function drawSparkline(node, series) {
    clear(node);
    if (series.length < 2) return;
    var max = Math.max.apply(null, series) || 1;
    var step = 240 / (series.length - 1);
    var points = series.map(function (value, i) {
      return (i * step).toFixed(1) + "," + (46 - 42 * value / max).toFixed(1);
    });
    node.appendChild(svg("polygon", { "class": "area", points: "0,48 " + points.join(" ") + " 240,48" }));
    node.appendChild(svg("polyline", { points: points.join(" ") }));
    node.appendChild(svg("title", { text: "latest " + series.length + " predictions, max " + fmtSeconds(max) }));
  }

  /* ---- recent predictions (GET /logs) ---- */
  function renderPredictions(data) {
    var rows = $("predictions-rows");
    var items = data.items || [];
    var fresh = {};
    clear(rows);
    if (!items.length) rows.appendChild(el("tr", null, [el("td", { colspan: 9, "class": "muted", text: "no predictions logged yet" })]));
    items.forEach(function (item) {
      var probabilities = item.probabilities || {};
      var top = Math.max.apply(null, Object.keys(probabilities).map(function (k) { return Number(probabilities[k]); }).concat([0]));
      var label = item.label ? [classDot(item.label), item.label + (item.label === item.prediction ? " ✓" : " ✗")] : ["–"];
      var isNew = seenPredictions !== null && !seenPredictions[item.prediction_id];
      fresh[item.prediction_id] = true;
      rows.appendChild(el("tr", { "class": isNew ? "fresh" : null, "data-prediction-id": item.prediction_id }, [
        el("td", { title: item.created_at || "", text: fmtTime(item.created_at) }),
        el("td", { text: "v" + item.model_version }),
        el("td", { "class": "num", text: fmtNumber(item.sepal_length, 1) }),
        el("td", { "class": "num", text: fmtNumber(item.sepal_width, 1) }),
        el("td", { "class": "num", text: fmtNumber(item.petal_length, 1) }),
        el("td", { "class": "num", text: fmtNumber(item.petal_width, 1) }),
        el("td", null, [classDot(item.prediction), String(item.prediction)]),
        el("td", { "class": "num", text: fmtPercent(top) }),
        el("td", null, label),
      ]));
    });
    seenPredictions = fresh;
  }

  /* ---- drift (GET /api/drift, which wraps GET /drift) ---- */
  function renderDrift(data) {
    var table = $("drift-table");
    var rows = $("drift-rows");
    if (!data.available) {
      setText("drift-message", data.message || "drift: not available yet");
      $("drift-message").hidden = false;
      table.hidden = true;
      setText("drift-window", "");
      return;
    }
    $("drift-message").hidden = !data.message;
    setText("drift-message", data.message || "");
    var windowText = data.window ? "latest " + (typeof data.rows === "number" ? data.rows + " of " : "") + data.window + " predictions" : "";
    setText("drift-window", windowText);
    clear(rows);
    data.features.forEach(function (row) {
      rows.appendChild(el("tr", { "class": row.status === "drift" ? "bad" : null, "data-feature": row.feature }, [
        el("td", { text: row.feature }),
        el("td", { "class": "num", text: fmtNumber(row.psi, 3) }),
        el("td", { "class": "num", text: fmtPValue(row.ks_pvalue) }),
        el("td", null, [badge(row.status)]),
      ]));
    });
    table.hidden = false;
  }

  /* ---- accuracy, rejections, history ---- */
  function renderAccuracy(data) {
    setText("accuracy-value", data.accuracy === null ? "no labels yet" : fmtPercent(data.accuracy));
    setText("accuracy-labelled", data.labelled);
    setText("accuracy-total", data.labelled_total);
    var list = $("accuracy-by-version");
    clear(list);
    (data.by_version || []).forEach(function (v) {
      list.appendChild(el("li", { text: "v" + v.model_version + ": " + fmtPercent(v.accuracy) + " of " + v.labelled }));
    });
  }

  function renderErrors(data) {
    setText("errors-total", data.total ? "(" + data.total + " in total)" : "");
    var rows = $("errors-rows");
    clear(rows);
    if (!data.by_reason.length) rows.appendChild(el("tr", null, [el("td", { colspan: 2, "class": "muted", text: "no rejected requests" })]));
    data.by_reason.forEach(function (item) {
      rows.appendChild(el("tr", null, [el("td", { text: item.reason }), el("td", { "class": "num", text: item.count })]));
    });
    var latest = data.recent && data.recent[0];
    setText("errors-latest", latest ? "latest " + fmtTime(latest.created_at) + ": " + latest.message : "");
  }

  function renderHistory(data) {
    var rows = $("history-rows");
    clear(rows);
    var items = data.items || [];
    if (!items.length) rows.appendChild(el("tr", null, [el("td", { colspan: 3, "class": "muted", text: "no model changes recorded" })]));
    items.forEach(function (item) {
      var change = (item.from_version && item.from_version !== item.to_version ? "v" + item.from_version + " → " : "") + "v" + item.to_version;
      rows.appendChild(el("tr", { "class": item.outcome === "refused" ? "bad" : null, title: item.reason || "" }, [
        el("td", { text: fmtTime(item.switched_at) }),
        el("td", null, [change, el("div", { "class": "muted small", text: item.reason || "" })]),
        el("td", null, [badge(item.outcome)]),
      ]));
    });
  }

  /* ---- polling ---- */
  var SOURCES = [
    ["api/overview", renderOverview],
    ["api/stats?window=200&buckets=12", renderStats],
    ["api/accuracy", renderAccuracy],
    ["api/errors?limit=5", renderErrors],
    ["api/drift", renderDrift],
    ["logs?limit=15", renderPredictions],
    ["history?limit=8", renderHistory],
  ];

  function tick() {
    var failures = 0;
    Promise.all(SOURCES.map(function (source) {
      return getJSON(source[0]).then(function (result) {
        if (!result.ok || !result.body) { failures += 1; return; }
        source[1](result.body);
      }).catch(function () { failures += 1; });
    })).then(function () {
      var updated = $("updated");
      updated.dataset.stale = failures ? "true" : "false";
      updated.textContent = failures
        ? failures + " of " + SOURCES.length + " requests failed at " + new Date().toLocaleTimeString() + ", retrying"
        : "updated " + new Date().toLocaleTimeString();
      window.setTimeout(tick, POLL_MS);
    });
  }

  /* ---- retraining ---- */
  var RETRAIN_MESSAGES = {
    401: "Wrong or missing token (401): the sidecar refused it.",
    409: "A retrain job is already queued or running (409); following it below.",
    503: "Retraining is unavailable (503)",
  };

  function showMessage(text, kind) {
    var node = $("retrain-message");
    node.textContent = text;
    node.dataset.kind = kind || "";
    node.hidden = false;
  }

  function startRetrain(event) {
    event.preventDefault();
    var input = $("retrain-token");
    var token = input.value.trim();
    if (!token) { showMessage("Enter the sidecar token (SIDECAR_TOKEN) first.", "error"); return; }
    window.sessionStorage.setItem(TOKEN_KEY, token);
    var payload = $("retrain-feedback").checked ? JSON.stringify({ include_feedback: true }) : "";
    $("retrain-button").disabled = true;
    showMessage("Starting…");
    fetch("retrain", {
      method: "POST",
      headers: { Authorization: "Bearer " + token, "Content-Type": "application/json", Accept: "application/json" },
      body: payload,
      cache: "no-store",
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        var detail = data && data.message ? " " + data.message : "";
        if (response.status === 202) {
          showMessage("Job started.", "ok");
          watchJob(data.job_id);
          return;
        }
        $("retrain-button").disabled = false;
        if (response.status === 401) {
          window.sessionStorage.removeItem(TOKEN_KEY);
          showMessage(RETRAIN_MESSAGES[401] + detail, "error");
        } else if (response.status === 409) {
          showMessage(RETRAIN_MESSAGES[409], "error");
          if (data.job_id) watchJob(data.job_id);
        } else if (response.status === 503) {
          showMessage(RETRAIN_MESSAGES[503] + ":" + detail, "error");
        } else {
          showMessage("The sidecar answered HTTP " + response.status + "." + detail, "error");
        }
      });
    }).catch(function () {
      $("retrain-button").disabled = false;
      showMessage("Could not reach the sidecar.", "error");
    });
  }

  function watchJob(jobId) {
    if (!jobId) return;
    watchedJob = jobId;
    if (jobTimer) window.clearTimeout(jobTimer);
    $("retrain-job").hidden = false;
    setText("job-id", jobId);
    pollJob();
  }

  function pollJob() {
    var jobId = watchedJob;
    getJSON("retrain/" + encodeURIComponent(jobId)).then(function (result) {
      if (jobId !== watchedJob) return;
      if (!result.ok || !result.body) { jobTimer = window.setTimeout(pollJob, 3000); return; }
      var job = result.body;
      var state = $("job-state");
      state.textContent = job.state;
      state.dataset.kind = job.state;
      setText("job-version", job.model_version ? "v" + job.model_version : "–");
      var gate = job.promoted === true ? "promoted" : job.promoted === false ? "not promoted" : "";
      setText("job-gate", [gate, job.reason].filter(Boolean).join(": ") || "–");
      var tail = $("job-tail");
      tail.textContent = (job.output_tail || []).join("\n");
      tail.scrollTop = tail.scrollHeight;
      if (job.state === "succeeded" || job.state === "failed") {
        $("retrain-button").disabled = false;
        showMessage("Job " + job.state + ".", job.state === "succeeded" ? "ok" : "error");
        return;
      }
      $("retrain-button").disabled = true;
      jobTimer = window.setTimeout(pollJob, 1500);
    }).catch(function () { jobTimer = window.setTimeout(pollJob, 3000); });
  }

  $("retrain-token").value = window.sessionStorage.getItem(TOKEN_KEY) || "";
  $("retrain-form").addEventListener("submit", startRetrain);
  tick();
}());
