// The dashboard's price chart: today's and tomorrow's half-hourly prices (VAT included) as a
// stepped line, the energy used in each half-hour as bars, and a table of each half-hour's
// price, energy and cost. Reads the prices.json door; a half-hour without a price is a gap.
import { COLOURS, el, fmt, fmtKWh, fmtMoney, getJSON } from "./common.js";

const cfg = JSON.parse(document.getElementById("dashboard-config").textContent);
const wrap = document.getElementById("prices-wrap");
const node = document.getElementById("prices-chart");
const message = document.getElementById("prices-message");
const summary = document.getElementById("prices-summary");
const tableBody = document.querySelector("#prices-table tbody");
const state = { days: null, plot: null, index: 0 };

function setState(value, text = "") {
  wrap.dataset.state = value;
  wrap.setAttribute("aria-busy", value === "loading" ? "true" : "false");
  message.textContent = text;
}

function clock(seconds) {
  return new Date(seconds * 1000).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
}

function size() {
  const width = Math.max(280, wrap.clientWidth);
  return { width, height: width < 600 ? 200 : 260 };
}

function draw(day) {
  if (state.plot) state.plot.destroy();
  state.plot = null;
  const end = day.t.length ? day.t[day.t.length - 1] + 1800 : 0;
  // A stepped line holds each price across its half-hour: repeat the last one at the day's end.
  const t = [...day.t, end];
  const price = [...day.price_pence_inc_vat, day.price_pence_inc_vat[day.price_pence_inc_vat.length - 1] ?? null];
  const kwh = [...day.kwh, null];
  const opts = {
    ...size(),
    scales: { x: { time: true }, p: { auto: true }, e: { auto: true, range: (u, min, max) => [0, Math.max(0.1, max)] } },
    axes: [
      {},
      { scale: "p", label: "p/kWh", values: (u, ticks) => ticks.map((v) => fmt(v, 0)) },
      { scale: "e", side: 1, label: "kWh", grid: { show: false } },
    ],
    series: [
      { value: (u, v) => (v === null ? "–" : clock(v)) },
      { label: "Price (p/kWh)", scale: "p", stroke: COLOURS.energy, width: 2, paths: uPlot.paths.stepped({ align: 1 }), value: (u, v) => (v === null ? "–" : `${fmt(v, 2)}p`) },
      { label: "Energy", scale: "e", stroke: COLOURS.bars, fill: `${COLOURS.bars}55`, paths: uPlot.paths.bars({ size: [0.9], align: 1 }), value: (u, v) => fmtKWh(v) },
    ],
  };
  state.plot = new uPlot(opts, [t, price, kwh], node);
}

function table(day) {
  tableBody.replaceChildren(
    ...day.t.map((start, i) => {
      const price = day.price_pence_inc_vat[i];
      return el(
        "tr",
        {},
        el("td", { text: `${clock(start)}–${clock(start + 1800)}` }),
        el("td", { class: "num", text: price === null ? "not set yet" : fmt(price, 2) }),
        el("td", { class: "num", text: fmtKWh(day.kwh[i]) }),
        el("td", { class: "num", text: day.cost[i] === null ? "–" : `${fmt(Number(day.cost[i]) * 100, 1)}p` }),
      );
    }),
  );
}

function show(index) {
  state.index = index;
  const day = state.days[index];
  table(day);
  const name = day.label === "today" ? "Today" : "Tomorrow";
  if (!day.priced) {
    if (state.plot) state.plot.destroy();
    state.plot = null;
    summary.textContent = "";
    setState("empty", `${name}: no prices yet.`);
    return;
  }
  setState("ready");
  draw(day);
  const parts = [`${name}: ${day.priced} of ${day.half_hours} half-hours priced`];
  if (day.total_kwh) parts.push(`${fmtKWh(day.total_kwh)} used so far, ${fmtMoney(day.total_cost)}`);
  summary.textContent = parts.join(" · ");
}

async function load() {
  setState("loading");
  try {
    const data = await getJSON(cfg.urls.prices);
    state.days = data.days;
    show(state.index);
  } catch (error) {
    setState("error", `Prices could not be loaded: ${error.message}`);
  }
}

for (const radio of document.querySelectorAll('input[name="price-day"]')) {
  radio.addEventListener("change", () => state.days && show(Number(radio.value)));
}
window.addEventListener("resize", () => state.plot && state.plot.setSize(size()));
// uPlot is loaded with defer; module scripts run after deferred classic ones, so it is there.
load();
