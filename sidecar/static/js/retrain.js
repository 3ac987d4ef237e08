/* Retraining: asks for the sidecar's token when a write needs it (as Jupyter does), starts
 * a job, and follows it to its final state. The token lives in sessionStorage only after
 * the sidecar accepted it, and is forgotten as soon as the sidecar refuses it. */

import { claim, getJSON, setText } from "./dom.js";

const TOKEN_KEY = "iris-sidecar-token";
const FINAL_STATES = ["succeeded", "failed"];
const MESSAGES = {
  401: "The sidecar refused the token (401). Enter SIDECAR_TOKEN: `make up` prints it, and keeps it in its state folder.",
  409: "A retrain job is already queued or running (409); following it below.",
  429: "Too many attempts (429): wait",
  503: "Retraining is unavailable (503):",
};

export function createRetrain() {
  const $ = claim("retrain", [
    "retrain-form", "retrain-token", "retrain-button", "retrain-feedback", "retrain-message",
    "retrain-job", "job-id", "job-state", "job-version", "job-gate", "job-tail",
  ]);
  let watched = null;
  let timer = null;
  let waitingForToken = false;
  let hiddenJobShown = false;

  function storedToken() { return window.sessionStorage.getItem(TOKEN_KEY); }

  function authHeaders() {
    const token = storedToken();
    return token ? { Authorization: `Bearer ${token}` } : {};
  }

  function show(text, kind) {
    const node = $("retrain-message");
    node.textContent = text;
    node.dataset.kind = kind || "";
    node.hidden = false;
  }

  /* The 401 path: forget the refused token, say so, and put the cursor in the token field. */
  function askForToken(detail) {
    window.sessionStorage.removeItem(TOKEN_KEY);
    const input = $("retrain-token");
    input.setAttribute("aria-invalid", "true");
    input.value = "";
    input.focus();
    show(MESSAGES[401] + (detail ? ` ${detail}` : ""), "error");
  }

  function tokenAccepted(token) {
    window.sessionStorage.setItem(TOKEN_KEY, token);
    $("retrain-token").removeAttribute("aria-invalid");
  }

  async function start(event) {
    event.preventDefault();
    const token = $("retrain-token").value.trim() || storedToken();
    if (!token) {
      $("retrain-token").focus();
      show("This needs the sidecar's token (SIDECAR_TOKEN): enter it first.", "error");
      return;
    }
    const body = $("retrain-feedback").checked ? JSON.stringify({ include_feedback: true }) : "";
    $("retrain-button").disabled = true;
    show("Starting…");
    let response;
    let data;
    try {
      response = await fetch("retrain", {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", Accept: "application/json" },
        body,
        cache: "no-store",
      });
      data = await response.json().catch(() => ({}));
    } catch (error) {
      $("retrain-button").disabled = false;
      show("Could not reach the sidecar.", "error");
      return;
    }
    const detail = data && data.message ? data.message : "";
    if (response.status === 202) {
      tokenAccepted(token);
      show("Job started.", "ok");
      follow(data.job_id);
      return;
    }
    $("retrain-button").disabled = false;
    if (response.status === 401) {
      askForToken(detail);
    } else if (response.status === 409) {
      tokenAccepted(token);
      show(MESSAGES[409], "error");
      if (data.job_id) follow(data.job_id);
    } else if (response.status === 429) {
      show(`${MESSAGES[429]} ${response.headers.get("Retry-After") || "a few"} s, then try again.`, "error");
    } else if (response.status === 503) {
      show(`${MESSAGES[503]} ${detail}`, "error");
    } else {
      show(`The sidecar answered HTTP ${response.status}. ${detail}`, "error");
    }
  }

  /* Follow ``jobId`` (a job this page started, or one already running when it opened). */
  function follow(jobId) {
    if (!jobId || jobId === watched) return;
    watched = jobId;
    if (timer) window.clearTimeout(timer);
    $("retrain-job").hidden = false;
    setText($("job-id"), jobId);
    poll();
  }

  async function poll() {
    const jobId = watched;
    let result;
    try {
      result = await getJSON(`retrain/${encodeURIComponent(jobId)}`, authHeaders());
    } catch (error) {
      timer = window.setTimeout(poll, 3000);
      return;
    }
    if (jobId !== watched) return;
    if (result.status === 401) {
      // Reading a job may need the token too: ask, and carry on once it is entered.
      waitingForToken = true;
      askForToken("Following the job needs it too.");
      return;
    }
    if (!result.ok || !result.body) { timer = window.setTimeout(poll, 3000); return; }
    const job = result.body;
    const state = $("job-state");
    state.textContent = job.state;
    state.dataset.kind = job.state;
    setText($("job-version"), job.model_version ? `v${job.model_version}` : "–");
    const gate = job.decision === "challenger" ? "registered as @challenger"
      : job.promoted === true ? "promoted" : job.promoted === false ? "not promoted" : "";
    setText($("job-gate"), [gate, job.reason].filter(Boolean).join(": ") || "–");
    const tail = $("job-tail");
    tail.textContent = (job.output_tail || []).join("\n");
    tail.scrollTop = tail.scrollHeight;
    if (FINAL_STATES.includes(job.state)) {
      $("retrain-button").disabled = false;
      show(`Job ${job.state}.`, job.state === "succeeded" ? "ok" : "error");
      return;
    }
    $("retrain-button").disabled = true;
    timer = window.setTimeout(poll, 1500);
  }

  /* A job runs whose id the sidecar gives only to the token's holder: say so, once. */
  function jobNeedsToken(state) {
    if (watched || hiddenJobShown) return;
    hiddenJobShown = true;
    waitingForToken = true;
    $("retrain-button").disabled = true;
    show(`A retrain job is ${state}. Enter SIDECAR_TOKEN to follow it.`, "error");
  }

  /* Ask the overview with ``token``: an id in its answer means the sidecar accepted it. */
  async function followHiddenJob(token) {
    let result;
    try {
      result = await getJSON("api/overview", { Authorization: `Bearer ${token}` });
    } catch (error) {
      return;
    }
    const job = result.ok && result.body ? result.body.latest_job : null;
    if (job && job.job_id) {
      tokenAccepted(token);
      show("Following the job…");
      follow(job.job_id);
    } else if (job && !FINAL_STATES.includes(job.state)) {
      waitingForToken = true;
      askForToken("Following the job needs it.");
    } else {
      $("retrain-button").disabled = false;
      show("The job has finished.", "ok");
    }
  }

  function tokenEntered() {
    const token = $("retrain-token").value.trim();
    if (!waitingForToken || !token) return;
    if (!watched) { waitingForToken = false; followHiddenJob(token); return; }
    waitingForToken = false;
    window.sessionStorage.setItem(TOKEN_KEY, token);
    $("retrain-token").removeAttribute("aria-invalid");
    show("Following the job…");
    poll();
  }

  $("retrain-token").value = storedToken() || "";
  $("retrain-form").addEventListener("submit", start);
  $("retrain-token").addEventListener("change", tokenEntered);
  return { follow, jobNeedsToken, authHeaders };
}
