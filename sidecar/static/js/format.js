/* How values read on the page: times, durations, shares, class colours. */

const COLORS = { setosa: "var(--setosa)", versicolor: "var(--versicolor)", virginica: "var(--virginica)" };

export function classColor(name) { return COLORS[name] || "var(--other)"; }

export function fmtTime(iso) {
  if (!iso) return "–";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  const sameDay = date.toDateString() === new Date().toDateString();
  return sameDay ? date.toLocaleTimeString() : date.toLocaleString();
}

export function fmtSeconds(value) {
  if (typeof value !== "number") return "–";
  if (value < 1) return `${(value * 1000).toFixed(value < 0.01 ? 2 : 1)} ms`;
  return `${value.toFixed(2)} s`;
}

export function fmtPercent(value) {
  return typeof value === "number" ? `${(value * 100).toFixed(1)}%` : "–";
}

export function fmtNumber(value, digits) {
  return typeof value === "number" ? value.toFixed(digits) : "–";
}

export function fmtPValue(value) {
  if (typeof value !== "number") return "–";
  return value < 0.001 ? value.toExponential(1) : value.toFixed(3);
}

/* An http(s) URL, or null: nothing else becomes a link. */
export function safeHref(url) {
  return typeof url === "string" && /^https?:\/\//i.test(url) ? url : null;
}
