// Helan console: sign in, then the tenant's devices live (refreshed every 2 s) and one trend.
// Plain browser JavaScript, no dependencies; every string comes from messages.json.
"use strict";

const REFRESH_MS = 2000;
const EVENTS_SHOWN = 20;
const TREND_WINDOW_MS = 10 * 60 * 1000;
const API = "/api/v1";

const state = {
  lang: null, messages: {}, tenant: null, timer: null,
  units: {},        // device type id -> {metric: unit}
  deviceTypes: {},  // device id -> {name, type}
  selected: null,   // {device, metric}
  lastLive: [],
};

const $ = (id) => document.getElementById(id);

function t(key, params) {
  let s = (state.messages[state.lang] || {})[key] ?? key;
  for (const [k, v] of Object.entries(params || {})) s = s.replace(`{${k}}`, v);
  return s;
}

function applyLanguage(lang) {
  state.lang = state.messages[lang] ? lang : "zh-CN";
  localStorage.setItem("helan.lang", state.lang);
  document.documentElement.lang = state.lang;
  document.title = t("app_title");
  $("lang").value = state.lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  if (state.lastLive.length) renderDevices(state.lastLive);
  if (state.selected) refreshTrend();
}

// --- API access -------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(path, options = {}) {
  const token = sessionStorage.getItem("helan.token");
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  if (token) headers.Authorization = `Bearer ${token}`;
  let res = await fetch(path, { ...options, headers });
  if (res.status === 401 && token && await refreshToken()) {
    headers.Authorization = `Bearer ${sessionStorage.getItem("helan.token")}`;
    res = await fetch(path, { ...options, headers });
  }
  const body = res.headers.get("content-type")?.includes("json") ? await res.json() : null;
  if (!res.ok) {
    const message = body?.error?.message || body?.detail || res.statusText;
    throw new ApiError(res.status, message);
  }
  return body;
}

async function refreshToken() {
  const refresh = sessionStorage.getItem("helan.refresh");
  if (!refresh) return false;
  const res = await fetch(`${API}/auth/refresh`, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh_token: refresh }),
  });
  if (!res.ok) return false;
  const pair = await res.json();
  sessionStorage.setItem("helan.token", pair.access_token);
  sessionStorage.setItem("helan.refresh", pair.refresh_token);
  return true;
}

async function login(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  $("login-error").textContent = "";
  try {
    const pair = await api(`${API}/auth/token`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: form.get("username"), password: form.get("password") }),
    });
    sessionStorage.setItem("helan.token", pair.access_token);
    sessionStorage.setItem("helan.refresh", pair.refresh_token);
    event.target.reset();
    await start();
  } catch (err) {
    $("login-error").textContent = t("login_failed") + err.message;
  }
}

function logout(message) {
  clearInterval(state.timer);
  const refresh = sessionStorage.getItem("helan.refresh");
  if (refresh) {
    fetch(`${API}/auth/logout`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: refresh }),
    }).catch(() => {});
  }
  sessionStorage.removeItem("helan.token");
  sessionStorage.removeItem("helan.refresh");
  $("dashboard").classList.add("hidden");
  $("logout").classList.add("hidden");
  $("login").classList.remove("hidden");
  $("login-error").textContent = message || "";
}

// --- Data -------------------------------------------------------------------------------------

async function loadPages(path) {
  const items = [];
  for (let offset = 0; ; offset += 1000) {
    const page = await api(`${path}${path.includes("?") ? "&" : "?"}limit=1000&offset=${offset}`);
    items.push(...page.items);
    if (items.length >= page.total || page.items.length === 0) return items;
  }
}

async function loadModel(tenant) {
  const base = `${API}/tenants/${encodeURIComponent(tenant)}`;
  const [types, devices] = await Promise.all([
    loadPages(`${base}/device-types`).catch(() => []),
    loadPages(`${base}/devices`).catch(() => []),
  ]);
  state.units = {};
  for (const type of types) {
    state.units[type.id] = Object.fromEntries((type.properties || []).map((p) => [p.name, p.unit || ""]));
  }
  state.deviceTypes = Object.fromEntries(devices.map((d) => [d.id, { name: d.name, type: d.device_type }]));
}

// GET .../live: {devices: [{device, online, last_seen, values: {metric: {ts, value}}}]}, every
// registered device included (one never heard from is offline, last_seen null, no values).
function normaliseLive(body) {
  return body.devices.map((d) => ({
    device: d.device,
    online: Boolean(d.online),
    lastSeen: d.last_seen ?? null,
    values: d.values || {},
  })).sort((a, b) => a.device.localeCompare(b.device));
}

async function refreshLive() {
  const tenant = state.tenant;
  try {
    const body = await api(`${API}/tenants/${encodeURIComponent(tenant)}/live`);
    if (tenant !== state.tenant) return;  // answered for a tenant no longer shown
    state.lastLive = normaliseLive(body);
    renderDevices(state.lastLive);
    $("dash-error").textContent = "";
    $("updated").textContent = t("updated", { time: new Date().toLocaleTimeString(state.lang) });
    if (state.selected) await refreshTrend();
    await refreshEvents();
  } catch (err) {
    if (tenant !== state.tenant) return;
    if (err.status === 401) return logout(t("session_expired"));
    // No such tenant (or not ours): nothing of the last one may stay on screen. Other errors
    // (a network blip) keep the last good table, marked by the error line.
    if (err.status === 403 || err.status === 404) clearTenantView();
    $("dash-error").textContent = t("error") + err.message;
  }
}

function clearTenantView() {
  state.lastLive = [];
  state.selected = null;
  state.units = {};
  state.deviceTypes = {};
  renderDevices([]);
  $("events").replaceChildren();
  $("no-events").classList.remove("hidden");
  $("chart").replaceChildren();
  $("trend-stats").textContent = "";
  $("trend-title").textContent = t("trend_hint");
  $("updated").textContent = "";
}

// GET .../events: the tenant's latest events (state changes, breakdowns), newest first.
async function refreshEvents() {
  const body = await api(`${API}/tenants/${encodeURIComponent(state.tenant)}/events?limit=${EVENTS_SHOWN}`);
  const rows = body.items.map((e) => el("tr", { className: `level-${e.level}` },
    el("td", {}, new Date(e.ts).toLocaleString(state.lang)),
    el("td", {}, e.device),
    el("td", {}, t(`level_${e.level}`)),
    el("td", {}, e.event),
    el("td", { className: "muted" }, Object.entries(e.data).map(([k, v]) => `${k}=${formatValue(v)}`).join("  ")),
  ));
  $("events").replaceChildren(...rows);
  $("no-events").classList.toggle("hidden", rows.length > 0);
}

// --- Rendering --------------------------------------------------------------------------------

function ago(ms) {
  if (ms == null) return t("never");
  const s = Math.max(0, Math.round((Date.now() - toMs(ms)) / 1000));
  return s < 120 ? t("seconds_ago", { n: s }) : t("minutes_ago", { n: Math.round(s / 60) });
}

function toMs(ts) {
  return typeof ts === "number" ? ts : Date.parse(ts);
}

function formatValue(v) {
  if (v == null) return "–";
  if (typeof v === "object") v = v.value;
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(+v.toFixed(3));
  return String(v);
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  const { dataset, ...rest } = props;  // dataset is read-only on elements: copy its keys
  Object.assign(node, rest);
  Object.assign(node.dataset, dataset || {});
  for (const c of children) node.append(c);
  return node;
}

function renderDevices(devices) {
  const filter = $("filter").value.trim().toLowerCase();
  const shown = devices.filter((d) => !filter || d.device.toLowerCase().includes(filter)
    || (state.deviceTypes[d.device]?.name || "").toLowerCase().includes(filter));
  const online = devices.filter((d) => d.online).length;
  $("summary").textContent = t("online_count", { online, total: devices.length });
  $("no-devices").classList.toggle("hidden", devices.length > 0);
  const rows = shown.map((d) => {
    const info = state.deviceTypes[d.device] || {};
    const units = state.units[info.type] || {};
    const vals = el("div", { className: "vals" });
    for (const [metric, latest] of Object.entries(d.values)) {
      const unit = units[metric] ? ` ${units[metric]}` : "";
      const span = el("span", { className: "val", title: metric },
        el("span", { className: "name", textContent: `${metric} ` }), `${formatValue(latest)}${unit}`);
      if (state.selected?.device === d.device && state.selected?.metric === metric) span.classList.add("selected");
      span.addEventListener("click", () => selectMetric(d.device, metric));
      vals.append(span);
    }
    const badge = el("span", { className: `badge ${d.online ? "on" : "off"}`, textContent: t(d.online ? "online" : "offline") });
    const name = el("td", {}, el("strong", { textContent: d.device }));
    if (info.name) name.append(el("br"), el("span", { className: "muted", textContent: info.name }));
    return el("tr", { dataset: { device: d.device } }, name, el("td", {}, badge),
      el("td", { textContent: ago(d.lastSeen) }), el("td", {}, vals));
  });
  $("devices").replaceChildren(...rows);
}

function selectMetric(device, metric) {
  state.selected = { device, metric };
  renderDevices(state.lastLive);
  refreshTrend();
}

async function refreshTrend() {
  const { device, metric } = state.selected;
  $("trend-title").textContent = t("trend_title", { device, metric });
  const end = Date.now();
  const params = new URLSearchParams({ start: String(end - TREND_WINDOW_MS), end: String(end), limit: "1000" });
  const path = `${API}/tenants/${encodeURIComponent(state.tenant)}/devices/${encodeURIComponent(device)}`
    + `/telemetry/${encodeURIComponent(metric)}?${params}`;
  try {
    const body = await api(path);
    const points = body.points.map((p) => [toMs(p.ts), p.value]).filter((p) => typeof p[1] === "number");
    drawChart(points);
  } catch (err) {
    drawChart([]);
    $("trend-stats").textContent = t("error") + err.message;
  }
}

function drawChart(points) {
  const svg = $("chart");
  const ns = "http://www.w3.org/2000/svg";
  const W = 600, H = 260, PAD = 30;
  const node = (tag, attrs, text) => {
    const n = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text != null) n.textContent = text;
    return n;
  };
  if (points.length === 0) {
    svg.replaceChildren(node("text", { x: W / 2 - 30, y: H / 2 }, t("no_data")));
    $("trend-stats").textContent = "";
    return;
  }
  points.sort((a, b) => a[0] - b[0]);
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1);
  let y0 = Math.min(...ys), y1 = Math.max(...ys);
  if (y0 === y1) { y0 -= 1; y1 += 1; }
  const sx = (x) => PAD + (x - x0) / (x1 - x0) * (W - 2 * PAD);
  const sy = (y) => H - PAD - (y - y0) / (y1 - y0) * (H - 2 * PAD);
  const path = points.map((p, i) => `${i ? "L" : "M"}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(" ");
  const time = (ms) => new Date(ms).toLocaleTimeString(state.lang);
  svg.replaceChildren(
    node("line", { class: "axis", x1: PAD, y1: H - PAD, x2: W - PAD, y2: H - PAD }),
    node("line", { class: "axis", x1: PAD, y1: PAD, x2: PAD, y2: H - PAD }),
    node("text", { x: 2, y: PAD - 4 }, formatValue(y1)),
    node("text", { x: 2, y: H - PAD + 14 }, formatValue(y0)),
    node("text", { x: PAD, y: H - 6 }, time(x0)),
    node("text", { x: W - PAD - 60, y: H - 6 }, time(x1)),
    node("path", { class: "line", d: path }),
  );
  $("trend-stats").textContent = `${t("min")} ${formatValue(Math.min(...ys))} · ${t("max")} ${formatValue(Math.max(...ys))} · ${t("last")} ${formatValue(ys[ys.length - 1])}`;
}

// --- Start ------------------------------------------------------------------------------------

async function showTenant(tenant) {
  clearInterval(state.timer);  // the old tenant's refresh must not repaint over the new one
  state.tenant = tenant;
  sessionStorage.setItem("helan.tenant", tenant);
  $("tenant").value = tenant;
  $("dash-error").textContent = "";
  clearTenantView();
  await loadModel(tenant);
  await refreshLive();
  state.timer = setInterval(refreshLive, REFRESH_MS);
}

async function start() {
  if (!sessionStorage.getItem("helan.token")) return logout();
  try {
    const me = await api(`${API}/auth/me`);
    $("login").classList.add("hidden");
    $("dashboard").classList.remove("hidden");
    $("logout").classList.remove("hidden");
    await showTenant(sessionStorage.getItem("helan.tenant") || me.tenant || "demo");
  } catch (err) {
    logout(err.status === 401 ? t("session_expired") : t("error") + err.message);
  }
}

document.addEventListener("DOMContentLoaded", async () => {
  state.messages = await (await fetch("/console/messages.json")).json();
  const fromUrl = new URLSearchParams(location.search).get("lang");
  applyLanguage(fromUrl || localStorage.getItem("helan.lang") || document.documentElement.dataset.lang);
  $("lang").addEventListener("change", (e) => applyLanguage(e.target.value));
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", () => logout());
  $("tenant-form").addEventListener("submit", (e) => { e.preventDefault(); showTenant($("tenant").value.trim()); });
  $("filter").addEventListener("input", () => renderDevices(state.lastLive));
  await start();
});
