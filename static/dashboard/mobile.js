// The mobile view's compact chart: daily bars against the typical day, with series toggles.
import { COLOURS, dayPadding, fmtDate, fmtKWh, recordSpanDays } from "./common.js";
const daily = JSON.parse(document.getElementById("mobile-daily").textContent);
const wrap = document.getElementById("m-chart-wrap");
const rows = daily.days;
const typical = daily.typical_daily_kwh;
const data = [rows.map((r) => r.t), rows.map((r) => r.energy_kwh), rows.map(() => typical)];

const plot = new uPlot(
  {
    width: Math.max(260, wrap.clientWidth),
    height: 200,
    fmtDate,
    scales: { x: { time: true, range: dayPadding }, kWh: { range: (u, min, max) => [0, max === null || max <= 0 ? 1 : max * 1.15] } },
    series: [
      { value: (u, v) => (v === null ? "–" : new Date(v * 1000).toLocaleDateString("en-GB")) },
      {
        label: "Energy", scale: "kWh", fill: "rgba(15, 118, 110, 0.55)", stroke: COLOURS.bars,
        paths: uPlot.paths.bars({ size: [0.7, 30] }), points: { show: false }, value: (u, v) => fmtKWh(v),
      },
      { label: "Typical", scale: "kWh", stroke: COLOURS.reference, width: 2, dash: [6, 4], points: { show: false }, value: (u, v) => fmtKWh(v) },
    ],
    axes: [{}, { scale: "kWh", size: 45 }],
    legend: { show: false },
    hooks: { setScale: [recordSpanDays(wrap)] },
  },
  data,
  document.getElementById("m-chart"),
);
wrap.dataset.state = "ready";
wrap.dataset.points = String(rows.length);
new ResizeObserver(() => plot.setSize({ width: Math.max(260, wrap.clientWidth), height: 200 })).observe(wrap);
for (const box of document.querySelectorAll("input[data-series]")) {
  box.addEventListener("change", () => plot.setSeries(Number(box.dataset.series), { show: box.checked }));
}
