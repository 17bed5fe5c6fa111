// The customer's energy dashboard: power and cumulative energy over a chosen range (uPlot),
// drag-to-select statistics, period cards, daily bars, live updates over /ws/live/ with a
// polling fallback. Reads only the dashboard's JSON doors.
import { COLOURS, dayPadding, el, fmt, fmtDate, fmtKWh, fmtMoney, fmtRange, fmtTime, fmtW, getJSON, recordSpanDays } from "./common.js";

const cfg = JSON.parse(document.getElementById("dashboard-config").textContent);
const PRESETS = { hour: 3600, day: 86400, week: 7 * 86400, month: 30 * 86400, year: 365 * 86400 };
const PRESET_KEYS = { 1: "hour", 2: "day", 3: "week", 4: "month", 5: "year" };
const params = new URLSearchParams(location.search);
const POLL_SECONDS = Math.max(1, Number(params.get("poll")) || 10);
// The view follows new readings while its end is this close to now (a share of its span).
const FOLLOW_SLACK = 0.05;

const state = {
  preset: PRESETS[params.get("range")] ? params.get("range") : "day",
  start: 0,
  end: 0,
  data: [[], [], []],
  baseImport: null,
  lastT: null,
  lastImport: null,
  selection: null,
  powerMax: null,
  plot: null,
  pollTimer: null,
  socket: null,
  socketRetry: 1000,
  loadSeq: 0,
};

const chartWrap = document.getElementById("chart-wrap");
const chartNode = document.getElementById("chart");
const chartMessage = document.getElementById("chart-message");
const liveState = document.getElementById("live-state");

function now() {
  return Date.now() / 1000;
}

function following() {
  const span = state.end - state.start;
  return now() - state.end <= span * FOLLOW_SLACK;
}

function setWrapState(wrap, value, message = "") {
  wrap.dataset.state = value;
  wrap.setAttribute("aria-busy", value === "loading" ? "true" : "false");
  const note = wrap.querySelector(".state-message");
  note.textContent = message;
}

// --- Power and energy chart -------------------------------------------------------------------

function chartSize() {
  const width = Math.max(280, chartWrap.clientWidth);
  return { width, height: width < 600 ? 240 : 340 };
}

function powerRange(u, min, max) {
  if (state.powerMax) return [0, state.powerMax];
  if (min === null || max === null) return [0, 1000];
  return [Math.min(0, min), max > 0 ? max * 1.1 : 1000];
}

// The window the x axis shows: the chosen range, or, when the readings cover less than a
// quarter of it (a live display that started twenty minutes ago, in the Day view), the span
// from just before the first reading to the range's end, so the readings are not a sliver
// against the right edge. The label says so.
const SLIVER = 0.25;
function viewRange() {
  const first = state.data[0][0];
  const span = state.end - state.start;
  if (first === undefined || first === null || state.end - first >= span * SLIVER) return [state.start, state.end];
  return [Math.max(state.start, first - (state.end - first) * 0.1), state.end];
}

// Showing a series shows its axis; a hidden series takes its axis with it (no empty 0-1 axis).
function seriesShown(index) {
  return document.getElementById(index === 1 ? "show-power" : "show-energy").checked;
}

function makePlot() {
  const opts = {
    ...chartSize(),
    fmtDate,
    cursor: { drag: { x: true, y: false, setScale: false } },
    select: { show: true },
    scales: {
      x: { time: true, range: () => viewRange() },
      W: { range: powerRange },
      kWh: { range: (u, min, max) => [0, max === null || max <= 0 ? 1 : max * 1.1] },
    },
    series: [
      {},
      {
        label: "Power", scale: "W", stroke: COLOURS.power, width: 1.5, fill: "rgba(37, 99, 235, 0.08)",
        value: (u, v) => fmtW(v), spanGaps: false, show: seriesShown(1),
      },
      { label: "Energy", scale: "kWh", stroke: COLOURS.energy, width: 1.5, value: (u, v) => fmtKWh(v), show: seriesShown(2) },
    ],
    axes: [
      {},
      { scale: "W", label: "Power (W)", values: (u, ticks) => ticks.map((v) => fmt(v, 0)), size: 60, show: seriesShown(1) },
      { scale: "kWh", label: "Energy (kWh)", side: 1, grid: { show: !seriesShown(1) }, size: 60, show: seriesShown(2) },
    ],
    hooks: {
      setSelect: [(u) => onSelect(u)],
      setSeries: [(u, index) => syncSeriesToggles(u, index)],
    },
  };
  state.plot = new uPlot(opts, state.data, chartNode);
  chartWrap.dataset.axes = opts.axes.filter((axis) => axis.scale && axis.show).map((axis) => axis.scale).join(" ");
  addTouch(state.plot);
}
new ResizeObserver(() => state.plot?.setSize(chartSize())).observe(chartWrap);

// uPlot sizes its axes once: a series toggled on or off redraws the chart with its axis to match.
function toggleSeries() {
  state.plot?.destroy();
  state.plot = null;
  redraw();
}

function redraw() {
  chartWrap.dataset.points = String(state.data[0].length);
  if (!state.plot) {
    makePlot();
    performance.mark("dashboard:chart-drawn"); // read by bench/bench_dashboard_first_paint.py
  } else state.plot.setData(state.data);
}

function windowFor(preset) {
  const end = Math.ceil(now() / 60) * 60;
  return [end - PRESETS[preset], end];
}

async function loadSeries() {
  const seq = ++state.loadSeq;
  if (!state.plot) setWrapState(chartWrap, "loading");
  chartWrap.setAttribute("aria-busy", "true");
  const maxPoints = Math.min(2000, Math.max(200, Math.round(chartSize().width * 1.5)));
  const query = new URLSearchParams({ start: state.start, end: state.end, max_points: maxPoints });
  let body;
  try {
    body = await getJSON(`${cfg.urls.series}?${query}`);
  } catch (error) {
    if (seq !== state.loadSeq) return;
    showChartError(error);
    return;
  }
  if (seq !== state.loadSeq) return;
  state.data = [body.t, body.power_w, body.energy_kwh];
  state.baseImport = body.base_import_kwh;
  const count = body.t.length;
  if (count) {
    state.lastT = Math.max(state.lastT ?? 0, body.t[count - 1]);
    if (state.lastT === body.t[count - 1]) state.lastImport = body.base_import_kwh + body.energy_kwh[count - 1];
  }
  setWrapState(chartWrap, count ? "ready" : "empty", count ? "" : "No readings in this period yet.");
  updateRangeLabel();
  redraw();
}

function showChartError(error) {
  setWrapState(chartWrap, "error", `Could not load the readings: ${error.message}. `);
  const retry = el("button", { type: "button", class: "secondary", text: "Try again" });
  retry.addEventListener("click", () => loadSeries());
  chartMessage.append(retry);
}

function updateRangeLabel() {
  document.getElementById("range-label").textContent =
    `${fmtRange(state.start, state.end)} · ${state.data[0].length} points`
    + (viewRange()[0] > state.start ? ` · readings since ${fmtTime(state.data[0][0])}` : "");
}

function setPreset(preset) {
  // A new range drops the selection now, not when its data arrives (by then the user may
  // have selected again).
  clearSelection();
  state.preset = preset;
  [state.start, state.end] = windowFor(preset);
  for (const button of document.querySelectorAll("#presets [data-preset]")) {
    const active = button.dataset.preset === preset;
    button.setAttribute("aria-pressed", active ? "true" : "false");
    button.classList.toggle("outline", !active);
  }
  return loadSeries();
}

function syncSeriesToggles(u, index) {
  const box = { 1: "show-power", 2: "show-energy" }[index];
  if (!box || document.getElementById(box).checked === u.series[index].show) return;
  document.getElementById(box).checked = u.series[index].show;
  setTimeout(toggleSeries); // after uPlot's own hook has run: its axis follows the series
}

// --- Selection statistics ---------------------------------------------------------------------

const selectionPanel = document.getElementById("selection");

function onSelect(u) {
  if (u.select.width < 2) return;
  showStats(u.posToVal(u.select.left, "x"), u.posToVal(u.select.left + u.select.width, "x"));
}

async function showStats(start, end) {
  state.selection = [start, end];
  selectionPanel.hidden = false;
  selectionPanel.setAttribute("aria-busy", "true");
  document.getElementById("selection-range").textContent = `${fmtTime(start)} – ${fmtTime(end)}`;
  const query = new URLSearchParams({ start, end });
  try {
    const stats = await getJSON(`${cfg.urls.stats}?${query}`);
    if (state.selection?.[0] !== start) return;
    document.getElementById("sel-energy").textContent = fmtKWh(stats.energy_kwh);
    document.getElementById("sel-min").textContent = fmtW(stats.min_power_w);
    document.getElementById("sel-max").textContent = fmtW(stats.max_power_w);
    document.getElementById("sel-avg").textContent = fmtW(stats.avg_power_w);
    document.getElementById("sel-count").textContent = fmt(stats.readings, 0);
    document.getElementById("sel-cost-row").hidden = stats.cost === null;
    document.getElementById("sel-cost").textContent = fmtMoney(stats.cost) ?? "–";
  } catch (error) {
    document.getElementById("selection-range").textContent = `Could not work out the statistics: ${error.message}`;
  } finally {
    selectionPanel.setAttribute("aria-busy", "false");
  }
}

// The keyboard's way to a selection: type the range, see the same statistics and the range
// highlighted on the chart when it is in view.
const rangeForm = document.getElementById("range-form");
function localInput(seconds) {
  const date = new Date(seconds * 1000);
  return new Date(date.getTime() - date.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}
document.getElementById("range-form-box").addEventListener("toggle", () => {
  // Start from the range in view; never overwrite what was typed.
  const from = document.getElementById("range-from");
  const to = document.getElementById("range-to");
  if (!from.value) from.value = localInput(state.start);
  if (!to.value) to.value = localInput(state.end);
});
document.getElementById("range-to").addEventListener("input", (event) => event.target.setCustomValidity(""));
rangeForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const start = new Date(document.getElementById("range-from").value).getTime() / 1000;
  const end = new Date(document.getElementById("range-to").value).getTime() / 1000;
  if (!(end > start)) {
    document.getElementById("range-to").setCustomValidity("The end must be after the start.");
    rangeForm.reportValidity();
    return;
  }
  document.getElementById("range-to").setCustomValidity("");
  const u = state.plot;
  if (u && start >= state.start && end <= state.end) {
    const left = u.valToPos(start, "x");
    u.setSelect({ left, width: u.valToPos(end, "x") - left, top: 0, height: u.over.clientHeight }, false);
  }
  showStats(start, end);
});

function clearSelection() {
  state.selection = null;
  selectionPanel.hidden = true;
  if (state.plot) state.plot.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
}

function resetView() {
  return setPreset(state.preset);
}

// Touch: drag with one finger to select a range, double-tap to reset.
function addTouch(u) {
  const over = u.over;
  let startX = null;
  let dragged = false;
  let lastTap = 0;
  const x = (touch) => touch.clientX - over.getBoundingClientRect().left;
  over.addEventListener("touchstart", (event) => {
    if (event.touches.length !== 1) return;
    startX = x(event.touches[0]);
    dragged = false;
  }, { passive: true });
  over.addEventListener("touchmove", (event) => {
    if (startX === null || event.touches.length !== 1) return;
    const current = Math.min(Math.max(x(event.touches[0]), 0), over.clientWidth);
    if (Math.abs(current - startX) < 4) return;
    dragged = true;
    u.setSelect({ left: Math.min(startX, current), width: Math.abs(current - startX), top: 0, height: over.clientHeight }, false);
    event.preventDefault();
  }, { passive: false });
  over.addEventListener("touchend", (event) => {
    startX = null;
    if (dragged) {
      onSelect(u);
      return;
    }
    const tapAt = Date.now();
    if (tapAt - lastTap < 400) {
      event.preventDefault(); // no zoom, no synthetic click
      lastTap = 0;
      resetView();
      return;
    }
    lastTap = tapAt;
  });
}

// --- Live updates -----------------------------------------------------------------------------

function setLive(mode, text) {
  if (!liveState) return;
  liveState.dataset.state = mode;
  liveState.textContent = text;
}

function appendPoint(t, absoluteImport, powerW) {
  if (state.lastT !== null && t <= state.lastT) return false;
  let power = powerW;
  if ((power === null || power === undefined) && state.lastT !== null && state.lastImport !== null) {
    power = Math.round(((absoluteImport - state.lastImport) * 3600000) / (t - state.lastT) * 10) / 10;
  }
  const follow = following();
  state.lastT = t;
  state.lastImport = absoluteImport;
  if (!follow && t > state.end) return false;
  if (state.baseImport === null) state.baseImport = absoluteImport;
  if (follow) {
    const span = state.end - state.start;
    state.end = Math.max(state.end, Math.ceil(t / 60) * 60);
    state.start = state.end - span;
    let drop = 0;
    while (drop < state.data[0].length && state.data[0][drop] < state.start) drop += 1;
    if (drop) state.data = state.data.map((column) => column.slice(drop));
  }
  state.data[0].push(t);
  state.data[1].push(power ?? null);
  state.data[2].push(Math.round((absoluteImport - state.baseImport) * 10000) / 10000);
  return true;
}

function arrived(count) {
  if (!count) return;
  if (chartWrap.dataset.state !== "ready") setWrapState(chartWrap, "ready");
  redraw();
  updateRangeLabel();
  chartWrap.classList.remove("flash");
  void chartWrap.offsetWidth; // restart the animation
  chartWrap.classList.add("flash");
  const when = new Date(state.lastT * 1000).toLocaleTimeString("en-GB");
  const mode = state.socket?.readyState === WebSocket.OPEN ? "live" : "polling";
  setLive(mode, `${mode === "live" ? "Live" : "Updating"} · last reading ${when}`);
  scheduleSummary();
}

function onReading(data) {
  const t = Date.parse(data.at) / 1000;
  arrived(appendPoint(t, Number(data.import_kwh), data.power_w ?? null) ? 1 : 0);
}

function connectSocket() {
  if (!cfg.urls.socket || !("WebSocket" in window)) {
    startPolling();
    return;
  }
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const socket = new WebSocket(`${scheme}${location.host}${cfg.urls.socket}`);
  state.socket = socket;
  socket.addEventListener("open", () => {
    state.socketRetry = 1000;
    if (cfg.pollWithSocket) startPolling(); // the demo: readings cannot arrive on the socket
    else stopPolling();
    setLive("live", "Live");
    pollOnce();
  });
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    if (message.kind === "hello") chartWrap.dataset.socket = "open";
    const reading = message.kind === "meter.reading" || message.kind === "reading";
    if (reading && message.data?.meter_id === cfg.meterId) onReading(message.data);
    else if (message.kind?.startsWith("charging.") || message.kind?.startsWith("battery")) scheduleDevices();
  });
  socket.addEventListener("close", () => {
    chartWrap.dataset.socket = "closed";
    state.socket = null;
    startPolling();
    setTimeout(connectSocket, state.socketRetry);
    state.socketRetry = Math.min(state.socketRetry * 2, 60000);
  });
}

async function pollOnce() {
  if (state.lastT === null) {
    if (following()) await loadSeries();
    return;
  }
  try {
    const body = await getJSON(`${cfg.urls.series}?${new URLSearchParams({ after: state.lastT })}`);
    let added = 0;
    body.t.forEach((t, i) => {
      if (appendPoint(t, body.base_import_kwh + body.energy_kwh[i], body.power_w[i])) added += 1;
    });
    arrived(added);
  } catch (error) {
    setLive("error", `Updates paused: ${error.message}`);
  }
}

function startPolling() {
  if (state.pollTimer) return;
  setLive("polling", "Updating every few seconds");
  state.pollTimer = setInterval(pollOnce, POLL_SECONDS * 1000);
}

function stopPolling() {
  clearInterval(state.pollTimer);
  state.pollTimer = null;
}

// --- Summary cards ----------------------------------------------------------------------------

const summary = document.getElementById("summary");
let summaryTimer = null;

function scheduleSummary() {
  if (summaryTimer) return;
  summaryTimer = setTimeout(() => {
    summaryTimer = null;
    loadSummary();
  }, 15000);
}

async function loadSummary() {
  try {
    const body = await getJSON(cfg.urls.summary);
    summary.replaceChildren(
      ...body.cards.map((card) => {
        const cost = fmtMoney(card.cost);
        return el(
          "article",
          { class: "card", "data-period": card.period },
          el("h3", { text: card.label }),
          el("p", { class: "figure", text: fmtKWh(card.energy_kwh) }),
          cost ? el("p", { class: "cost", text: cost }) : null,
          card.energy_kwh !== null && !card.is_complete && card.period !== "total"
            ? el("p", { class: "note", text: card.period === "last_month" ? "incomplete data" : "so far" }) : null,
        );
      }),
    );
    summary.dataset.state = "ready";
  } catch (error) {
    summary.replaceChildren(el("p", { role: "alert", text: `Could not load the summary: ${error.message}` }));
    summary.dataset.state = "error";
  }
  summary.setAttribute("aria-busy", "false");
}

// --- Daily bars -------------------------------------------------------------------------------

const dailyWrap = document.getElementById("daily-wrap");
const daily = { body: null, plot: null };

function dailyReference() {
  return document.querySelector('input[name="reference"]:checked').value;
}

function drawDaily() {
  const days = daily.body.days;
  const overall = dailyReference() === "overall";
  const reference = overall
    ? days.map(() => daily.body.typical_daily_kwh)
    : days.map((row) => row.moving_average_kwh);
  const data = [days.map((row) => row.t), days.map((row) => row.energy_kwh), reference];
  daily.plot?.destroy();
  const width = Math.max(280, dailyWrap.clientWidth);
  daily.plot = new uPlot(
    {
      width,
      height: 220,
      fmtDate,
      scales: { x: { time: true, range: dayPadding }, kWh: { range: (u, min, max) => [0, max === null || max <= 0 ? 1 : max * 1.15] } },
      series: [
        { value: (u, v) => (v === null ? "–" : new Date(v * 1000).toLocaleDateString("en-GB")) },
        {
          label: "Energy per day", scale: "kWh", fill: "rgba(15, 118, 110, 0.55)", stroke: COLOURS.bars,
          paths: uPlot.paths.bars({ size: [0.7, 40] }), points: { show: false }, value: (u, v) => fmtKWh(v),
        },
        {
          label: overall ? "Typical day (last year)" : "30-day moving average", scale: "kWh",
          stroke: COLOURS.reference, width: 2, dash: [6, 4], points: { show: false }, value: (u, v) => fmtKWh(v),
        },
      ],
      axes: [{}, { scale: "kWh", label: "kWh", size: 55 }],
      hooks: { setScale: [recordSpanDays(dailyWrap)] },
    },
    data,
    document.getElementById("daily-chart"),
  );
  dailyWrap.dataset.points = String(days.length);
}

async function loadDaily() {
  try {
    daily.body = await getJSON(`${cfg.urls.daily}?days=${cfg.dailyDays}`);
  } catch (error) {
    setWrapState(dailyWrap, "error", `Could not load the daily use: ${error.message}`);
    return;
  }
  const empty = daily.body.days.length === 0;
  setWrapState(dailyWrap, empty ? "empty" : "ready", empty ? "No complete days yet." : "");
  drawDaily();
}

// --- Battery and charger cards ----------------------------------------------------------------

let devicesTimer = null;
function scheduleDevices() {
  if (devicesTimer) return;
  devicesTimer = setTimeout(() => {
    devicesTimer = null;
    loadDevices();
  }, 2000);
}

async function loadDevices() {
  let body;
  try {
    body = await getJSON(cfg.urls.cards);
  } catch (_) {
    return; // The cards are extras; the page is whole without them.
  }
  const devices = document.getElementById("devices");
  const nodes = [];
  for (const battery of body.batteries ?? []) {
    nodes.push(el(
      "article", { class: "card device", "data-kind": "battery" },
      el("h3", { text: `Battery ${battery.identifier}` }),
      el("p", { class: "figure", text: battery.soc_percent === null ? "–" : `${fmt(battery.soc_percent, 0)} %` }),
      el("p", { text: `${battery.status} · ${battery.power_kw === null ? "–" : `${fmt(battery.power_kw, 2)} kW`}` }),
      ...battery.alerts.map((alert) => el("p", { class: `alert alert-${alert.severity}`, role: "note", text: alert.message })),
      battery.url ? el("a", { href: battery.url, text: "Details" }) : null,
    ));
  }
  for (const charger of body.chargers ?? []) {
    nodes.push(el(
      "article", { class: "card device", "data-kind": "charger" },
      el("h3", { text: `Charger ${charger.charge_point_id}` }),
      el("p", { text: charger.connected ? "Connected" : "Offline" }),
      ...charger.connectors.map((c) => el("p", {
        text: `Connector ${c.connector_id}: ${c.status}${c.live_power_w !== null ? ` · ${fmtW(c.live_power_w)}` : ""}`
          + `${c.live_energy_kwh !== null ? ` · ${fmtKWh(c.live_energy_kwh)} this session` : ""}`,
      })),
      charger.url ? el("a", { href: charger.url, text: "Start or stop charging" }) : null,
    ));
  }
  devices.replaceChildren(...nodes);
  devices.hidden = nodes.length === 0;
}

// --- Controls ---------------------------------------------------------------------------------

for (const button of document.querySelectorAll("#presets [data-preset]")) {
  button.addEventListener("click", () => setPreset(button.dataset.preset));
}
document.getElementById("refresh").addEventListener("click", () => refreshAll());
document.getElementById("show-power").addEventListener("change", () => toggleSeries());
document.getElementById("show-energy").addEventListener("change", () => toggleSeries());
document.getElementById("power-axis").addEventListener("change", (event) => {
  state.powerMax = event.target.value === "auto" ? null : Number(event.target.value);
  state.plot?.setData(state.data);
});
for (const radio of document.querySelectorAll('input[name="reference"]')) {
  radio.addEventListener("change", () => daily.body && drawDaily());
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.target.closest?.("input, select, textarea, [contenteditable]")) return;
  if (event.key === "r" || event.key === "R") {
    event.preventDefault();
    refreshAll();
  } else if (event.key === "Escape") {
    resetView();
  } else if (PRESET_KEYS[event.key]) {
    event.preventDefault();
    setPreset(PRESET_KEYS[event.key]);
  }
});

function refreshAll() {
  [state.start, state.end] = following() ? windowFor(state.preset) : [state.start, state.end];
  return Promise.all([loadSeries(), loadSummary(), loadDaily()]);
}

setPreset(state.preset).then(() => connectSocket());
loadSummary();
loadDaily();
loadDevices();
