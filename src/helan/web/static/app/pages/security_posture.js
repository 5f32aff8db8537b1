// The regional security posture for a region viewer (or the platform's officers): per
// industry of the region's tenants, counts only — assets, affected assets by warning severity,
// open warnings, criticals past due, open alarms and detection alerts. Never a tenant's data.
import { dataTable, el, errorBox, field } from "../dom.js";
import { k } from "../i18n.js";
import { head, keepQuery } from "../ui.js";

export default {
  title: k("nav_security_posture"),
  async render(root, ctx) {
    const { t, query } = ctx;
    const region = el("input", { name: "region", pattern: "[0-9]{6}", value: query.get("sec_region") || ctx.me?.region || "640000", maxlength: "6" });
    const list = el("div", { id: "security-posture" });
    const form = el("form", { class: "toolbar" }, field(t("sec_region"), region), el("button", { type: "submit" }, t("sec_show")));
    root.append(head(t("nav_security_posture")), form, list);
    const load = async () => {
      keepQuery({ region: region.value });
      try {
        const got = await ctx.api.get(`/api/v1/regions/${encodeURIComponent(region.value)}/security-posture`);
        list.replaceChildren(dataTable([
          { label: t("sec_industry"), value: (p) => p.industry || "—" },
          { label: t("sec_posture_tenants"), value: (p) => p.tenants },
          { label: t("sec_posture_assets"), value: (p) => p.assets },
          { label: t("sec_posture_affected"), value: (p) => Object.entries(p.affected_assets).map(([s, n]) => `${s} ${n}`).join(" · ") || "0" },
          { label: t("sec_posture_open"), value: (p) => p.warnings_open },
          { label: t("sec_posture_past_due"), value: (p) => p.criticals_past_due },
          { label: t("sec_posture_incidents"), value: (p) => p.incidents },
          { label: t("sec_posture_detections"), value: (p) => p.detections },
        ], got.industries, (p) => ({ "data-industry": p.industry })));
      } catch (err) {
        list.replaceChildren(errorBox(err));
      }
    };
    form.addEventListener("submit", (e) => { e.preventDefault(); load(); });
    await load();
  },
};
