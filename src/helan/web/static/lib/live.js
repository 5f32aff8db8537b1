// The tab's one live connection: Server-Sent Events read with fetch() so that the bearer token
// travels in the Authorization header (EventSource cannot send one, and a token in a URL ends
// up in logs). Widgets subscribe to topics on it; the connection reconnects by itself with
// backoff and a heartbeat watchdog, so a wall display survives network blips.
//
//   import * as live from "../lib/live.js";
//   live.connect({ tenant, token: () => accessToken, onUnauthorized: refresh });
//   const off = live.subscribe("points", (points) => ...);   // {device: {metric: [ts, v]}}
//   off();
//
// Topics: snapshot, points, device, alarm, lost, heartbeat (server events) and status
// ({state: "connecting"|"open"|"retrying"|"closed", attempt, reconnects}).

const MIN_DELAY_MS = 500;
const MAX_DELAY_MS = 30_000;
const HEARTBEAT_S = 15;

const listeners = new Map(); // topic -> Set<fn>
const latestValues = new Map(); // device -> Map(metric -> [ts, value])
const online = new Map(); // device -> boolean
const conn = {
  options: null,
  controller: null,
  state: "closed",
  attempt: 0,
  reconnects: 0,
  timer: null,
  watchdog: null,
  lastData: 0,
  generation: 0,
};

export function subscribe(topic, fn) {
  let set = listeners.get(topic);
  if (!set) listeners.set(topic, (set = new Set()));
  set.add(fn);
  return () => set.delete(fn);
}

function emit(topic, payload) {
  for (const fn of [...(listeners.get(topic) || [])]) {
    try {
      fn(payload);
    } catch (err) {
      console.error(`live: a ${topic} listener failed`, err); // one widget's bug stays its own
    }
  }
}

function setState(state) {
  conn.state = state;
  emit("status", { state, attempt: conn.attempt, reconnects: conn.reconnects });
}

export function status() {
  return { state: conn.state, attempt: conn.attempt, reconnects: conn.reconnects };
}

export function latest(device, metric) {
  return latestValues.get(device)?.get(metric) || null;
}

export function isOnline(device) {
  return online.has(device) ? online.get(device) : null;
}

function remember(points) {
  for (const [device, metrics] of Object.entries(points)) {
    let m = latestValues.get(device);
    if (!m) latestValues.set(device, (m = new Map()));
    for (const [metric, pair] of Object.entries(metrics)) {
      const cur = m.get(metric);
      if (!cur || pair[0] >= cur[0]) m.set(metric, pair);
    }
  }
}

function dispatch(block) {
  let event = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) event = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
  }
  if (!data.length) return;
  let payload;
  try {
    payload = JSON.parse(data.join("\n"));
  } catch {
    return;
  }
  if (event === "hello") {
    conn.attempt = 0;
    setState("open");
  } else if (event === "snapshot") {
    for (const [device, d] of Object.entries(payload.devices || {})) {
      online.set(device, d.online);
      remember({ [device]: d.values || {} });
    }
  } else if (event === "points") {
    remember(payload);
  } else if (event === "device") {
    online.set(payload.device, payload.online);
  }
  emit(event, payload);
}

async function run(generation) {
  const { tenant, token, base, heartbeat } = conn.options;
  const controller = new AbortController();
  conn.controller = controller;
  setState(conn.reconnects || conn.attempt ? "retrying" : "connecting");
  const url = `${base}/api/v1/tenants/${encodeURIComponent(tenant)}/stream?heartbeat=${heartbeat}`;
  const bearer = typeof token === "function" ? token() : token;
  const res = await fetch(url, {
    headers: { Authorization: `Bearer ${bearer}`, Accept: "text/event-stream" },
    signal: controller.signal,
    cache: "no-store",
  });
  if (res.status === 401 && conn.options.onUnauthorized) {
    await conn.options.onUnauthorized(); // refresh the token (or send the user to sign in)
    throw new Error("unauthorized");
  }
  if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`);
  conn.lastData = Date.now();
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  while (generation === conn.generation) {
    const { value, done } = await reader.read();
    if (done) break;
    conn.lastData = Date.now();
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      dispatch(buffer.slice(0, cut));
      buffer = buffer.slice(cut + 2);
    }
  }
}

function loop(generation) {
  run(generation)
    .catch(() => {})
    .finally(() => {
      if (generation !== conn.generation) return; // disconnected or reconnected meanwhile
      conn.attempt += 1;
      conn.reconnects += 1;
      const delay = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** (conn.attempt - 1));
      setState("retrying");
      conn.timer = setTimeout(() => loop(generation), delay * (0.75 + Math.random() / 2));
    });
}

export function connect({ tenant, token, onUnauthorized = null, base = "", heartbeat = HEARTBEAT_S }) {
  const same = conn.options && conn.options.tenant === tenant && conn.state !== "closed";
  conn.options = { tenant, token, onUnauthorized, base, heartbeat };
  if (same) return; // one connection per tab: a second page reuses it
  disconnect();
  latestValues.clear();
  online.clear();
  const generation = ++conn.generation;
  conn.watchdog = setInterval(() => {
    // Silence for longer than two heartbeats: the connection is dead even if no error came.
    if (conn.state === "open" && Date.now() - conn.lastData > heartbeat * 2000 + 5000) {
      conn.controller?.abort();
    }
  }, 2000);
  loop(generation);
}

export function disconnect() {
  conn.generation += 1;
  clearTimeout(conn.timer);
  clearInterval(conn.watchdog);
  conn.controller?.abort();
  conn.controller = null;
  conn.attempt = 0;
  if (conn.state !== "closed") setState("closed");
}

// For tests and the wall's status mark: drop the connection as a network blip would.
export function drop() {
  conn.controller?.abort();
}
