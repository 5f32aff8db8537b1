// Security warnings (漏洞预警, 风险通报). A platform security officer publishes them to the
// tenants of industries and regions and follows the receipts; an enterprise reads those that
// reached it, and its administrator acknowledges each and reports remediation.
import { badge, dataTable, el, errorBox, field, fmtTime, select } from "../dom.js";
import { k } from "../i18n.js";
import { head } from "../ui.js";

const SEVERITIES = ["critical", "high", "medium", "low"];
const STATUSES = { acknowledged: k("sec_receipt_acknowledged"), remediating: k("sec_receipt_remediating"), remediated: k("sec_receipt_remediated"), not_affected: k("sec_receipt_not_affected") };
const OFFICERS = new Set(["security_officer", "platform_admin"]);

function sevBadge(s) {
  return badge(s, `sev-${s}`);
}

function publishForm(ctx, onDone) {
  const { t } = ctx;
  const title = el("input", { name: "title", required: true, maxlength: "300" });
  const body = el("textarea", { name: "body", rows: "4", maxlength: "20000" });
  const kind = select("kind", [["vulnerability", t("sec_warning_vulnerability")], ["risk", t("sec_warning_risk")]], "vulnerability");
  const severity = select("severity", SEVERITIES.map((s) => [s, s]), "high");
  const industries = el("input", { name: "industries", placeholder: "C38, C39" });
  const regions = el("input", { name: "regions", placeholder: "640000" });
  const due = el("input", { name: "due_at", type: "date" });
  const error = el("p", { class: "error", role: "alert" });
  const split = (v) => v.split(/[,，\s]+/).map((x) => x.trim()).filter(Boolean);
  const form = el("form", { id: "publish-warning", class: "card" }, el("h3", {}, t("sec_warning_publish")),
    field(t("sec_warning_kind"), kind), field(t("sec_severity"), severity), field(t("sec_title"), title), field(t("sec_warning_body"), body),
    field(t("sec_warning_industries"), industries), field(t("sec_warning_regions"), regions), field(t("sec_warning_due"), due),
    el("button", { type: "submit", class: "primary" }, t("sec_warning_publish")), error);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    const payload = { kind: kind.value, severity: severity.value, title: title.value.trim(), body: body.value,
      industries: split(industries.value), regions: split(regions.value) };
    if (due.value) payload.due_at = `${due.value}T23:59:59Z`;
    try {
      await ctx.api.post("/api/v1/security/warnings", payload);
      form.reset();
      onDone();
    } catch (err) {
      error.textContent = err.message;
    }
  });
  return form;
}

function respondForm(ctx, w, onDone) {
  const { t } = ctx;
  const status = select("status", Object.entries(STATUSES).map(([v, key]) => [v, t(key)]), w.receipt?.status || "acknowledged");
  const affected = el("input", { name: "affected_assets", type: "number", min: "0", value: String(w.receipt?.affected_assets ?? 0) });
  const note = el("input", { name: "note", maxlength: "2000", value: w.receipt?.note || "" });
  const error = el("span", { class: "error", role: "alert" });
  const form = el("form", { class: "inline", "data-respond": w.id }, status, affected, note,
    el("button", { type: "submit" }, t("sec_receipt_save")), error);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await ctx.api.put(ctx.path(`/security/warnings/${w.id}/receipt`),
        { status: status.value, affected_assets: Number(affected.value || 0), note: note.value });
      onDone();
    } catch (err) {
      error.textContent = err.message;
    }
  });
  return form;
}

export default {
  title: k("nav_security_warnings"),
  async render(root, ctx) {
    const { t } = ctx;
    const officer = OFFICERS.has(ctx.me?.role);
    const list = el("div", { id: "security-warnings" });
    const sections = [head(t("nav_security_warnings"))];
    const load = async () => {
      try {
        if (officer && !ctx.tenant) {
          const items = await ctx.api.get("/api/v1/security/warnings");
          list.replaceChildren(dataTable([
            { label: t("time"), value: (w) => fmtTime(w.published_at) },
            { label: t("sec_severity"), value: (w) => sevBadge(w.severity) },
            { label: t("sec_title"), value: (w) => w.title },
            { label: t("sec_warning_reached"), value: (w) => w.reached },
            { label: t("sec_warning_receipts"), value: (w) => Object.entries(w.by_status).map(([s, n]) => `${t(STATUSES[s] || k("status"))} ${n}`).join(" · ") },
            { label: "", value: (w) => (w.withdrawn ? badge(t("sec_warning_withdrawn"), "off")
              : el("button", { type: "button", class: "danger", "data-withdraw": w.id, onclick: async () => { await ctx.api.post(`/api/v1/security/warnings/${w.id}:withdraw`); load(); } }, t("sec_warning_withdraw"))) },
          ], items, (w) => ({ "data-warning": w.id })));
          return;
        }
        const items = await ctx.api.get(ctx.path("/security/warnings"));
        list.replaceChildren(dataTable([
          { label: t("time"), value: (w) => fmtTime(w.published_at) },
          { label: t("sec_severity"), value: (w) => sevBadge(w.severity) },
          { label: t("sec_title"), value: (w) => el("span", { title: w.body }, w.title) },
          { label: t("sec_warning_due"), value: (w) => (w.due_at ? fmtTime(w.due_at) : null) },
          { label: t("status"), value: (w) => (w.receipt ? t(STATUSES[w.receipt.status]) : badge(t("sec_receipt_none"), "warning")) },
          { label: "", value: (w) => (ctx.can.admin ? respondForm(ctx, w, load) : null) },
        ], items, (w) => ({ "data-warning": w.id, "data-status": w.receipt?.status || "" })));
      } catch (err) {
        list.replaceChildren(errorBox(err));
      }
    };
    if (officer && !ctx.tenant) sections.push(publishForm(ctx, load));
    root.append(...sections, list);
    await load();
  },
};
