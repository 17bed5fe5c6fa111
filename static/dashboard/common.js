// Helpers the dashboard pages share: fetching JSON, formatting numbers and times.

export async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      if (body.detail) detail = body.detail;
    } catch (_) {
      // Not JSON (an HTML error page): the status line says enough.
    }
    throw new Error(detail);
  }
  return response.json();
}

const numberFormats = new Map();
export function fmt(value, digits = 1) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  if (!numberFormats.has(digits)) {
    numberFormats.set(digits, new Intl.NumberFormat("en-GB", { minimumFractionDigits: digits, maximumFractionDigits: digits }));
  }
  return numberFormats.get(digits).format(value);
}

export function fmtKWh(value) {
  return value === null || value === undefined ? "–" : `${fmt(value, value >= 100 ? 0 : 2)} kWh`;
}

export function fmtW(value) {
  if (value === null || value === undefined) return "–";
  return Math.abs(value) >= 1000 ? `${fmt(value / 1000, 2)} kW` : `${fmt(value, 0)} W`;
}

export function fmtMoney(value) {
  if (value === null || value === undefined) return null;
  return new Intl.NumberFormat("en-GB", { style: "currency", currency: "GBP" }).format(Number(value));
}

// Day before month on the time axes, as in the UK (uPlot is a global script, loaded first).
export const fmtDate = (template) => uPlot.fmtDate(template.replace(/\{M\}\/\{D\}/g, "{D}/{M}"));

// A time axis over daily bars: half a day either side of the first and last day, so the bars
// are whole (and at least a week). Read from the data, not uPlot's auto range: with a single day uPlot widens the
// scale by 86,400 of its time units (86,400,000 s, some 2.7 years, in seconds mode).
export function dayPadding(u) {
  const t = u.data[0];
  if (!t || t.length === 0) return [Date.now() / 1000 - 86400, Date.now() / 1000];
  // At least a week wide, so a first day reads as a day on a calendar axis, not as 24 hours.
  const end = t[t.length - 1] + 43200;
  return [Math.min(t[0] - 43200, end - 7 * 86400), end];
}

// A uPlot hook that records the x scale's span in days on the chart's wrapper (uPlot sets its
// scales after the constructor returns, in a microtask).
export function recordSpanDays(wrap) {
  return (u, key) => {
    if (key === "x") wrap.dataset.spanDays = String(Math.round((u.scales.x.max - u.scales.x.min) / 86400));
  };
}

// The range label: the year appears when the range crosses a year or is not this year, and
// long ranges (a week or more) name days, not minutes.
export function fmtRange(start, end) {
  const year = new Date().getFullYear();
  const a = new Date(start * 1000);
  const b = new Date(end * 1000);
  const withYear = a.getFullYear() !== year || b.getFullYear() !== year || a.getFullYear() !== b.getFullYear();
  const long = end - start >= 7 * 86400;
  const options = { weekday: "short", day: "numeric", month: "short" };
  if (withYear) options.year = "numeric";
  if (!long) Object.assign(options, { hour: "2-digit", minute: "2-digit" });
  return `${a.toLocaleString("en-GB", options)} – ${b.toLocaleString("en-GB", options)}`;
}

export function fmtTime(seconds) {
  return new Date(seconds * 1000).toLocaleString("en-GB", {
    weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
  });
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

// Colours with at least 4.5:1 contrast on Pico's light and dark backgrounds alike.
export const COLOURS = { power: "#2563eb", energy: "#c2410c", bars: "#0f766e", reference: "#7c3aed" };
