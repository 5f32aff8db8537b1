// The regional view: the plan's indicators for a division, live from the platform's data (the
// stored series of the daily job, refreshed every few minutes), against the plan's targets, by
// division below it and by industry (GB/T 4754), each a link one level down; export to XLSX or
// PDF; the wall-display version.
import { dataTable, el, errorBox, fmtTime } from "../dom.js";
import { k } from "../i18n.js";
import { head } from "../ui.js";
import { keepRegion, progressCell, regionApi, regionOf, regionPicker } from "./region_common.js";

export default {
  title: k("nav_region"),
  async render(root, ctx) {
    const { t } = ctx;
    const st = { code: regionOf(ctx), industry: ctx.query.get("industry") || "" };
    const body = el("div", { id: "region-indicators" });
    const error = el("div");
    const zh = ctx.lang === "zh-CN";
    const name = (i) => (zh ? i.name_zh : i.name_en);
    const open = (code, industry = "") => {
      st.code = code;
      st.industry = industry;
      load();
    };
    const exportAs = (format) => {
      const q = new URLSearchParams({ format });
      if (st.industry) q.set("industry", st.industry);
      ctx.api.download(regionApi(st.code, `/indicators/export?${q}`), `region-${st.code}.${format}`)
        .catch((err) => error.replaceChildren(errorBox(err)));
    };
    const refresh = el("button", { type: "button", "data-write": "", "data-action": "refresh", onclick: async () => {
      try {
        await ctx.api.post(regionApi(st.code, "/indicators/refresh"), {});
        await load();
      } catch (err) {
        error.replaceChildren(errorBox(err));
      }
    } }, t("region_refresh"));
    root.append(head(t("nav_region"),
      el("a", { href: `#/region/wall?code=${st.code}`, class: "button", "data-action": "wall" }, t("region_wall")),
      el("button", { type: "button", "data-action": "xlsx", onclick: () => exportAs("xlsx") }, "XLSX"),
      el("button", { type: "button", "data-action": "pdf", onclick: () => exportAs("pdf") }, "PDF"),
      ctx.can.platform ? refresh : null), error, body);

    async function load() {
      keepRegion(st.code, { industry: st.industry });
      const q = st.industry ? `?industry=${encodeURIComponent(st.industry)}` : "";
      let p;
      try {
        p = await ctx.api.get(regionApi(st.code, `/indicators${q}`));
      } catch (err) {
        body.replaceChildren(errorBox(err));
        return;
      }
      if (!ctx.alive()) return;
      const crumbs = p.path.map((d, i) => [i ? " › " : "", el("a", { href: "#", "data-code": d.code, onclick: (e) => {
        e.preventDefault();
        open(d.code);
      } }, `${d.name} ${d.code}`)]);
      const industryCrumb = st.industry
        ? [" · ", el("a", { href: "#", "data-action": "all-industries", onclick: (e) => {
          e.preventDefault();
          open(st.code, "");
        } }, t("region_all_industries")), ` › ${st.industry}`]
        : [];
      const plan = p.plan ? `${p.plan.name} (${p.plan.id})` : t("region_no_plan");
      const cards = el("div", { class: "cards", id: "region-cards" }, p.indicators.map((i) => el("div", { class: "card", "data-indicator": i.id, title: zh ? i.definition_zh : i.definition_en },
        el("h4", {}, name(i)),
        el("div", { class: "big" }, progressCell(p.total.values[i.id], p.total.targets[i.id])),
        el("p", { class: "muted small" }, zh ? i.definition_zh : i.definition_en))));
      const columns = (label, pick) => [
        { label, value: pick },
        ...p.indicators.map((i) => ({ label: name(i), value: (r) => progressCell(r.values[i.id], r.targets[i.id]) })),
      ];
      const divisionLink = (r) => el("a", { href: "#", "data-code": r.code, onclick: (e) => {
        e.preventDefault();
        open(r.code, st.industry);
      } }, `${r.name} ${r.code}`);
      const industryLink = (r) => el("a", { href: "#", "data-industry": r.code, onclick: (e) => {
        e.preventDefault();
        open(st.code, r.code);
      } }, `${r.code} ${r.name}`);
      const shownIndustries = p.industries.filter((r) => Object.values(r.values).some((v) => v > 0) || Object.keys(r.targets).length);
      body.replaceChildren(
        el("p", { class: "crumbs" }, crumbs, industryCrumb),
        regionPicker(ctx, st.code, (code) => open(code)),
        el("p", { class: "muted", id: "region-meta" }, t("region_meta", { plan, year: p.year, day: p.day || "–", at: p.computed_at ? fmtTime(p.computed_at) : "–" })),
        cards,
        el("h3", {}, t("region_by_division")),
        p.divisions.length ? dataTable(columns(t("region_division"), divisionLink), p.divisions, (r) => ({ "data-division": r.code })) : el("p", { class: "muted" }, t("region_no_divisions")),
        el("h3", {}, t("region_by_industry")),
        shownIndustries.length ? dataTable(columns(t("region_industry"), industryLink), shownIndustries, (r) => ({ "data-industry-row": r.code })) : el("p", { class: "muted" }, t("region_no_industries")));
    }
    ctx.every(60_000, load);
    await load();
  },
};
