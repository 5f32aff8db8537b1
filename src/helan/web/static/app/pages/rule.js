// One rule's editor (#/rules/new, #/rules/:id): the form for what a rule names, its condition
// as JSON, checked by the server (a 422's position and message shown at the field), a backtest
// over the last 24 h or 7 d, save naming the version the edit started from (409: someone saved
// since), delete, and the saved versions. Viewers see the rule read-only.
import { badge, confirmDialog, dataTable, el, errorBox, field, fmtTime, fmtValue, select, showFieldErrors } from "../dom.js";
import { k } from "../i18n.js";
import { SEVERITY_KEYS, severityBadge } from "./alarm.js";
import { ruleHref } from "./rules.js";

const TARGETS = { device: [k("device"), "/devices"], device_type: [k("device_type"), "/device-types"], asset: [k("asset"), "/assets"] };
const NOTIFY = { raised: k("rule_notify_raised"), cleared: k("rule_notify_cleared"), escalated: k("rule_notify_escalated"), acknowledged: k("rule_notify_acknowledged") };
const BACKTEST_HOURS = [[24, k("rule_backtest_24h")], [168, k("rule_backtest_7d")]];
const MAX_CHANGES_SHOWN = 100;
const NEW_RULE = {
  name: "", enabled: true, target: { device: "" }, severity: "medium",
  condition: { kind: "threshold", metric: "temp", op: ">", value: 100 }, for_s: 0, clear_for_s: 0,
};

export default {
  title: k("nav_rules"),
  async render(root, ctx) {
    const { t } = ctx;
    const creating = ctx.params.id === undefined;
    let rule = creating ? null : await ctx.api.get(ctx.path(`/rules/${encodeURIComponent(ctx.params.id)}`));
    const [options, channels] = await Promise.all([targetOptions(ctx), ctx.api.get(ctx.path("/notification-channels?limit=1000")).then((p) => p.items, () => [])]);
    if (!ctx.alive()) return;
    const editable = ctx.can.write;
    const title = el("h2", {});
    const version = el("span", { class: "muted", "data-role": "version" });
    const result = el("div", { "data-role": "rule-result" });
    const backtestOut = el("div", { class: "card", "data-section": "backtest", hidden: true });

    const idIn = el("input", { name: "id", required: true, pattern: "[a-z0-9][a-z0-9_.\\-]{0,63}", "data-loc": "id" });
    const nameIn = el("input", { name: "name", required: true, maxlength: "200", "data-loc": "name" });
    const descIn = el("textarea", { name: "description", rows: "2", maxlength: "2000", "data-loc": "description" });
    const enabledIn = el("input", { type: "checkbox", name: "enabled", "data-loc": "enabled" });
    const kindSel = select("target_kind", Object.entries(TARGETS).map(([kind, [key]]) => [kind, t(key)]), "device", { "data-role": "target-kind" });
    const targetIn = el("input", { name: "target", list: "rule-targets", required: true, "data-loc": "target" });
    const targetList = el("datalist", { id: "rule-targets" });
    const sevSel = select("severity", Object.entries(SEVERITY_KEYS).map(([s, key]) => [s, t(key)]), "medium", { "data-loc": "severity" });
    const messageIn = el("input", { name: "message", maxlength: "500", "data-loc": "message" });
    const number = (name) => el("input", { type: "number", name, min: "0", step: "any", "data-loc": name });
    const forIn = number("for_s");
    const clearIn = number("clear_for_s");
    const escalateIn = number("escalate_after_s");
    const conditionIn = el("textarea", { name: "condition", class: "code", rows: "8", spellcheck: "false", "data-loc": "condition" });
    const suppressIn = el("textarea", { name: "suppress", class: "code", rows: "3", spellcheck: "false", "data-loc": "suppress", placeholder: t("rule_suppress_none") });
    const notifyBoxes = new Map(); // `${kind}/${channel}` -> checkbox
    const notify = el("div", { "data-loc": "notify", "data-role": "notify" }, channels.length ? dataTable(
      [{ label: t("rule_channel"), value: (c) => `${c.name} (${c.id})` },
        ...Object.entries(NOTIFY).map(([kind, key]) => ({ label: t(key), value: (c) => {
          const box = el("input", { type: "checkbox", "data-notify": `${kind}/${c.id}` });
          notifyBoxes.set(`${kind}/${c.id}`, box);
          return box;
        } }))], channels) : el("p", { class: "muted" }, t("rule_no_channels")));

    const fill = (spec) => {
      nameIn.value = spec.name || "";
      descIn.value = spec.description || "";
      enabledIn.checked = spec.enabled !== false;
      const [kind, id] = Object.entries(spec.target || {}).find(([, v]) => v !== null && v !== undefined) || ["device", ""];
      kindSel.value = TARGETS[kind] ? kind : "device";
      targetIn.value = id;
      sevSel.value = spec.severity || "medium";
      messageIn.value = spec.message || "";
      forIn.value = String(spec.for_s ?? 0);
      clearIn.value = String(spec.clear_for_s ?? 0);
      escalateIn.value = spec.escalate_after_s ? String(spec.escalate_after_s) : "";
      conditionIn.value = JSON.stringify(spec.condition ?? {}, null, 2);
      suppressIn.value = spec.suppress ? JSON.stringify(spec.suppress, null, 2) : "";
      for (const [key, box] of notifyBoxes) {
        const [kindOf, channel] = key.split("/");
        box.checked = (spec.notify?.[kindOf] || []).includes(channel);
      }
      fillTargets();
    };
    const fillTargets = () => targetList.replaceChildren(...(options[kindSel.value] || []).map(([v, label]) => el("option", { value: v }, label)));
    kindSel.addEventListener("change", fillTargets);
    const draw = () => {
      title.textContent = creating ? t("rule_new") : `${rule.name} (${rule.id})`;
      version.textContent = creating ? "" : t("rule_version_is", { version: rule.version });
      if (!creating) version.dataset.version = String(rule.version);
    };

    const fieldset = el("fieldset", { class: "plain", disabled: !editable },
      creating ? field(t("rule_id"), idIn) : null, field(t("name"), nameIn), field(t("description"), descIn),
      el("label", { class: "inline" }, enabledIn, t("enabled")),
      el("div", { class: "toolbar" }, field(t("rule_target"), kindSel), field(t("rule_target_id"), targetIn), targetList, field(t("alarm_severity"), sevSel)),
      field(t("message"), messageIn), el("p", { class: "muted" }, t("rule_message_hint")),
      el("div", { class: "toolbar" }, field(t("rule_for_s"), forIn), field(t("rule_clear_for_s"), clearIn), field(t("rule_escalate_after_s"), escalateIn)),
      field(t("rule_condition"), conditionIn), el("p", { class: "muted" }, t("rule_condition_hint")),
      field(t("rule_suppress"), suppressIn), el("h4", {}, t("rule_notify")), notify);
    const button = (action, label, cls = "") => el("button", { type: "button", class: cls, "data-action": action }, label);
    const validateBtn = button("validate", t("rule_validate"));
    const backtestBtns = BACKTEST_HOURS.map(([hours, key]) => {
      const b = button(`backtest-${hours}`, t(key));
      b.addEventListener("click", () => runBacktest(hours));
      return b;
    });
    const saveBtn = button("save", t("rule_save"), "primary");
    const deleteBtn = creating ? null : button("delete", t("rule_delete"), "danger");
    const form = el("form", { class: "card", id: "rule-form" }, fieldset,
      editable ? el("div", { class: "toolbar" }, validateBtn, backtestBtns, el("span", { class: "spacer" }), deleteBtn, saveBtn) : null, result);
    const versions = el("div", { class: "card", "data-section": "versions" });
    form.addEventListener("submit", (e) => e.preventDefault());
    root.append(el("div", { class: "page-head toolbar back" }, el("a", { href: "#/rules" }, `← ${t("nav_rules")}`), title, el("span", { class: "spacer" }), version),
      form, backtestOut, creating ? null : versions);

    // The rule as the form says, or null after marking the field that is not JSON.
    const collect = () => {
      const json = (input, loc, optional) => {
        const text = input.value.trim();
        if (!text && optional) return null;
        try {
          return JSON.parse(text);
        } catch (err) {
          showFieldErrors(form, { details: [{ loc: [loc], message: t("rule_not_json", { error: err.message }) }] });
          throw err;
        }
      };
      let condition, suppress;
      try {
        condition = json(conditionIn, "condition", false);
        suppress = json(suppressIn, "suppress", true);
      } catch {
        return null;
      }
      const num = (input, fallback) => (input.value.trim() === "" ? fallback : Number(input.value));
      const spec = { ...(rule?.spec || {}), name: nameIn.value.trim(), enabled: enabledIn.checked, target: { [kindSel.value]: targetIn.value.trim() },
        severity: sevSel.value, condition, for_s: num(forIn, 0), clear_for_s: num(clearIn, 0) };
      spec.description = descIn.value.trim() || null;
      spec.message = messageIn.value.trim() || null;
      spec.suppress = suppress;
      spec.escalate_after_s = num(escalateIn, null);
      // Channels the list did not show (it failed, or they are gone) stay as the rule names them.
      const known = new Set(channels.map((c) => c.id));
      spec.notify = Object.fromEntries(Object.keys(NOTIFY).map((kind) => [kind, [...(rule?.spec.notify?.[kind] || []).filter((c) => !known.has(c)),
        ...channels.filter((c) => notifyBoxes.get(`${kind}/${c.id}`)?.checked).map((c) => c.id)]]));
      for (const key of Object.keys(spec)) if (spec[key] === null) delete spec[key];
      return spec;
    };
    // A 422's details at their fields, each with its position; the rest as one alert.
    const refused = (err) => {
      const details = (err.details || []).map((d) => {
        const loc = (d.loc || []).map(String).filter((p, i) => !(i === 0 && p === "body"));
        return { ...d, loc, message: loc.length ? `${loc.join(".")}: ${d.message}` : d.message };
      });
      const rest = showFieldErrors(form, { details });
      result.replaceChildren(err.status === 422 && rest.length === 0 && details.length ? el("p", { class: "error", role: "alert" }, t("rule_invalid"))
        : errorBox({ message: err.message, details: rest }));
    };
    const clean = () => {
      showFieldErrors(form, { details: [] });
      result.replaceChildren();
    };
    const busy = async (fn) => {
      for (const b of form.querySelectorAll(".toolbar button")) b.disabled = true;
      try {
        await fn();
      } finally {
        for (const b of form.querySelectorAll(".toolbar button")) b.disabled = false;
      }
    };

    validateBtn.addEventListener("click", () => busy(async () => {
      clean();
      const spec = collect();
      if (!spec) return;
      try {
        const out = await ctx.api.post(ctx.path("/rules:validate"), spec);
        result.replaceChildren(el("p", { class: "ok", "data-role": "valid" }, t("rule_valid", { n: out.device_count })));
      } catch (err) {
        refused(err);
      }
    }));

    const runBacktest = (hours) => busy(async () => {
      clean();
      const spec = collect();
      if (!spec) return;
      let out;
      try {
        out = await ctx.api.post(ctx.path("/rules:backtest"), { rule: spec, hours });
      } catch (err) {
        refused(err);
        return;
      }
      backtestOut.hidden = false;
      backtestOut.dataset.raised = String(out.raised);
      const changes = out.changes.slice(-MAX_CHANGES_SHOWN).reverse();
      const perDevice = new Map();
      for (const c of out.changes) {
        const d = perDevice.get(c.device) || { device: c.device, raised: 0 };
        if (c.active) d.raised += 1;
        perDevice.set(c.device, d);
      }
      const devices = [...perDevice.values()].sort((a, b) => b.raised - a.raised);
      backtestOut.replaceChildren(el("h3", {}, t("rule_backtest_title", { hours })),
        el("p", { "data-role": "backtest-summary" }, t("rule_backtest_summary", { raised: out.raised, cleared: out.cleared, devices: out.devices, points: out.points })),
        devices.length ? dataTable([
          { label: t("device"), value: (d) => d.device },
          { label: t("rule_backtest_raised_n"), value: (d) => String(d.raised), class: "num" },
          { label: t("rule_backtest_active_min"), value: (d) => ((out.active_ms[d.device] || 0) / 60000).toFixed(1), class: "num" },
        ], devices, (d) => ({ "data-backtest-device": d.device })) : null,
        out.truncated || out.changes.length > MAX_CHANGES_SHOWN ? el("p", { class: "muted" }, t("rule_backtest_truncated", { n: changes.length })) : null,
        changes.length ? el("div", { class: "scroll" }, dataTable([
          { label: t("time"), value: (c) => fmtTime(c.ts_ms) },
          { label: t("device"), value: (c) => c.device },
          { label: t("alarm_state"), value: (c) => badge(c.active ? t("rule_backtest_raised") : t("rule_backtest_cleared"), c.active ? "off" : "on") },
          { label: t("message"), value: (c) => c.message },
          { label: t("alarm_values"), value: (c) => Object.entries(c.values).map(([m, v]) => `${m} = ${fmtValue(v)}`).join(", ") },
        ], changes, (c) => ({ "data-change": c.active ? "raised" : "cleared" }))) : el("p", { class: "muted" }, t("rule_backtest_nothing")));
    });

    const reload = async () => {
      rule = await ctx.api.get(ctx.path(`/rules/${encodeURIComponent(rule.id)}`));
      fill(rule.spec);
      draw();
      clean();
      await loadVersions();
    };
    saveBtn.addEventListener("click", () => busy(async () => {
      clean();
      if (creating && !idIn.value.trim()) {
        showFieldErrors(form, { details: [{ loc: ["id"], message: t("rule_id_needed") }] });
        return;
      }
      const spec = collect();
      if (!spec) return;
      try {
        if (creating) {
          const made = await ctx.api.post(ctx.path("/rules"), { id: idIn.value.trim(), ...spec });
          ctx.navigate(ruleHref(made.id));
          return;
        }
        rule = await ctx.api.put(ctx.path(`/rules/${encodeURIComponent(rule.id)}?version=${rule.version}`), spec);
        draw();
        result.replaceChildren(el("p", { class: "ok", "data-role": "saved" }, t("rule_saved", { version: rule.version })));
        await loadVersions();
      } catch (err) {
        if (err.status === 409 && !creating) {
          result.replaceChildren(el("div", { class: "error", role: "alert", "data-role": "conflict" }, t("rule_conflict"), " ",
            el("button", { type: "button", "data-action": "reload", onclick: () => reload().catch((e) => result.replaceChildren(errorBox(e))) }, t("rule_reload"))));
        } else refused(err);
      }
    }));
    deleteBtn?.addEventListener("click", async () => {
      if (!(await confirmDialog({ title: t("rule_delete"), body: t("rule_delete_confirm", { name: rule.name }), confirm: t("rule_delete"), danger: true }))) return;
      try {
        await ctx.api.del(ctx.path(`/rules/${encodeURIComponent(rule.id)}`));
        ctx.navigate("#/rules");
      } catch (err) {
        refused(err);
      }
    });

    const loadVersions = async () => {
      if (creating) return;
      try {
        const list = await ctx.api.get(ctx.path(`/rules/${encodeURIComponent(rule.id)}/versions`));
        versions.replaceChildren(el("h3", {}, t("rule_versions")), dataTable([
          { label: t("rule_version"), value: (v) => String(v.version) },
          { label: t("rule_saved_by"), value: (v) => v.saved_by },
          { label: t("rule_saved_at"), value: (v) => fmtTime(v.saved_at) },
          { label: t("alarm_severity"), value: (v) => severityBadge(t, v.spec.severity || "medium") },
          { label: "", value: (v) => (editable && v.version !== rule.version ? el("button", { type: "button", "data-action": "load-version", onclick: () => {
            fill(v.spec);
            result.replaceChildren(el("p", { class: "muted" }, t("rule_version_loaded", { version: v.version })));
          } }, t("rule_load_version")) : null) },
        ], [...list].sort((a, b) => b.version - a.version), (v) => ({ "data-version": v.version })));
      } catch (err) {
        versions.replaceChildren(errorBox(err));
      }
    };
    fill(rule ? rule.spec : NEW_RULE);
    draw();
    await loadVersions();
  },
};

// Ids to offer for each kind of target: [value, label] (names are text, shown as options).
async function targetOptions(ctx) {
  const out = {};
  await Promise.all(Object.entries(TARGETS).map(async ([kind, [, path]]) => {
    try {
      const page = await ctx.api.get(ctx.path(`${path}?limit=1000&sort=id`));
      out[kind] = page.items.map((x) => [x.id, x.name || x.id]);
    } catch {
      out[kind] = []; // an offer, not a need: the id can still be typed
    }
  }));
  return out;
}
