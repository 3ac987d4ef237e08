/* Poll every panel's source together, then say when the page was last updated. */

import { claim, getJSON } from "./dom.js";

export function startPolling(panels, intervalMs) {
  const $ = claim("poll", ["updated"]);
  async function tick() {
    const results = await Promise.all(panels.map(async (panel) => {
      try {
        const result = await getJSON(panel.source, panel.headers ? panel.headers() : undefined);
        if (!result.ok || !result.body) return false;
        panel.render(result.body);
        return true;
      } catch (error) {
        return false;
      }
    }));
    const failures = results.filter((ok) => !ok).length;
    const now = new Date().toLocaleTimeString();
    const updated = $("updated");
    updated.dataset.stale = failures ? "true" : "false";
    updated.textContent = failures
      ? `${failures} of ${panels.length} requests failed at ${now}, retrying`
      : `updated ${now}`;
    window.setTimeout(tick, intervalMs);
  }
  tick();
}
