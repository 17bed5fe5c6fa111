// The analyst module's charts: average use per meter per group over time, and the distribution
// of per-meter consumption. The data is already aggregated by the server (no personal data).
import { fmt, fmtKWh } from "./common.js";

const PALETTE = ["#2563eb", "#c2410c", "#0f766e", "#7c3aed", "#be123c", "#4d7c0f", "#a16207", "#0369a1", "#9d174d", "#475569"];

function widthOf(wrap) {
  return Math.max(280, wrap.clientWidth);
}

function mount(wrap, opts, data, node) {
  const plot = new uPlot({ ...opts, width: widthOf(wrap) }, data, node);
  wrap.dataset.state = "ready";
  new ResizeObserver(() => plot.setSize({ width: widthOf(wrap), height: opts.height })).observe(wrap);
  return plot;
}

const seriesWrap = document.getElementById("series-wrap");
if (seriesWrap) {
  const chart = JSON.parse(document.getElementById("analyst-series").textContent);
  mount(
    seriesWrap,
    {
      height: 260,
      scales: { x: { time: true } },
      series: [
        {},
        ...chart.series.map((s, i) => ({
          label: s.label, stroke: PALETTE[i % PALETTE.length], width: 2, value: (u, v) => fmtKWh(v),
        })),
      ],
      axes: [{}, { label: "kWh per meter", size: 60 }],
    },
    [chart.t, ...chart.series.map((s) => s.values)],
    document.getElementById("series-chart"),
  );
}

const distWrap = document.getElementById("dist-wrap");
if (distWrap) {
  const dist = JSON.parse(document.getElementById("analyst-distribution").textContent);
  const mids = dist.counts.map((_, i) => (dist.edges[i] + dist.edges[i + 1]) / 2);
  mount(
    distWrap,
    {
      height: 220,
      scales: { x: { time: false } },
      series: [
        { label: "kWh per meter", value: (u, v) => (v === null ? "–" : `${fmt(v, 0)} kWh`) },
        {
          label: "Meters", fill: "rgba(15, 118, 110, 0.55)", stroke: "#0f766e",
          paths: uPlot.paths.bars({ size: [0.9, 80] }), points: { show: false }, value: (u, v) => fmt(v, 0),
        },
      ],
      axes: [{ label: "kWh per meter over the range" }, { label: "Meters", size: 50 }],
    },
    [mids, dist.counts],
    document.getElementById("dist-chart"),
  );
}
