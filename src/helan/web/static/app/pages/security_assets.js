// The security centre's asset inventory of the tenant: what each device is (vendor, model,
// firmware as the directory says or as its gateway read it off the PLC), its CPE, and the worst
// status of the advisories that name it; filtered by status on the server.
import { badge, dataTable, el, errorBox, field, select } from "../dom.js";
import { k } from "../i18n.js";
import { head, keepQuery } from "../ui.js";
import { SOURCES, STATUSES, statusBadge } from "./security_common.js";

export default {
  title: k("nav_security_assets"),
  async render(root, ctx) {
    const { t, query } = ctx;
    const st = { status: query.get("status") || "" };
    const statusSel = select("status", [["", t("all")], ...Object.entries(STATUSES).map(([v, key]) => [v, t(key)])], st.status);
    const summary = el("span", { class: "muted", id: "security-summary" });
    const list = el("div", { id: "security-assets" });
    root.append(head(t("nav_security_assets")), el("div", { class: "toolbar" }, field(t("status"), statusSel), summary), list);
    const load = async () => {
      keepQuery({ status: st.status });
      const q = st.status ? `?status=${encodeURIComponent(st.status)}` : "";
      let got;
      try {
        got = await ctx.api.get(ctx.path(`/security/assets${q}`));
      } catch (err) {
        list.replaceChildren(errorBox(err));
        return;
      }
      if (!ctx.alive()) return;
      const s = got.summary || {};
      summary.textContent = t("sec_summary", { affected: s.affected || 0, needs_review: s.needs_review || 0, fixed: s.fixed || 0 });
      const table = dataTable([
        { label: t("device_id"), value: (a) => el("a", { href: `#/devices/${encodeURIComponent(a.device)}` }, a.device) },
        { label: t("name"), value: (a) => a.name },
        { label: t("sec_vendor"), value: (a) => (a.vendor_garbled ? el("span", {}, a.vendor, " ", badge(t("sec_vendor_garbled"), "warning")) : a.vendor) },
        { label: t("sec_model"), value: (a) => a.model },
        { label: t("sec_firmware"), value: (a) => a.firmware },
        { label: t("sec_source"), value: (a) => t(SOURCES[a.source] || SOURCES.gateway) },
        { label: t("sec_cpe"), value: (a) => (a.cpe ? el("code", {}, a.cpe) : null) },
        { label: t("sec_worst"), value: (a) => statusBadge(t, a.worst) },
        { label: t("sec_matches"), value: (a) => a.matches },
      ], got.items, (a) => ({ "data-asset": a.device, "data-worst": a.worst || "none" }));
      list.replaceChildren(got.items.length ? table : el("p", { class: "muted", id: "no-assets" }, t("sec_no_assets")));
    };
    statusSel.addEventListener("change", () => {
      st.status = statusSel.value;
      load();
    });
    await load();
  },
};
