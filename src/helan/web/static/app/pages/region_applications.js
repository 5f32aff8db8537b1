// Subsidy and cloud-voucher applications to the region's schemes: status, amount, integrity
// flags; opening one shows the entitlement step by step, the flags with their evidence and
// the trail, and (for the region's administrators) approve or reject.
import { badge, dataTable, el, errorBox, field, fmtTime, json, select } from "../dom.js";
import { k } from "../i18n.js";
import { head } from "../ui.js";
import { amount, keepRegion, regionApi, regionOf, regionPicker } from "./region_common.js";

const STATUSES = ["submitted", "flagged", "approved", "rejected", "paid"];
const KIND = { flagged: "warning", rejected: "danger", approved: "ok", paid: "ok" };

export default {
  title: k("nav_region_applications"),
  async render(root, ctx) {
    const { t } = ctx;
    const st = { code: regionOf(ctx), status: ctx.query.get("status") || "" };
    const statusSel = select("status", [["", t("all")], ...STATUSES.map((s) => [s, s])], st.status);
    const list = el("div", { id: "region-applications" });
    const detail = el("div", { id: "region-application" });
    root.append(head(t("nav_region_applications")),
      el("div", { class: "toolbar" }, regionPicker(ctx, st.code, (c) => {
        st.code = c;
        load();
      }), field(t("status"), statusSel)), list, detail);
    statusSel.addEventListener("change", () => {
      st.status = statusSel.value;
      load();
    });

    async function show(id) {
      let a;
      try {
        a = await ctx.api.get(regionApi(st.code, `/applications/${id}`));
      } catch (err) {
        detail.replaceChildren(errorBox(err));
        return;
      }
      const note = el("input", { name: "note", size: 40 });
      const decide = (decision) => ctx.api.post(regionApi(st.code, `/applications/${id}/decision`), { decision, note: note.value })
        .then(() => load().then(() => show(id)), (err) => detail.prepend(errorBox(err)));
      detail.replaceChildren(
        el("h3", {}, `${a.id} · ${a.tenant_id} · ${a.scheme_id} · ${a.year}`),
        el("h4", {}, t("region_entitlement")),
        dataTable([
          { label: t("region_step"), value: (s) => s.step },
          { label: t("region_amount"), value: (s) => amount(s.value_fen) },
          { label: t("region_detail"), value: (s) => el("code", {}, json(s.detail)) },
        ], a.entitlement.steps || []),
        el("h4", {}, t("region_flags")),
        a.flags.length ? dataTable([
          { label: t("region_check"), value: (f) => badge(f.check, "warning") },
          { label: t("device_id"), value: (f) => f.device },
          { label: t("region_detail"), value: (f) => f.message },
          { label: t("region_evidence"), value: (f) => el("code", {}, json(f.evidence)) },
        ], a.flags) : el("p", { class: "muted" }, t("region_no_flags")),
        el("h4", {}, t("region_trail")),
        dataTable([
          { label: t("time"), value: (x) => fmtTime(x.at) },
          { label: t("region_actor"), value: (x) => x.actor },
          { label: t("region_action"), value: (x) => x.action },
          { label: t("region_detail"), value: (x) => el("code", {}, json(x.detail)) },
        ], a.trail),
        ["submitted", "flagged"].includes(a.status)
          ? el("div", { class: "toolbar", "data-write": "" }, field(t("region_note"), note),
            el("button", { type: "button", "data-action": "approve", onclick: () => decide("approve") }, t("region_approve")),
            el("button", { type: "button", "data-action": "reject", onclick: () => decide("reject") }, t("region_reject")))
          : null);
    }

    async function load() {
      keepRegion(st.code, { status: st.status });
      const q = st.status ? `?status=${encodeURIComponent(st.status)}` : "";
      let rows;
      try {
        rows = await ctx.api.get(regionApi(st.code, `/applications${q}`));
      } catch (err) {
        list.replaceChildren(errorBox(err));
        return;
      }
      if (!ctx.alive()) return;
      list.replaceChildren(rows.length ? dataTable([
        { label: "ID", value: (a) => el("a", { href: "#", onclick: (e) => {
          e.preventDefault();
          show(a.id);
        } }, a.id) },
        { label: t("tenant"), value: (a) => a.tenant_id },
        { label: t("region_scheme"), value: (a) => a.scheme_id },
        { label: t("region_year"), value: (a) => a.year },
        { label: t("status"), value: (a) => badge(a.status, KIND[a.status]) },
        { label: t("region_amount"), value: (a) => amount(a.amount_fen) },
        { label: t("region_flags"), value: (a) => a.flags.length },
        { label: t("time"), value: (a) => fmtTime(a.submitted_at) },
      ], rows, (a) => ({ "data-application": a.id, "data-status": a.status })) : el("p", { class: "muted", id: "no-applications" }, t("region_no_applications")));
    }
    await load();
  },
};
