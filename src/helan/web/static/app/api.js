// The REST API as the console uses it: bearer token from sessionStorage (a tab's own, never a
// cookie), JSON in and out, the API's {"error": {code, message, details}} as ApiError, and one
// silent refresh on 401 before the user is sent to sign in (and brought back afterwards).
const ACCESS = "helan.token";
const REFRESH = "helan.refresh";

export class ApiError extends Error {
  constructor(status, body) {
    const e = body?.error || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || String(status);
    this.details = e.details || [];
    this.body = body;
  }
}

let onUnauthorized = () => {};
let refreshing = null;

export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

export function token() {
  return sessionStorage.getItem(ACCESS) || "";
}

export function hasToken() {
  return Boolean(sessionStorage.getItem(ACCESS));
}

export function store(pair) {
  sessionStorage.setItem(ACCESS, pair.access_token);
  if (pair.refresh_token) sessionStorage.setItem(REFRESH, pair.refresh_token);
}

export function forget() {
  sessionStorage.removeItem(ACCESS);
  sessionStorage.removeItem(REFRESH);
}

async function parse(res) {
  const type = res.headers.get("content-type") || "";
  if (res.status === 204) return null;
  if (type.includes("json")) return res.json().catch(() => null);
  return res.text();
}

// Password, and the second factor's code (TOTP or recovery) when the account has one.
export async function signIn(username, password, otp) {
  const res = await fetch("/api/v1/auth/token", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(otp ? { username, password, otp } : { username, password }),
  });
  const body = await parse(res);
  if (!res.ok) throw new ApiError(res.status, body);
  store(body);
  return body;
}

export async function signOut() {
  const refresh = sessionStorage.getItem(REFRESH);
  forget();
  if (refresh) {
    await fetch("/api/v1/auth/logout", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: refresh }),
    }).catch(() => {});
  }
}

// A new token pair from the refresh token; false when there is none or it was refused.
export async function refresh() {
  const held = sessionStorage.getItem(REFRESH);
  if (!held) return false;
  if (!refreshing) {
    refreshing = fetch("/api/v1/auth/refresh", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: held }),
    })
      .then(async (res) => {
        if (!res.ok) return false;
        store(await res.json());
        return true;
      })
      .catch(() => false)
      .finally(() => {
        refreshing = null;
      });
  }
  return refreshing;
}

// The live stream's hook: refresh, or sign in again.
export async function refreshOrSignIn() {
  if (!(await refresh())) {
    forget();
    onUnauthorized();
  }
}

async function send(method, path, body, options, retried) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  if (hasToken()) headers.Authorization = `Bearer ${token()}`;
  let payload = body;
  if (body !== undefined && body !== null && !(body instanceof Blob) && !(body instanceof FormData)
      && typeof body !== "string") {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  } else if (typeof body === "string" && !headers["Content-Type"]) {
    headers["Content-Type"] = "application/json";
  }
  const res = await fetch(path, { method, headers, body: payload ?? undefined, cache: "no-store" });
  if (res.status === 401) {
    if (!retried && (await refresh())) return send(method, path, body, options, true);
    forget();
    onUnauthorized();
  }
  if (options.raw) {
    if (!res.ok) throw new ApiError(res.status, await parse(res));
    return res;
  }
  const parsed = await parse(res);
  if (!res.ok) throw new ApiError(res.status, parsed);
  return parsed;
}

export function request(method, path, body, options = {}) {
  return send(method, path, body, options, false);
}

export const get = (path, options) => request("GET", path, undefined, options);
export const post = (path, body, options) => request("POST", path, body, options);
export const put = (path, body, options) => request("PUT", path, body, options);
export const patch = (path, body, options) => request("PATCH", path, body, options);
export const del = (path, options) => request("DELETE", path, undefined, options);

// Fetch a file with the token and hand it to the browser as a download.
export async function download(path, filename) {
  const res = await request("GET", path, undefined, { raw: true, headers: { Accept: "*/*" } });
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export const api = { request, get, post, put, patch, del, download, token, refresh: refreshOrSignIn };
