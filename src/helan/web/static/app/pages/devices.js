// Device list: search, filters (type, asset, enabled), sorting and paging done by the server,
// so 10,000+ devices cost one page of rows; online state per shown row from the live API.
import { badge, dataTable, el, errorBox, field, fmtTime, pager, select } from "../dom.js";
import { k } from "../i18n.js";
import { debounce, head, keepQuery } from "../ui.js";

const LIMIT = 50;

export default {
  title: k("nav_devices"),
  async render(root, ctx) {
    const { t, query } = ctx;
    const st = {
      q: query.get("q") || "",
      type: query.get("type") || "",
      asset: query.get("asset") || "",
      enabled: query.get("enabled") || "",
      sort: query.get("sort") || "id",
      offset: Number(query.get("offset") || 0) || 0,
    };
    const [types, assets] = await Promise.all([
      ctx.api.get(ctx.path("/device-types?limit=1000&sort=id")),
      ctx.api.get(ctx.path("/assets?limit=1000&sort=id")),
    ]);
    const search = el("input", { type: "search", name: "q", value: st.q, placeholder: t("search_devices"), id: "device-search" });
    const typeSel = select("type", [["", t("all")], ...types.items.map((x) => [x.id, x.name])], st.type);
    const assetSel = select("asset", [["", t("all")], ...assets.items.map((x) => [x.id, x.name])], st.asset);
    const enabledSel = select("enabled", [["", t("all")], ["true", t("enabled")], ["false", t("disabled")]], st.enabled);
    const list = el("div", { id: "device-list" });
    const summary = el("span", { class: "muted", id: "device-total" });
    const create = ctx.can.write ? el("button", { type: "button", class: "primary write", "data-write": "", "data-action": "new-device" }, t("new_device")) : null;
    root.append(head(t("nav_devices"), create),
      el("div", { class: "toolbar" }, field(t("search"), search), field(t("device_type"), typeSel), field(t("asset"), assetSel),
        field(t("status"), enabledSel), summary), list);
    let seq = 0;
    const load = async () => {
      const mine = ++seq;
      keepQuery({ q: st.q, type: st.type, asset: st.asset, enabled: st.enabled, sort: st.sort === "id" ? "" : st.sort, offset: st.offset || "" });
      const q = new URLSearchParams({ limit: String(LIMIT), offset: String(st.offset), sort: st.sort });
      if (st.q) q.set("q", st.q);
      if (st.type) q.set("device_type", st.type);
      if (st.asset) q.set("asset", st.asset);
      if (st.enabled) q.set("enabled", st.enabled);
      let page;
      try {
        page = await ctx.api.get(ctx.path(`/devices?${q}`));
      } catch (err) {
        list.replaceChildren(errorBox(err));
        return;
      }
      if (mine !== seq || !ctx.alive()) return;
      summary.textContent = t("n_devices", { n: page.total });
      const sortHead = (key, label) => el("a", { href: "#", "data-sort": key, onclick: (e) => {
        e.preventDefault();
        st.sort = st.sort === key ? `-${key}` : key;
        st.offset = 0;
        load();
      } }, label, st.sort === key ? " ▲" : st.sort === `-${key}` ? " ▼" : "");
      const status = new Map();
      const table = dataTable([
        { label: sortHead("id", t("device_id")), value: (d) => el("a", { href: `#/devices/${encodeURIComponent(d.id)}` }, d.id) },
        { label: sortHead("name", t("name")), value: (d) => d.name },
        { label: t("device_type"), value: (d) => d.device_type },
        { label: t("asset"), value: (d) => d.asset },
        { label: t("status"), value: (d) => {
          const cell = el("span", { "data-status": d.id }, d.enabled ? "…" : badge(t("disabled"), "off"));
          status.set(d.id, cell);
          return cell;
        } },
        { label: t("last_seen"), value: (d) => el("span", { "data-seen": d.id }, "") },
      ], page.items, (d) => ({ "data-device": d.id }));
      list.replaceChildren(page.items.length ? table : el("p", { class: "muted", id: "no-devices" }, t("no_devices")),
        pager({ total: page.total, limit: LIMIT, offset: st.offset, onPage: (o) => { st.offset = o; load(); } }));
      await Promise.all(page.items.filter((d) => d.enabled).map(async (d) => {
        try {
          const lv = await ctx.api.get(ctx.path(`/devices/${encodeURIComponent(d.id)}/live`));
          if (mine !== seq) return;
          status.get(d.id)?.replaceChildren(badge(lv.online ? t("online") : t("offline"), lv.online ? "on" : "off"));
          const seen = table.querySelector(`[data-seen="${CSS.escape(d.id)}"]`);
          if (seen) seen.textContent = lv.last_seen ? fmtTime(lv.last_seen) : t("never");
        } catch {
          status.get(d.id)?.replaceChildren("–");
        }
      }));
    };
    const again = () => {
      st.q = search.value.trim();
      st.type = typeSel.value;
      st.asset = assetSel.value;
      st.enabled = enabledSel.value;
      st.offset = 0;
      load();
    };
    search.addEventListener("input", debounce(again, 300));
    for (const s of [typeSel, assetSel, enabledSel]) s.addEventListener("change", again);
    create?.addEventListener("click", () => newDevice(root, ctx, types.items, assets.items));
    await load();
  },
};

function newDevice(root, ctx, types, assets) {
  const { t } = ctx;
  const error = el("div");
  const form = el("form", { class: "card", id: "new-device" },
    el("h3", {}, t("new_device")),
    field(t("device_id"), el("input", { name: "id", required: true, "data-loc": "id" })),
    field(t("name"), el("input", { name: "name", required: true, "data-loc": "name" })),
    field(t("device_type"), select("device_type", [["", "–"], ...types.map((x) => [x.id, x.name])], "", { "data-loc": "device_type" })),
    field(t("asset"), select("asset", [["", "–"], ...assets.map((x) => [x.id, x.name])], "", { "data-loc": "asset" })),
    el("button", { type: "submit", class: "primary" }, t("create")), error);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = (n) => form.elements.namedItem(n).value.trim();
    const body = { id: v("id"), name: v("name") };
    if (v("device_type")) body.device_type = v("device_type");
    if (v("asset")) body.asset = v("asset");
    try {
      const made = await ctx.api.post(ctx.path("/devices"), body);
      ctx.navigate(`#/devices/${encodeURIComponent(made.id)}`);
    } catch (err) {
      error.replaceChildren(errorBox(err));
    }
  });
  root.querySelector("#new-device")?.remove();
  root.querySelector(".page-head").after(form);
}
