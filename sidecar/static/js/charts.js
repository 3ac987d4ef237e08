/* The two SVG charts: class mix per time slice, and the latency sparkline. */

import { clear, svg } from "./dom.js";
import { classColor, fmtSeconds, fmtTime } from "./format.js";

const MIX = { width: 480, height: 150, left: 30, bottom: 18, top: 4 };

export function drawMix(chart, data) {
  clear(chart);
  const { width, height, left, bottom, top } = MIX;
  const plotH = height - bottom - top;
  [0, 0.5, 1].forEach((share) => {
    const y = top + plotH * (1 - share);
    chart.appendChild(svg("line", { x1: left, x2: width, y1: y, y2: y, stroke: "#e3e6ee" }));
    chart.appendChild(svg("text", { x: left - 4, y: y + 3, "text-anchor": "end", text: `${Math.round(share * 100)}%` }));
  });
  const buckets = data.buckets || [];
  if (!buckets.length) {
    chart.appendChild(svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle", text: "no predictions yet" }));
    return;
  }
  const slot = (width - left) / buckets.length;
  const barW = Math.max(2, slot * 0.72);
  buckets.forEach((bucket, index) => {
    const entries = Object.entries(bucket.class_mix);
    const total = entries.reduce((sum, [, count]) => sum + count, 0);
    const x = left + index * slot + (slot - barW) / 2;
    let y = top + plotH;
    entries.forEach(([name, count]) => {
      if (!count) return;
      const h = (plotH * count) / total;
      y -= h;
      const rect = svg("rect", { x, y, width: barW, height: h, style: { fill: classColor(name) } });
      rect.appendChild(svg("title", {
        text: `${name}: ${count} of ${total} (${fmtTime(bucket.from)} – ${fmtTime(bucket.to)})`,
      }));
      chart.appendChild(rect);
    });
  });
  chart.appendChild(svg("text", { x: left, y: height - 4, text: fmtTime(data.from) }));
  chart.appendChild(svg("text", { x: width, y: height - 4, "text-anchor": "end", text: fmtTime(data.to) }));
}

export function drawSparkline(node, series) {
  clear(node);
  if (series.length < 2) return;
  const max = Math.max(...series) || 1;
  const step = 240 / (series.length - 1);
  const points = series.map((value, i) => `${(i * step).toFixed(1)},${(46 - (42 * value) / max).toFixed(1)}`);
  node.appendChild(svg("polygon", { class: "area", points: `0,48 ${points.join(" ")} 240,48` }));
  node.appendChild(svg("polyline", { points: points.join(" ") }));
  node.appendChild(svg("title", { text: `latest ${series.length} predictions, max ${fmtSeconds(max)}` }));
}
