// The wall display (大屏): full screen, dark, large type, for a control room. Either the
// dashboards named in the link, one after the other (#/wall?dashboards=a,hd_token&rotate=30;
// share tokens let a viewer account run it), or the tenant's overview. It keeps the tab's one
// live connection; while that reconnects a small mark says so and the widgets stay as they are.
import { badge, el, errorBox, field, fmtValue } from "../dom.js";
import { k } from "../i18n.js";
import { makeEnv } from "../../widgets/env.js";
import { WIDGETS } from "../../widgets/index.js";
import { dashboardView } from "./dashboard.js";

const MIN_ROTATE_S = 5;
const DEFAULT_ROTATE_S = 30;
const POLL_MS = 5000;
const STATUS_KEYS = { open: k("live_open"), connecting: k("live_reconnecting"), retrying: k("live_reconnecting"), closed: k("wall_offline") };

export default {
  title: k("wall_title"),
  async render(root, ctx) {
    const { t } = ctx;
    const refs = (ctx.query.get("dashboards") || "").split(",").map((s) => s.trim()).filter(Boolean);
    const rotate = Math.max(MIN_ROTATE_S, Number(ctx.query.get("rotate")) || DEFAULT_ROTATE_S);
    const env = makeEnv(ctx, { dark: true });
    const title = el("h2", { "data-role": "wall-title" }, t("wall_overview"));
    const position = el("span", { class: "muted", "data-role": "position" });
    const liveMark = el("span", { class: "wall-status", "data-role": "live" });
    const clock = el("span", { class: "wall-clock", "data-role": "clock" });
    const body = el("div", { class: "wall-body" });
    const fullScreen = el("button", { type: "button", class: "wall-button", "data-action": "full-screen", onclick: () => {
      if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
      else document.documentElement.requestFullscreen().catch(() => {});
    } }, t("wall_full_screen"));
    root.append(el("div", { class: "wall-head" }, el("span", { class: "wall-left" }, title, " ", position),
      el("span", { class: "wall-right" }, liveMark, clock, fullScreen,
        el("a", { href: refs.length ? "#/wall" : "#/dashboards", class: "wall-button", "data-action": "exit" }, t("wall_exit")))), body);

    const showStatus = (s) => {
      liveMark.dataset.state = s.state;
      liveMark.textContent = t(STATUS_KEYS[s.state] || k("live_reconnecting"));
    };
    showStatus(ctx.live.status());
    ctx.onCleanup(ctx.live.subscribe("status", showStatus));
    const tick = () => {
      const now = new Date();
      clock.textContent = `${now.toLocaleDateString(ctx.lang)} ${now.toLocaleTimeString(ctx.lang, { hour12: false })}`;
    };
    tick();
    ctx.every(1000, tick);

    if (refs.length) await rotation(ctx, env, refs, rotate, { title, position, body });
    else await overview(ctx, env, { body });
  },
};

async function rotation(ctx, env, refs, rotate, { title, position, body }) {
  const grid = el("div", { class: "dash-grid", "data-role": "grid" });
  const problem = el("div");
  body.append(problem, grid);
  const show = dashboardView(ctx, grid, env);
  let index = 0;
  let spec = null;
  const next = async () => {
    const ref = refs[index % refs.length];
    position.textContent = refs.length > 1 ? `${(index % refs.length) + 1} / ${refs.length}` : "";
    index += 1;
    try {
      const d = await ctx.api.get(ctx.path(ref.startsWith("hd_") ? `/dashboard-shares/${encodeURIComponent(ref)}` : `/dashboards/${encodeURIComponent(ref)}`));
      if (!ctx.alive()) return;
      title.textContent = d.title;
      grid.dataset.dashboard = d.id;
      problem.replaceChildren();
      spec = d.spec;
      await show(spec);
    } catch (err) {
      if (!ctx.alive()) return;
      // One dashboard gone or not shared any more: say which, and go on with the others.
      title.textContent = ref;
      problem.replaceChildren(errorBox(err));
      spec = null;
      await show({ columns: 12, widgets: [] });
    }
  };
  ctx.onCleanup(ctx.live.subscribe("lost", () => spec && show(spec)));
  if (refs.length > 1) ctx.every(rotate * 1000, next);
  else ctx.every(rotate * 1000, () => spec && show(spec)); // one dashboard: its history stays fresh
  await next();
}

async function overview(ctx, env, { body }) {
  const { t } = ctx;
  const tile = (key, id) => el("div", { class: "tile", "data-tile": id }, el("div", { class: "n" }, "–"), el("div", { class: "l" }, t(key)));
  const tiles = { devices: tile(k("ov_devices"), "devices"), online: tile(k("ov_online"), "online"),
    rate: tile(k("ov_rate"), "rate"), alarms: tile(k("ov_open_alarms"), "alarms") };
  const chips = el("div", { class: "wall-devices", "data-role": "devices" });
  const alarms = el("div", { class: "widget wall-alarms" }, el("div", { class: "w-title" }, t("nav_alarms")));
  const errors = el("div");
  const chooser = el("div", { "data-role": "chooser" });
  body.append(errors, el("div", { class: "tiles" }, Object.values(tiles)), el("div", { class: "wall-columns" }, chips, alarms), chooser);
  const set = (name, text) => {
    tiles[name].querySelector(".n").textContent = text;
  };
  const chip = new Map();
  const online = (device, on) => {
    const node = chip.get(device);
    if (!node) return;
    node.dataset.online = on ? "1" : "0";
    node.querySelector(".badge").replaceWith(badge(on ? t("online") : t("offline"), on ? "on" : "off"));
    set("online", t("ov_online_of", { online: [...chip.values()].filter((c) => c.dataset.online === "1").length, total: chip.size }));
  };
  let last = null;
  const poll = async () => {
    try {
      const [live, stats] = await Promise.all([ctx.api.get(ctx.path("/live")), ctx.api.get(ctx.path("/ingest/stats"))]);
      if (!ctx.alive()) return;
      set("devices", String(live.devices.length));
      for (const d of live.devices) {
        if (!chip.has(d.device)) {
          const node = el("div", { class: "wall-device", "data-device": d.device }, el("b", {}, d.device), badge("", "off"), el("span", { class: "muted" }));
          chip.set(d.device, node);
          chips.append(node);
        }
        const values = Object.entries(d.values || {}).slice(0, 2).map(([m, v]) => `${m} ${fmtValue(v.value)}`).join(" · ");
        chip.get(d.device).querySelector(".muted").textContent = values;
        online(d.device, d.online);
      }
      const now = Date.now();
      set("rate", last ? t("ov_points_per_s", { rate: (((stats.accepted - last.accepted) * 1000) / Math.max(1, now - last.at)).toFixed(1) })
        : t("ov_points_total", { total: fmtValue(stats.accepted) }));
      last = { accepted: stats.accepted, at: now };
      errors.replaceChildren();
    } catch (err) {
      if (ctx.alive()) errors.replaceChildren(errorBox(err));
    }
  };
  const countAlarms = async () => {
    try {
      const page = await ctx.api.get(ctx.path("/alarms?open=true&limit=1"));
      set("alarms", String(page.total ?? page.items?.length ?? 0));
    } catch {
      set("alarms", "–"); // no alarm API on this platform (yet)
    }
  };
  ctx.onCleanup(ctx.live.subscribe("device", (d) => online(d.device, d.online)));
  const alarmBody = el("div", { class: "w-body" });
  alarms.append(alarmBody);
  const list = await WIDGETS.alarm_list.mount(alarmBody, { id: "wall-alarms", config: { severities: [], devices: [], limit: 20 } }, env);
  ctx.onCleanup(() => list.destroy());
  await Promise.all([poll(), countAlarms(), pick(ctx, chooser)]);
  ctx.every(POLL_MS, poll);
  ctx.every(POLL_MS * 6, countAlarms);
}

// Which dashboards to rotate through, for an account that has some.
async function pick(ctx, node) {
  const { t } = ctx;
  let page;
  try {
    page = await ctx.api.get(ctx.path("/dashboards?limit=200&sort=title"));
  } catch {
    return; // the overview is the wall then
  }
  if (!page.items.length || !ctx.alive()) return;
  const seconds = el("input", { type: "number", name: "rotate", min: MIN_ROTATE_S, value: DEFAULT_ROTATE_S, class: "small" });
  const form = el("form", { class: "wall-chooser", id: "wall-chooser" }, el("span", {}, t("wall_choose")),
    page.items.map((d) => el("label", { class: "inline" }, el("input", { type: "checkbox", name: "dashboard", value: d.id }), d.title)),
    field(t("wall_rotate_s"), seconds), el("button", { type: "submit" }, t("wall_start")));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const chosen = [...form.querySelectorAll("input[name=dashboard]:checked")].map((x) => x.value);
    if (!chosen.length) return;
    ctx.navigate(`#/wall?dashboards=${chosen.map(encodeURIComponent).join(",")}&rotate=${Math.max(MIN_ROTATE_S, Number(seconds.value) || DEFAULT_ROTATE_S)}`);
  });
  node.replaceChildren(form);
}
