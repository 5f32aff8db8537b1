// Rules: the tenant's rules (name, target, severity, enabled, version), a new one, and the whole
// set exported (YAML, JSON) or imported (all of a document or none of it).
import { badge, dataTable, el, errorBox, fmtTime, pager, select } from "../dom.js";
import { k } from "../i18n.js";
import { head, keepQuery } from "../ui.js";
import { severityBadge } from "./alarm.js";

const LIMIT = 50;
const TARGET_KEYS = { device: k("device"), device_type: k("device_type"), asset: k("asset") };

export function ruleHref(id) {
  return `#/rules/${encodeURIComponent(id)}`;
}

export function targetText(t, target) {
  const [kind, id] = Object.entries(target || {}).find(([, v]) => v) || [];
  return kind ? `${TARGET_KEYS[kind] ? t(TARGET_KEYS[kind]) : kind}: ${id}` : "–";
}

export default {
  title: k("nav_rules"),
  async render(root, ctx) {
    const { t, query } = ctx;
    const st = { enabled: query.get("enabled") || "", offset: Number(query.get("offset") || 0) || 0 };
    const enabledSel = select("enabled", [["", t("all")], ["true", t("enabled")], ["false", t("disabled")]], st.enabled, { id: "rule-enabled" });
    const create = ctx.can.write ? el("a", { href: "#/rules/new", class: "button primary write", "data-write": "", "data-action": "new-rule" }, t("rule_new")) : null;
    const exportYaml = el("button", { type: "button", "data-action": "export-yaml" }, t("rule_export_yaml"));
    const exportJson = el("button", { type: "button", "data-action": "export-json" }, t("rule_export_json"));
    const notice = el("div", { "data-role": "rules-result" });
    const importer = ctx.can.write ? importForm(ctx, notice, () => load()) : null;
    const list = el("div", { id: "rule-list" });
    const summary = el("span", { class: "muted", id: "rule-total" });
    root.append(head(t("nav_rules"), create), el("div", { class: "toolbar" }, el("label", { class: "field" }, el("span", {}, t("status")), enabledSel),
      summary, el("span", { class: "spacer" }), exportYaml, exportJson), importer, notice, list);
    const download = async (format) => {
      try {
        await ctx.api.download(ctx.path(`/rules:export?format=${format}`), `rules-${ctx.tenant}.${format}`);
      } catch (err) {
        notice.replaceChildren(errorBox(err));
      }
    };
    exportYaml.addEventListener("click", () => download("yaml"));
    exportJson.addEventListener("click", () => download("json"));
    let seq = 0;
    const load = async () => {
      const mine = ++seq;
      keepQuery({ enabled: st.enabled, offset: st.offset || "" });
      const q = new URLSearchParams({ limit: String(LIMIT), offset: String(st.offset), sort: "id" });
      if (st.enabled) q.set("enabled", st.enabled);
      let page;
      try {
        page = await ctx.api.get(ctx.path(`/rules?${q}`));
      } catch (err) {
        if (mine === seq) list.replaceChildren(errorBox(err));
        return;
      }
      if (mine !== seq || !ctx.alive()) return;
      summary.textContent = t("rule_n", { n: page.total });
      list.replaceChildren(page.items.length ? dataTable([
        { label: t("name"), value: (r) => el("a", { href: ruleHref(r.id), "data-role": "name" }, r.name) },
        { label: t("rule_id"), value: (r) => el("code", {}, r.id) },
        { label: t("rule_target"), value: (r) => targetText(t, r.spec.target) },
        { label: t("alarm_severity"), value: (r) => severityBadge(t, r.spec.severity || "medium") },
        { label: t("status"), value: (r) => badge(r.enabled ? t("enabled") : t("disabled"), r.enabled ? "on" : "off") },
        { label: t("rule_version"), value: (r) => String(r.version), class: "num" },
        { label: t("rule_updated"), value: (r) => `${fmtTime(r.updated_at)} · ${r.updated_by}` },
        { label: "", value: (r) => el("a", { href: `#/alarms?state=all&rule=${encodeURIComponent(r.id)}`, "data-role": "rule-alarms" }, t("nav_alarms")) },
      ], page.items, (r) => ({ "data-rule": r.id })) : el("p", { class: "muted", id: "no-rules" }, t("rule_none")),
      pager({ total: page.total, limit: LIMIT, offset: st.offset, onPage: (o) => { st.offset = o; load(); } }));
    };
    enabledSel.addEventListener("change", () => {
      st.enabled = enabledSel.value;
      st.offset = 0;
      load();
    });
    await load();
  },
};

// A rules document (YAML or JSON, from an export) sent as it is; with "replace", the tenant's
// rules not in it are deleted.
function importForm(ctx, notice, done) {
  const { t } = ctx;
  const file = el("input", { type: "file", name: "file", accept: ".yaml,.yml,.json,application/json,application/yaml", "data-role": "import-file" });
  const replace = el("input", { type: "checkbox", name: "replace", "data-role": "import-replace" });
  const form = el("form", { class: "toolbar write", "data-write": "", id: "rule-import" },
    el("label", { class: "field" }, el("span", {}, t("rule_import_file")), file),
    el("label", { class: "inline" }, replace, t("rule_import_replace")),
    el("button", { type: "submit" }, t("rule_import")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const chosen = file.files?.[0];
    if (!chosen) {
      notice.replaceChildren(errorBox(new Error(t("rule_import_choose"))));
      return;
    }
    try {
      const text = await chosen.text();
      const out = await ctx.api.post(ctx.path(`/rules:import?replace=${replace.checked}`), text, { headers: { "Content-Type": "application/yaml" } });
      notice.replaceChildren(el("p", { class: "ok", "data-role": "import-result" }, t("rule_imported_n", { n: out.imported.length })));
      form.reset();
      await done();
    } catch (err) {
      notice.replaceChildren(errorBox(err));
    }
  });
  return form;
}
