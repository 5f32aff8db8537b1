// The one place that adapts the console shell's page context (ctx.api, ctx.t, ctx.charts) to
// what widgets and the dashboard pages use, and connects the tab's live stream.
import * as live from "../lib/live.js";

function tokenOf(api) {
  if (typeof api.token === "function") return api.token();
  if (typeof api.accessToken === "function") return api.accessToken();
  return api.token || api.accessToken || sessionStorage.getItem("helan.token") || "";
}

export function makeEnv(ctx, { dark = false } = {}) {
  const api = ctx.api;
  const send = async (method, path, body) => {
    if (typeof api.request === "function") return api.request(method, path, body);
    const fn = { GET: api.get, POST: api.post, PUT: api.put, DELETE: api.del || api.delete }[method];
    return fn.call(api, path, body);
  };
  const raw = async (path, init = {}) => {
    const headers = { ...(init.headers || {}), Authorization: `Bearer ${tokenOf(api)}` };
    return fetch(path, { ...init, headers });
  };
  const env = {
    tenant: ctx.tenant,
    t: ctx.t,
    charts: ctx.charts,
    dark,
    live,
    get: (path) => send("GET", path),
    send,
    raw,
    async download(path, filename) {
      const res = await raw(path);
      if (!res.ok) throw new Error((await res.json().catch(() => ({}))).error?.message || res.statusText);
      const url = URL.createObjectURL(await res.blob());
      const a = document.createElement("a");
      a.href = url;
      a.download = filename;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    },
  };
  live.connect({
    tenant: ctx.tenant,
    token: () => tokenOf(api),
    onUnauthorized: typeof api.refresh === "function" ? () => api.refresh() : null,
  });
  return env;
}

// The error of a refused call as text lines: the message, then each detail with its position.
export function errorLines(err) {
  const e = err?.error || err?.body?.error || err;
  const lines = [e?.message || String(err)];
  for (const d of e?.details || []) lines.push(`${(d.loc || []).join(".")}: ${d.message}`);
  return lines;
}
