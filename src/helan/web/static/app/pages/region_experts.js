// The expert pool: search by name, title, affiliation and field; draw a review's experts for
// an enterprise, showing who was drawn and who was excluded for a conflict of interest.
import { dataTable, el, errorBox, field } from "../dom.js";
import { k } from "../i18n.js";
import { debounce, head } from "../ui.js";
import { keepRegion, regionApi, regionOf, regionPicker } from "./region_common.js";

export default {
  title: k("nav_region_experts"),
  async render(root, ctx) {
    const { t } = ctx;
    const st = { code: regionOf(ctx), q: ctx.query.get("q") || "" };
    const q = el("input", { name: "q", value: st.q, size: 20 });
    const list = el("div", { id: "region-experts" });
    const tenant = el("input", { name: "tenant", size: 14, required: true });
    const fieldName = el("input", { name: "field", size: 14 });
    const size = el("input", { name: "size", type: "number", min: 1, max: 25, value: 3 });
    const result = el("div", { id: "region-draw" });
    const draw = el("form", { class: "toolbar", "data-write": "" }, field(t("tenant"), tenant), field(t("region_field"), fieldName), field(t("region_size"), size),
      el("button", { type: "submit", "data-action": "draw" }, t("region_draw")));
    draw.addEventListener("submit", async (e) => {
      e.preventDefault();
      const body = { subject_kind: "application", subject_id: "console", tenant: tenant.value, size: Number(size.value) };
      if (fieldName.value) body.field = fieldName.value;
      try {
        const r = await ctx.api.post(regionApi(st.code, "/reviews"), body);
        result.replaceChildren(
          el("p", {}, t("region_drawn"), " ", el("b", { id: "drawn" }, r.drawn.join(", ")), ` (seed ${r.seed})`),
          r.excluded.length ? dataTable([
            { label: t("region_expert"), value: (x) => x.expert },
            { label: t("region_excluded_why"), value: (x) => x.reason },
          ], r.excluded, (x) => ({ "data-excluded": x.expert })) : el("p", { class: "muted" }, t("region_none_excluded")));
      } catch (err) {
        result.replaceChildren(errorBox(err));
      }
    });
    root.append(head(t("nav_region_experts")),
      el("div", { class: "toolbar" }, regionPicker(ctx, st.code, (c) => {
        st.code = c;
        load();
      }), field(t("search"), q)), list, el("h3", {}, t("region_draw")), draw, result);
    async function load() {
      keepRegion(st.code, { q: st.q });
      let rows;
      try {
        rows = await ctx.api.get(regionApi(st.code, `/experts${st.q ? `?q=${encodeURIComponent(st.q)}` : ""}`));
      } catch (err) {
        list.replaceChildren(errorBox(err));
        return;
      }
      if (!ctx.alive()) return;
      list.replaceChildren(rows.length ? dataTable([
        { label: "ID", value: (x) => x.id },
        { label: t("name"), value: (x) => x.name },
        { label: t("region_title_col"), value: (x) => x.title },
        { label: t("region_affiliation"), value: (x) => x.affiliation },
        { label: t("region_field"), value: (x) => x.fields.join(", ") },
      ], rows, (x) => ({ "data-expert": x.id })) : el("p", { class: "muted", id: "no-experts" }, t("region_no_experts")));
    }
    q.addEventListener("input", debounce(() => {
      st.q = q.value;
      load();
    }));
    await load();
  },
};
