// A flex plan's chart: the planned power per half-hour (bars; a battery's charging below zero)
// against the prices it was planned with (stepped lines, pence per kWh). Reads the page's
// "plan-data" JSON: {t: [unix s], power_kw: [...], prices: [{label, values}]}; a half-hour
// without a price is a gap in its line.
import { fmt } from "../dashboard/common.js";

const PRICE_COLOURS = ["#c50", "#36c"];

function clock(seconds) {
  return new Date(seconds * 1000).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
}

function draw() {
  const data = JSON.parse(document.getElementById("plan-data").textContent);
  const element = document.getElementById("plan-chart");
  if (!data.t.length) {
    element.dataset.ready = "empty";
    return;
  }
  // A stepped line and a bar hold their value across the half-hour: repeat the last at its end.
  const last = (values) => [...values, values[values.length - 1] ?? null];
  const t = [...data.t, data.t[data.t.length - 1] + 1800];
  const series = [
    { value: (u, v) => (v === null ? "–" : clock(v)) },
    {
      label: data.power_label,
      scale: "kw",
      stroke: "#2a7",
      fill: "rgba(34,170,119,0.25)",
      paths: uPlot.paths.stepped({ align: 1 }),
      value: (u, v) => (v === null ? "–" : `${fmt(v, 2)} kW`),
    },
    ...data.prices.map((price, index) => ({
      label: price.label,
      scale: "p",
      stroke: PRICE_COLOURS[index % PRICE_COLOURS.length],
      width: 2,
      paths: uPlot.paths.stepped({ align: 1 }),
      value: (u, v) => (v === null ? "–" : `${fmt(v, 2)}p`),
    })),
  ];
  const width = Math.max(280, Math.min(element.clientWidth || 800, 900));
  new uPlot(
    {
      width,
      height: width < 600 ? 220 : 280,
      scales: { x: { time: true }, kw: {}, p: {} },
      series,
      axes: [
        {},
        { scale: "kw", label: "kW" },
        { scale: "p", side: 1, label: "p/kWh", grid: { show: false } },
      ],
    },
    [t, last(data.power_kw), ...data.prices.map((price) => last(price.values))],
    element,
  );
  element.dataset.ready = "true";
  element.dataset.slots = String(data.t.length);
}

if (document.readyState === "loading") {
  window.addEventListener("DOMContentLoaded", draw);
} else {
  draw();
}
