// What every widget shares: time ranges, the bucket a range asks the query API for, the chart
// instance from the console's chart library, and DOM helpers that only ever set text (a device
// named "<script>" stays text).

export const RANGES = { "15m": 9e5, "1h": 3.6e6, "6h": 2.16e7, "12h": 4.32e7, "24h": 8.64e7,
  "7d": 6.048e8, "30d": 2.592e9, "90d": 7.776e9, "1y": 3.1536e10 };
const BUCKETS = [["1s", 1e3], ["5s", 5e3], ["15s", 1.5e4], ["30s", 3e4], ["1m", 6e4], ["5m", 3e5],
  ["15m", 9e5], ["1h", 3.6e6], ["6h", 2.16e7], ["1d", 8.64e7]];
export const PALETTE = ["#3b82f6", "#ef4444", "#22c55e", "#f59e0b", "#a855f7", "#06b6d4", "#ec4899", "#94a3b8"];

// The bucket for ~300 points over the range, so a year reads day roll-ups, not raw points.
export function bucketFor(spanMs, points = 300) {
  const want = spanMs / points;
  return (BUCKETS.find(([, ms]) => ms >= want) || BUCKETS[BUCKETS.length - 1])[0];
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k === "style") node.style.cssText = v; // CSSOM, which CSP style-src allows
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) node.append(c);
  return node;
}

export function chartOn(env, node) {
  const c = env.charts;
  const chart = c?.create ? c.create(node) : c?.init ? c.init(node) : c?.echarts?.init(node);
  if (!chart) throw new Error("the console's chart library is not loaded");
  const resize = new ResizeObserver(() => chart.resize());
  resize.observe(node);
  return {
    chart,
    dispose() {
      resize.disconnect();
      chart.dispose();
    },
  };
}

export function formatValue(value, decimals = 2) {
  if (value === null || value === undefined) return "–";
  if (typeof value === "number") return value.toLocaleString(undefined, { maximumFractionDigits: decimals });
  return String(value);
}

export function label(series) {
  return series.label || `${series.device} · ${series.metric}`;
}

export function tenantPath(env, path) {
  return `/api/v1/tenants/${encodeURIComponent(env.tenant)}${path}`;
}

// Aggregates of several series over a range, grouped by device (one query per device).
export async function loadSeries(env, config) {
  const span = RANGES[config.range] || RANGES["1h"];
  const end = Date.now();
  const bucket = bucketFor(span);
  const byDevice = new Map();
  for (const s of config.series) {
    if (!byDevice.has(s.device)) byDevice.set(s.device, []);
    byDevice.get(s.device).push(s.metric);
  }
  const out = new Map();
  await Promise.all([...byDevice].map(async ([device, metrics]) => {
    const q = new URLSearchParams({ metrics: [...new Set(metrics)].join(","), bucket,
      fn: config.fn || "avg", start: String(end - span), end: String(end) });
    const body = await env.get(tenantPath(env, `/devices/${encodeURIComponent(device)}/telemetry?${q}`));
    for (const [metric, points] of Object.entries(body.series || {})) out.set(`${device}\u0000${metric}`, points);
  }));
  return { span, end, bucket, data: (s) => out.get(`${s.device}\u0000${s.metric}`) || [] };
}

export function csvDownload(filename, header, rows) {
  const cell = (v) => {
    let s = v === null || v === undefined ? "" : String(v);
    if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`; // no spreadsheet formulas from device data
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const text = "\ufeff" + [header, ...rows].map((r) => r.map(cell).join(",")).join("\r\n");
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
  const a = el("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
