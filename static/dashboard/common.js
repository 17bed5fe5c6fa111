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
