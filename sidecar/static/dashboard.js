/* The sidecar dashboard, as native ES modules (no bundler): polls the sidecar's JSON
 * endpoints and draws with plain DOM and SVG. See js/ for its parts:
 *   dom      element helpers, and which part of the page owns which element
 *   format   how values read
 *   charts   the class-mix chart and the latency sparkline
 *   panels   one per JSON source, each writing only its own elements
 *   challenger the challenger trial's panel (one of the panels)
 *   poll     the polling loop and the "updated" line
 *   retrain  the token prompt, the retrain button and the job it follows */

import { createPanels } from "./js/panels.js";
import { startPolling } from "./js/poll.js";
import { createRetrain } from "./js/retrain.js";

const POLL_MS = Math.max(1, Number(document.body.dataset.pollSeconds) || 5) * 1000;

const retrain = createRetrain();
startPolling(createPanels({
  onActiveJob: retrain.follow,
  onHiddenJob: retrain.jobNeedsToken,
  authHeaders: retrain.authHeaders,
}), POLL_MS);
