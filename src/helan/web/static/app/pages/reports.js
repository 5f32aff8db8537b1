// Reports: the tenant's report definitions, running one now (optionally mailed), its kept runs
// with their PDFs, and the report's data as XLSX (the export API, one file per device). The
// runs of one report are a deep link: #/reports?runs=daily.
import { badge, confirmDialog, dataTable, el, errorBox, field, fmtTime, select, showFieldErrors } from "../dom.js";
import { k } from "../i18n.js";
import { head, keepQuery } from "../ui.js";
import { bucketFor } from "../../widgets/common.js";

const SCHEDULE_KEYS = { daily: k("report_daily"), weekly: k("report_weekly"), monthly: k("report_monthly") };
const STATUS_KINDS = { ok: "on", running: "info", mail_failed: "warning", failed: "fault" };
const STATUS_KEYS = { ok: k("report_status_ok"), running: k("report_status_running"), mail_failed: k("report_status_mail_failed"), failed: k("report_status_failed") };

export default {
  title: k("nav_reports"),
  async render(root, ctx) {
    const { t } = ctx;
    const list = el("div", { id: "report-list" });
    const forms = el("div");
    const runs = el("div", { "data-role": "runs-panel" });
    const create = ctx.can.write ? el("button", { type: "button", class: "primary", "data-write": "", "data-action": "new-report",
      onclick: () => forms.replaceChildren(createForm(ctx, load)) }, t("report_new")) : null;
    root.append(head(t("nav_reports"), create), forms, list, runs);
    const titleOf = (r) => (ctx.lang === "en" ? r.title_en : r.title_zh);
    const base = (r) => ctx.path(`/reports/${encodeURIComponent(r.id)}`);
    let shown = ctx.query.get("runs");

    async function load() {
      let page;
      try {
        page = await ctx.api.get(ctx.path("/reports?limit=200&sort=id"));
      } catch (err) {
        list.replaceChildren(errorBox(err));
        return;
      }
      if (!ctx.alive()) return;
      const byId = new Map(page.items.map((r) => [r.id, r]));
      list.replaceChildren(page.items.length ? dataTable([
        { label: t("report_title"), value: (r) => el("a", { href: "#", "data-role": "title", onclick: (e) => { e.preventDefault(); showRuns(r); } }, titleOf(r)) },
        { label: t("dash_id"), value: (r) => r.id },
        { label: t("report_source"), value: (r) => sourceText(ctx, r.source) },
        { label: t("report_range"), value: (r) => t("report_hours", { n: r.range_hours }) },
        { label: t("report_schedule"), value: (r) => (r.schedule ? `${t(SCHEDULE_KEYS[r.schedule])} ${String(r.hour).padStart(2, "0")}:00 (${r.timezone})` : t("report_manual")) },
        { label: t("report_recipients"), value: (r) => r.recipients.join(", ") || "–" },
        { label: t("status"), value: (r) => (r.enabled ? badge(t("enabled"), "on") : badge(t("disabled"), "off")) },
        { label: "", value: (r) => el("span", { class: "row-actions" },
          el("button", { type: "button", "data-action": "runs", onclick: () => showRuns(r) }, t("report_runs")), " ",
          ctx.can.write ? [
            el("button", { type: "button", class: "primary", "data-write": "", "data-action": "run", onclick: () => run(r, false) }, t("report_run_now")), " ",
            r.recipients.length ? el("button", { type: "button", "data-write": "", "data-action": "run-mail", onclick: () => run(r, true) }, t("report_run_mail")) : null, " ",
            el("button", { type: "button", class: "danger", "data-write": "", "data-action": "delete", onclick: () => remove(r) }, t("dash_delete")),
          ] : null) },
      ], page.items, (r) => ({ "data-report": r.id })) : el("p", { class: "muted", id: "no-reports" }, t("report_none")));
      if (shown && byId.has(shown)) await showRuns(byId.get(shown));
    }

    async function run(r, mail) {
      const note = el("div", { class: "notice", role: "status", "data-role": "run-status" }, t("report_running", { title: titleOf(r) }));
      runs.replaceChildren(note);
      try {
        const made = await ctx.api.post(`${base(r)}/runs${mail ? "?mail=true" : ""}`);
        if (!ctx.alive()) return;
        await showRuns(r);
        runs.prepend(el("div", { class: "notice", role: "status", "data-role": "run-status", "data-status": made.status },
          t("report_ran", { status: t(STATUS_KEYS[made.status] || k("report_status_failed")) }), made.error ? ` ${made.error}` : ""));
      } catch (err) {
        // A failed render (e.g. no CJK font: 503) is kept as a failed run: show both.
        await showRuns(r);
        runs.prepend(errorBox(err));
      }
    }

    async function remove(r) {
      if (!(await confirmDialog({ title: t("report_delete_title"), body: t("dash_delete_body", { title: titleOf(r) }), confirm: t("dash_delete"), danger: true }))) return;
      try {
        await ctx.api.del(base(r));
      } catch (err) {
        list.prepend(errorBox(err));
        return;
      }
      if (shown === r.id) {
        shown = null;
        keepQuery({});
        runs.replaceChildren();
      }
      load();
    }

    async function showRuns(r) {
      shown = r.id;
      keepQuery({ runs: r.id });
      let page;
      try {
        page = await ctx.api.get(`${base(r)}/runs?limit=50`);
      } catch (err) {
        runs.replaceChildren(errorBox(err));
        return;
      }
      if (!ctx.alive()) return;
      const table = page.items.length ? dataTable([
        { label: t("report_started"), value: (x) => fmtTime(x.started_at) },
        { label: t("report_trigger"), value: (x) => (x.trigger === "manual" ? t("report_trigger_manual") : t("report_trigger_schedule")) },
        { label: t("status"), value: (x) => badge(t(STATUS_KEYS[x.status] || k("report_status_failed")), STATUS_KINDS[x.status] || "fault") },
        { label: t("report_range"), value: (x) => `${fmtTime(x.range_start)} – ${fmtTime(x.range_end)}` },
        { label: t("report_size"), value: (x) => (x.pdf_bytes ? `${Math.ceil(x.pdf_bytes / 1024)} KB` : "–") },
        { label: t("report_mailed_to"), value: (x) => x.mailed_to.join(", ") || "–" },
        { label: t("report_error"), value: (x) => x.error },
        { label: "", value: (x) => (x.pdf_bytes ? el("button", { type: "button", "data-action": "pdf", onclick: () => download(`${base(r)}/runs/${x.id}/pdf`, `${r.id}-${x.id}.pdf`) }, t("report_pdf")) : null) },
      ], page.items, (x) => ({ "data-run": String(x.id) })) : el("p", { class: "muted", "data-role": "no-runs" }, t("report_no_runs"));
      const error = el("div");
      const download = (path, name) => ctx.api.download(path, name).catch((err) => error.replaceChildren(errorBox(err)));
      runs.replaceChildren(el("div", { class: "card", "data-role": "runs", "data-report": r.id },
        el("h3", {}, t("report_runs_of", { title: titleOf(r) })), error, table,
        el("h4", {}, t("report_data")), await dataButtons(ctx, r, download)));
    }
    await load();
  },
};

function sourceText(ctx, source) {
  if (source.dashboard) return ctx.t("report_from_dashboard", { id: source.dashboard });
  return (source.series || []).map((s) => s.label || `${s.device} · ${s.metric}`).join(", ");
}

// The report's series over its range as XLSX, one file per device (the export API's shape);
// a dashboard source's series are its widgets', when this user may open that dashboard.
async function dataButtons(ctx, r, download) {
  const { t } = ctx;
  let series = r.source.series || [];
  if (r.source.dashboard) {
    try {
      const d = await ctx.api.get(ctx.path(`/dashboards/${encodeURIComponent(r.source.dashboard)}`));
      series = d.spec.widgets.flatMap((w) => w.config.series || (w.config.device ? [{ device: w.config.device, metric: w.config.metric }] : []));
    } catch {
      return el("p", { class: "muted" }, t("report_data_unavailable"));
    }
  }
  const byDevice = new Map();
  for (const s of series) byDevice.set(s.device, new Set([...(byDevice.get(s.device) || []), s.metric]));
  if (!byDevice.size) return el("p", { class: "muted" }, t("report_data_unavailable"));
  return el("div", { class: "toolbar" }, [...byDevice].map(([device, metrics]) => el("button", { type: "button", "data-action": "xlsx", "data-device": device, onclick: () => {
    const end = Date.now();
    const span = r.range_hours * 3.6e6;
    const q = new URLSearchParams({ format: "xlsx", metrics: [...metrics].join(","), from: String(end - span), to: String(end), interval: bucketFor(span), fn: "avg" });
    download(ctx.path(`/devices/${encodeURIComponent(device)}/telemetry:export?${q}`), `${r.id}-${device}.xlsx`);
  } }, t("report_xlsx", { device }))));
}

// A new definition: series as "device metric [label]" lines, or every series of a dashboard.
function createForm(ctx, reload) {
  const { t } = ctx;
  const error = el("div");
  const input = (name, attrs = {}) => el("input", { name, "data-loc": name, ...attrs });
  const form = el("form", { class: "card", id: "new-report" },
    el("h3", {}, t("report_new")),
    el("div", { class: "grid-2" },
      el("div", {},
        field(t("dash_id_optional"), input("id", { maxlength: 64 })),
        field(t("report_title_zh"), input("title_zh", { required: true, maxlength: 200 })),
        field(t("report_title_en"), input("title_en", { required: true, maxlength: 200 })),
        field(t("language"), select("language", [["zh-CN", "中文"], ["en", "English"]], ctx.lang, { "data-loc": "language" })),
        field(t("report_series_lines"), el("textarea", { name: "series", rows: 4, "data-loc": "source", placeholder: "press-1 temp" })),
        field(t("report_dashboard_source"), input("dashboard", { maxlength: 64 }))),
      el("div", {},
        field(t("report_range_hours"), input("range_hours", { type: "number", min: 1, max: 8784, value: 24 })),
        field(t("report_schedule"), select("schedule", [["", t("report_manual")], ...Object.entries(SCHEDULE_KEYS).map(([v, key]) => [v, t(key)])], "", { "data-loc": "schedule" })),
        field(t("report_hour"), input("hour", { type: "number", min: 0, max: 23, value: 6 })),
        field(t("report_timezone"), input("timezone", { value: "Asia/Shanghai", maxlength: 64 })),
        field(t("report_recipients"), input("recipients", { placeholder: "a@example.com, b@example.com" })))),
    el("button", { type: "submit", class: "primary" }, t("create")), error);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.replaceChildren();
    const v = (n) => form.elements.namedItem(n).value.trim();
    const series = v("series").split("\n").map((l) => l.trim()).filter(Boolean).map((line) => {
      const [device = "", metric = "", ...label] = line.split(/\s+/);
      return label.length ? { device, metric, label: label.join(" ") } : { device, metric };
    });
    const body = {
      title_zh: v("title_zh"), title_en: v("title_en"), language: v("language"),
      source: v("dashboard") ? { dashboard: v("dashboard") } : { series },
      range_hours: Number(v("range_hours")), schedule: v("schedule") || null, hour: Number(v("hour")), timezone: v("timezone"),
      recipients: v("recipients").split(",").map((s) => s.trim()).filter(Boolean),
    };
    if (v("id")) body.id = v("id");
    try {
      await ctx.api.post(ctx.path("/reports"), body);
    } catch (err) {
      const rest = showFieldErrors(form, err);
      error.replaceChildren(errorBox({ message: err.message, details: rest }));
      return;
    }
    form.remove();
    reload();
  });
  return form;
}
