// The regional indicators for a wall display: each indicator large, its target and progress,
// refreshed every minute.
import { el, errorBox, fmtTime } from "../dom.js";
import { k } from "../i18n.js";
import { head } from "../ui.js";
import { number, regionApi, regionOf } from "./region_common.js";

export default {
  title: k("region_wall"),
  async render(root, ctx) {
    const { t } = ctx;
    const code = regionOf(ctx);
    const zh = ctx.lang === "zh-CN";
    const board = el("div", { class: "wall-grid", id: "region-wall" });
    const meta = el("p", { class: "muted" });
    root.append(head(t("region_wall"), el("a", { href: `#/region?code=${code}`, class: "button" }, t("nav_region"))), meta, board);
    const load = async () => {
      let p;
      try {
        p = await ctx.api.get(regionApi(code, "/indicators"));
      } catch (err) {
        board.replaceChildren(errorBox(err));
        return;
      }
      if (!ctx.alive()) return;
      meta.textContent = `${p.name} ${p.region} · ${p.plan ? p.plan.name : t("region_no_plan")} · ${p.computed_at ? fmtTime(p.computed_at) : "–"}`;
      board.replaceChildren(...p.indicators.map((i) => {
        const v = p.total.values[i.id] || 0;
        const target = p.total.targets[i.id];
        return el("div", { class: "wall-tile", "data-indicator": i.id },
          el("div", { class: "wall-label" }, zh ? i.name_zh : i.name_en),
          el("div", { class: "wall-value", style: { fontSize: "3rem" } }, number(v), " ", el("small", {}, zh ? i.unit_zh : i.unit_en)),
          target ? el("div", {}, el("meter", { min: 0, max: 1, value: Math.min(1, v / target) }), ` ${t("region_target")} ${number(target)} · ${((v / target) * 100).toFixed(1)}%`) : null);
      }));
    };
    ctx.every(60_000, load);
    await load();
  },
};
