// The asset tree (site > line > cell > device group) with each node's roll-up status: how many
// of the devices at or below it are online.
import { badge, el, errorBox, field, select } from "../dom.js";
import { k } from "../i18n.js";
import { head } from "../ui.js";

const KINDS = { site: k("asset_site"), line: k("asset_line"), cell: k("asset_cell"), "device-group": k("asset_group") };

export default {
  title: k("nav_assets"),
  async render(root, ctx) {
    const { t } = ctx;
    const [tree, live] = await Promise.all([ctx.api.get(ctx.path("/asset-tree")), ctx.api.get(ctx.path("/live"))]);
    const online = new Map(live.devices.map((d) => [d.device, d.online]));
    const rollup = (node) => {
      let total = node.devices.length;
      let on = node.devices.filter((d) => online.get(d)).length;
      for (const child of node.children) {
        const r = rollup(child);
        total += r.total;
        on += r.on;
      }
      node.rollup = { total, on };
      return node.rollup;
    };
    tree.forEach(rollup);
    const draw = (node) => {
      const { total, on } = node.rollup;
      const kind = on === total && total ? "on" : on ? "warning" : "off";
      return el("li", { "data-asset": node.id },
        el("span", { class: "node" }, el("b", {}, node.name), el("span", { class: "muted" }, `${node.id} · ${t(KINDS[node.kind] || "asset_group")}`),
          badge(t("online_of", { on, total }), kind)),
        node.devices.length ? el("ul", {}, node.devices.map((d) => el("li", { "data-device": d },
          el("a", { href: `#/devices/${encodeURIComponent(d)}` }, d), " ", badge(online.get(d) ? t("online") : t("offline"), online.get(d) ? "on" : "off")))) : null,
        node.children.length ? el("ul", {}, node.children.map(draw)) : null);
    };
    const form = ctx.can.write ? newAsset(ctx) : null;
    root.append(head(t("nav_assets")), form,
      el("div", { class: "card tree", id: "asset-tree" }, tree.length ? el("ul", {}, tree.map(draw)) : el("p", { class: "muted" }, t("no_assets"))));
  },
};

function newAsset(ctx) {
  const { t } = ctx;
  const error = el("div");
  const form = el("form", { class: "toolbar card write", "data-write": "" },
    field(t("asset_id"), el("input", { name: "id", required: true, "data-loc": "id" })),
    field(t("name"), el("input", { name: "name", required: true, "data-loc": "name" })),
    field(t("type"), select("kind", Object.entries(KINDS).map(([v, key]) => [v, t(key)]), "site", { "data-loc": "kind" })),
    field(t("parent"), el("input", { name: "parent", "data-loc": "parent" })),
    el("button", { type: "submit", class: "primary" }, t("create")), error);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = (n) => form.elements.namedItem(n).value.trim();
    const body = { id: v("id"), name: v("name"), kind: v("kind") };
    if (v("parent")) body.parent = v("parent");
    try {
      await ctx.api.post(ctx.path("/assets"), body);
      ctx.navigate("#/assets?made=" + encodeURIComponent(body.id));
    } catch (err) {
      error.replaceChildren(errorBox(err));
    }
  });
  return form;
}
