// Overview: devices online, the data rate (from the ingest counters, polled), open alarms and
// the top problems (the devices with the most fault and warning events today).
import { badge, el, errorBox, fmtValue } from "../dom.js";
import { k } from "../i18n.js";
import { head } from "../ui.js";

const POLL_MS = 5000;

export default {
  title: k("nav_overview"),
  async render(root, ctx) {
    const { t } = ctx;
    const tile = (key, id) => el("div", { class: "tile", "data-tile": id }, el("div", { class: "n" }, "–"), el("div", { class: "l" }, t(key)));
    const tiles = {
      devices: tile(k("ov_devices"), "devices"),
      online: tile(k("ov_online"), "online"),
      rate: tile(k("ov_rate"), "rate"),
      alarms: tile(k("ov_open_alarms"), "alarms"),
    };
    const problems = el("div", { class: "card" }, el("h3", {}, t("ov_top_problems")), el("p", { class: "muted" }, t("loading")));
    const errors = el("div");
    root.append(head(t("nav_overview")), errors, el("div", { class: "tiles" }, Object.values(tiles)), problems);
    const set = (name, text) => {
      tiles[name].querySelector(".n").textContent = text;
    };
    let last = null;
    const poll = async () => {
      try {
        const [live, stats] = await Promise.all([ctx.api.get(ctx.path("/live")), ctx.api.get(ctx.path("/ingest/stats"))]);
        const online = live.devices.filter((d) => d.online).length;
        set("devices", String(live.devices.length));
        set("online", t("ov_online_of", { online, total: live.devices.length }));
        const now = Date.now();
        if (last) {
          const rate = ((stats.accepted - last.accepted) * 1000) / Math.max(1, now - last.at);
          set("rate", t("ov_points_per_s", { rate: rate.toFixed(1) }));
        } else {
          set("rate", t("ov_points_total", { total: fmtValue(stats.accepted) }));
        }
        last = { accepted: stats.accepted, at: now };
        errors.replaceChildren();
      } catch (err) {
        if (ctx.alive()) errors.replaceChildren(errorBox(err));
      }
    };
    const alarms = async () => {
      try {
        const body = await ctx.api.get(ctx.path("/alarms?open=true&limit=1"));
        set("alarms", String(body.total ?? body.items?.length ?? 0));
      } catch (err) {
        set("alarms", "–");
        tiles.alarms.querySelector(".l").textContent = `${t("ov_open_alarms")} (${t("alarms_api_missing_short")})`;
      }
    };
    const top = async () => {
      const start = Date.now() - 864e5;
      const counts = new Map();
      for (const level of ["fault", "warning"]) {
        const body = await ctx.api.get(ctx.path(`/events?level=${level}&start=${start}&limit=1000`));
        for (const e of body.items) {
          const c = counts.get(e.device) || { fault: 0, warning: 0, last: e };
          c[level] += 1;
          counts.set(e.device, c);
        }
      }
      const rows = [...counts].sort((a, b) => b[1].fault - a[1].fault || b[1].warning - a[1].warning).slice(0, 10);
      problems.replaceChildren(el("h3", {}, t("ov_top_problems")), rows.length
        ? el("ol", { class: "problems" }, rows.map(([device, c]) => el("li", { "data-device": device },
          el("a", { href: `#/devices/${encodeURIComponent(device)}` }, device), " ",
          badge(t("ov_faults", { n: c.fault }), "fault"), " ", badge(t("ov_warnings", { n: c.warning }), "warning"), " ",
          el("span", { class: "muted" }, c.last.event))))
        : el("p", { class: "muted" }, t("ov_no_problems")));
    };
    await Promise.all([poll(), alarms(), top().catch((err) => problems.append(errorBox(err)))]);
    ctx.every(POLL_MS, poll);
  },
};
