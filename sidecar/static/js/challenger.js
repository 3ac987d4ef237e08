/* The challenger trial (GET /challenger): versions, canary share, shadow lag, agreement,
 * each version's accuracy with its 95% interval, discordant pairs, the decision and its
 * history. */

import { claim, clear, el, setText } from "./dom.js";
import { fmtPercent, fmtPValue, fmtTime } from "./format.js";

function accuracyText(accuracy) {
  if (!accuracy) return "no labels yet";
  const [low, high] = accuracy.interval;
  return `${fmtPercent(accuracy.value)} (95% ${fmtPercent(low)}–${fmtPercent(high)})`;
}

export function challenger() {
  const $ = claim("challenger", [
    "trial-none", "trial-facts", "trial-versions", "trial-canary", "trial-lag", "trial-compared",
    "trial-agreement", "trial-champion-accuracy", "trial-challenger-accuracy", "trial-discordant",
    "trial-pvalue", "trial-decision", "trial-history-rows",
  ]);
  return {
    source: "challenger",
    render(data) {
      const trial = data.trial;
      $("trial-none").hidden = Boolean(trial);
      $("trial-facts").hidden = !trial;
      if (trial) {
        setText($("trial-versions"), `v${trial.champion_version} (champion) vs v${trial.challenger_version} (challenger)`);
        setText($("trial-canary"), trial.canary_percent === null ? "unknown (registry unreachable)" : `${trial.canary_percent}%`);
        setText($("trial-lag"), trial.shadow_lag_rows === null ? "scorer not started" : `${trial.shadow_lag_rows} rows`);
        setText($("trial-compared"), `${trial.rows_compared} paired, ${trial.labelled} labelled`);
        setText($("trial-agreement"), fmtPercent(trial.agreement));
        setText($("trial-champion-accuracy"), accuracyText(trial.champion_accuracy));
        setText($("trial-challenger-accuracy"), accuracyText(trial.challenger_accuracy));
        setText($("trial-discordant"), `${trial.discordant_b} only challenger right · ${trial.discordant_c} only champion right`);
        setText($("trial-pvalue"), `better ${fmtPValue(trial.p_value_better)} · worse ${fmtPValue(trial.p_value_worse)} (alpha ${trial.alpha})`);
        const decision = $("trial-decision");
        decision.dataset.kind = trial.decision;
        setText(decision, trial.action ? `${trial.decision} → ${trial.action}` : trial.decision);
      }
      const rows = $("trial-history-rows");
      clear(rows);
      const items = data.history || [];
      if (!items.length) rows.appendChild(el("tr", null, [el("td", { colspan: 4, class: "muted", text: "no decisions recorded" })]));
      items.forEach((item) => {
        rows.appendChild(el("tr", null, [
          el("td", { text: fmtTime(item.decided_at) }),
          el("td", { text: `v${item.challenger_version} vs v${item.champion_version}` }),
          el("td", null, [el("span", { class: "badge", "data-kind": item.decision, text: item.decision })]),
          el("td", { text: `${item.labelled} labels, b=${item.discordant_b}, c=${item.discordant_c}${item.action ? `, ${item.action}` : ""}` }),
        ]));
      });
    },
  };
}
