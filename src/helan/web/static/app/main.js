// The console shell: sign-in, session (who, which tenant), the menu for the user's role, the
// language switch and the hash router that mounts one page module at a time.
import * as api from "./api.js";
import { charts, darkCharts } from "./charts.js";
import { el, errorBox, fmtTime, select } from "./dom.js";
import { k, languages, lang, load, t } from "./i18n.js";
import { ROUTES, match, parseHash } from "./routes.js";
import * as live from "../lib/live.js";

const WRITERS = new Set(["platform_admin", "tenant_admin", "operator"]);
const ADMINS = new Set(["platform_admin", "tenant_admin"]);
const LANGUAGE_NAMES = { "zh-CN": "中文", en: "English" };
const state = { me: null, tenant: null, tenants: [], pages: [], generation: 0, cleanups: [] };
const bar = document.getElementById("bar");
const nav = document.getElementById("nav");
const main = document.getElementById("main");

function hereHash() {
  return location.hash && location.hash !== "#" ? location.hash : "#/";
}

function toSignIn() {
  const here = hereHash();
  if (!here.startsWith("#/signin")) location.hash = `#/signin?next=${encodeURIComponent(here)}`;
}

api.setUnauthorizedHandler(() => {
  state.me = null;
  live.disconnect();
  toSignIn();
});

function runCleanups() {
  const fns = state.cleanups.splice(0);
  for (const fn of fns) {
    try {
      fn();
    } catch (err) {
      console.warn("page clean-up failed", err);
    }
  }
}

function tenantPath(tenant, path) {
  return `/api/v1/tenants/${encodeURIComponent(tenant)}${path}`;
}

async function loadSession(query) {
  const me = await api.get("/api/v1/auth/me");
  state.tenants = [];
  let tenant = me.tenant;
  if (me.enrol_only) {
    // The token only enrols a second factor: nothing of any tenant is reachable with it.
    state.me = me;
    await setTenant(null);
    return;
  }
  if (me.role === "platform_admin") {
    state.tenants = (await api.get("/api/v1/tenants?limit=1000&sort=id")).items;
    const ids = state.tenants.map((x) => x.id);
    const wanted = query.get("tenant") || sessionStorage.getItem("helan.tenant");
    tenant = ids.includes(wanted) ? wanted : ids[0] || null;
  }
  state.me = me;
  await setTenant(tenant);
}

async function setTenant(tenant) {
  state.tenant = tenant;
  state.pages = [];
  if (tenant) sessionStorage.setItem("helan.tenant", tenant);
  if (tenant) {
    try {
      state.pages = (await api.get(tenantPath(tenant, "/console/pages"))).items || [];
    } catch {
      state.pages = []; // the extra pages are extras: the console works without them
    }
  }
}

function can() {
  const role = state.me?.role;
  return { write: WRITERS.has(role), admin: ADMINS.has(role), platform: role === "platform_admin",
    region: role === "platform_admin" || role === "region_viewer" };
}

function allowed(route) {
  const c = can();
  if (route.need === "admin") return c.admin;
  if (route.need === "region") return c.region;
  if (route.need === "write") return c.write;
  return true;
}

function drawBar() {
  const right = [];
  if (state.me) {
    if (state.tenants.length) {
      const picker = select("tenant", state.tenants.map((x) => [x.id, `${x.name} (${x.id})`]), state.tenant, { id: "tenant-switch", "aria-label": t("tenant") });
      picker.addEventListener("change", async () => {
        live.disconnect();
        await setTenant(picker.value);
        render();
      });
      right.push(el("label", { class: "inline" }, el("span", {}, t("tenant")), picker));
    } else if (state.tenant) {
      right.push(el("span", { class: "tenant", "data-role": "tenant" }, `${t("tenant")}: ${state.tenant}`));
    }
  }
  const langPick = select("lang", languages().map((l) => [l, LANGUAGE_NAMES[l]]), lang(), { id: "lang", "aria-label": t("language") });
  langPick.addEventListener("change", async () => {
    await load(langPick.value);
    localStorage.setItem("helan.lang", langPick.value);
    render();
  });
  right.push(el("label", { class: "inline" }, el("span", {}, t("language")), langPick));
  right.push(el("span", { class: "live-mark", id: "live-mark", "data-state": live.status().state }, ""));
  if (state.me) {
    right.push(el("a", { class: "who", id: "who", href: "#/account" }, `${state.me.subject} · ${t(ROLE_KEYS[state.me.role] || k("role_unknown"))}`));
    const enrolBy = sessionStorage.getItem("helan.enrol_by");
    if (enrolBy && !state.me.enrol_only) {
      right.push(el("a", { class: "badge warning", id: "enrol-reminder", href: "#/account" }, `${t("factor_required_by")} ${fmtTime(enrolBy)}`));
    }
    right.push(el("button", { type: "button", id: "logout", onclick: signOut }, t("logout")));
  }
  right.push(el("a", { href: "/docs", target: "_blank", rel: "noopener" }, t("api_docs")));
  bar.replaceChildren(
    el("a", { href: "#/", class: "brand" }, el("img", { src: "/console/logo.svg", alt: "", class: "logo" }), el("h1", {}, t("app_title"))),
    el("div", { class: "bar-right" }, right),
  );
  document.title = t("app_title");
}

const ROLE_KEYS = {
  platform_admin: k("role_platform_admin"),
  region_viewer: k("role_region_viewer"),
  security_officer: k("role_security_officer"),
  tenant_admin: k("role_tenant_admin"),
  operator: k("role_operator"),
  viewer: k("role_viewer"),
};

function drawNav(active) {
  const sections = new Map();
  for (const route of ROUTES) {
    if (!route.nav || !allowed(route)) continue;
    if (!sections.has(route.section)) sections.set(route.section, []);
    sections.get(route.section).push(el("a", { href: `#/${route.pattern}`, "data-nav": route.pattern,
      class: active === route.pattern ? "active" : null }, t(route.nav)));
  }
  if (state.pages.length) {
    sections.set(k("nav_section_apps"), state.pages.map((p) => el("a", { href: `#/apps/${encodeURIComponent(p.id)}`,
      "data-nav": `apps/${p.id}`, class: active === `apps/${p.id}` ? "active" : null }, p.title[lang()] || p.id)));
  }
  nav.replaceChildren(...[...sections].map(([title, links]) => el("div", { class: "nav-section" }, el("h4", {}, t(title)), links)));
}

async function signOut() {
  live.disconnect();
  await api.signOut();
  state.me = null;
  sessionStorage.removeItem("helan.tenant");
  location.hash = "#/signin";
}

function renderSignIn(next) {
  document.body.classList.remove("wall-mode");
  state.me = null;
  drawBar();
  nav.replaceChildren();
  const error = el("p", { class: "error", id: "login-error", role: "alert" });
  const otp = el("input", { name: "otp", inputmode: "numeric", autocomplete: "one-time-code", maxlength: "20" });
  const otpField = el("label", { class: "field", id: "otp-field", hidden: true }, el("span", {}, t("login_otp")), otp);
  const form = el("form", { id: "login-form", class: "card narrow" },
    el("h2", {}, t("login_title")),
    el("label", { class: "field" }, el("span", {}, t("username")), el("input", { name: "username", autocomplete: "username", required: true })),
    el("label", { class: "field" }, el("span", {}, t("password")), el("input", { name: "password", type: "password", autocomplete: "current-password", required: true })),
    otpField,
    el("button", { type: "submit", class: "primary" }, t("login")), error);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    let pair;
    try {
      pair = await api.signIn(form.elements.namedItem("username").value, form.elements.namedItem("password").value,
        otpField.hidden ? undefined : otp.value.trim());
    } catch (err) {
      if (err.code === "mfa_required") {
        otpField.hidden = false;
        otp.required = true;
        otp.focus();
        error.textContent = t("login_otp_needed");
      } else {
        error.textContent = err.message;
      }
      return;
    }
    if (pair.mfa_enrol_by) sessionStorage.setItem("helan.enrol_by", pair.mfa_enrol_by);
    else sessionStorage.removeItem("helan.enrol_by");
    let target = next && next.startsWith("#/") && !next.startsWith("#/signin") ? next : "#/";
    if (pair.enrol_only) target = "#/account";
    if (location.hash === target) render();
    else location.hash = target;
  });
  main.replaceChildren(el("div", { class: "page", "data-page": "signin" }, form));
  form.elements.namedItem("username").focus();
}

function pageContext(generation, params, query, page) {
  const tenant = state.tenant;
  const alive = () => generation === state.generation;
  const onCleanup = (fn) => state.cleanups.push(fn);
  const wall = page === "wall";
  return {
    api: api.api,
    t,
    k,
    lang: lang(),
    tenant,
    me: state.me,
    can: can(),
    params,
    query,
    charts: wall ? darkCharts : charts,
    live,
    alive,
    onCleanup,
    pages: state.pages,
    navigate(hash) {
      location.hash = hash;
    },
    every(ms, fn) {
      const id = setInterval(() => {
        if (alive()) fn();
      }, ms);
      onCleanup(() => clearInterval(id));
    },
    path: (p) => tenantPath(tenant, p),
    connectLive() {
      live.connect({ tenant, token: api.token, onUnauthorized: api.refreshOrSignIn });
    },
  };
}

async function render() {
  const generation = ++state.generation;
  runCleanups();
  const { segments, query } = parseHash(location.hash);
  if (segments[0] === "signin") return renderSignIn(query.get("next"));
  if (!api.hasToken()) return toSignIn();
  try {
    if (!state.me) await loadSession(query);
    else if (query.get("tenant") && query.get("tenant") !== state.tenant && state.tenants.some((x) => x.id === query.get("tenant"))) {
      live.disconnect();
      await setTenant(query.get("tenant"));
    }
  } catch (err) {
    if (err.status !== 401 && generation === state.generation) main.replaceChildren(errorBox(err));
    return;
  }
  if (generation !== state.generation) return;
  const found = match(segments);
  const page = found?.route.page || "not_found";
  document.body.classList.toggle("wall-mode", page === "wall");
  drawBar();
  drawNav(found?.route.pattern === "" ? "overview" : found?.route.pattern);
  const root = el("div", { class: "page", "data-page": page });
  main.replaceChildren(root);
  if (!found) {
    root.append(el("h2", {}, t("not_found")), el("p", { class: "muted" }, hereHash()));
    return;
  }
  if (!allowed(found.route)) {
    root.append(el("div", { class: "error", role: "alert" }, t("forbidden_page")));
    return;
  }
  if (state.me.enrol_only && page !== "account") {
    location.hash = "#/account";
    return;
  }
  if (!state.tenant && !found.route.tenantless) {
    root.append(el("div", { class: "notice", role: "status" }, t(state.me.role === "region_viewer" ? k("region_viewer_no_tenant") : k("no_tenant"))));
    return;
  }
  live.subscribe("status", markLive);
  try {
    const module = await import(`./pages/${page}.js`);
    if (generation !== state.generation) return;
    await module.default.render(root, pageContext(generation, found.params, query, page));
  } catch (err) {
    if (generation !== state.generation || err?.status === 401) return;
    console.warn("page failed", err);
    root.append(errorBox(err));
  }
}

function markLive(s) {
  const mark = document.getElementById("live-mark");
  if (!mark) return;
  mark.dataset.state = s.state;
  mark.textContent = s.state === "open" ? t("live_open") : s.state === "closed" ? "" : t("live_reconnecting");
}

async function boot() {
  const fromUrl = new URLSearchParams(location.search).get("lang");
  await load(fromUrl || localStorage.getItem("helan.lang") || document.documentElement.lang);
  if (fromUrl) localStorage.setItem("helan.lang", lang());
  live.subscribe("status", markLive);
  window.addEventListener("hashchange", () => render());
  await render();
}

boot().catch((err) => {
  main.replaceChildren(errorBox(err));
});
