// One alarm: what it is, the operator actions its state allows (shared with the alarm list) and
// its history (every transition and action, oldest first), kept current from the live stream.
import { badge, confirmDialog, dataTable, el, errorBox, field, fmtTime, fmtValue, select } from "../dom.js";
import { k } from "../i18n.js";
import { head } from "../ui.js";

export const STATE_KEYS = {
  normal: k("alarm_state_normal"), unack_active: k("alarm_state_unack_active"), ack_active: k("alarm_state_ack_active"),
  rtn_unack: k("alarm_state_rtn_unack"), shelved: k("alarm_state_shelved"), suppressed: k("alarm_state_suppressed"),
  out_of_service: k("alarm_state_out_of_service"),
};
export const SEVERITY_KEYS = { critical: k("alarm_severity_critical"), high: k("alarm_severity_high"), medium: k("alarm_severity_medium"), low: k("alarm_severity_low") };
const ACTION_KEYS = {
  activate: k("alarm_action_activate"), return: k("alarm_action_return"), acknowledge: k("alarm_action_acknowledge"),
  comment: k("alarm_action_comment"), assign: k("alarm_action_assign"), shelve: k("alarm_action_shelve"),
  unshelve: k("alarm_action_unshelve"), shelve_expired: k("alarm_action_shelve_expired"), clear: k("alarm_action_clear"),
  escalate: k("alarm_action_escalate"), out_of_service: k("alarm_action_out_of_service"),
  return_to_service: k("alarm_action_return_to_service"),
};
// What the state machine (rules/alarms/states.py) lets an operator do in each state.
const CAN_ACK = new Set(["unack_active", "rtn_unack"]);
const CAN_SHELVE = new Set(["unack_active", "ack_active", "rtn_unack"]);
const SHELVE_FOR = [[900, k("alarm_shelve_15m")], [3600, k("alarm_shelve_1h")], [4 * 3600, k("alarm_shelve_4h")], [8 * 3600, k("alarm_shelve_8h")],
  [86400, k("alarm_shelve_24h")], [7 * 86400, k("alarm_shelve_7d")]];

export function stateBadge(t, state) {
  return badge(STATE_KEYS[state] ? t(STATE_KEYS[state]) : String(state), `st-${state}`);
}

export function severityBadge(t, severity) {
  return badge(SEVERITY_KEYS[severity] ? t(SEVERITY_KEYS[severity]) : String(severity), `sev-${severity}`);
}

export function alarmHref(id) {
  return `#/alarms/${encodeURIComponent(id)}`;
}

// A dialog asking for text (a comment, a reason); resolves the trimmed text, or null.
async function askText(ctx, title, label, extra = null) {
  const input = el("textarea", { name: "text", rows: "3", maxlength: "2000", "data-role": "dialog-text" });
  const ok = await confirmDialog({ title, body: el("div", {}, extra, field(label, input)), confirm: ctx.t("confirm") });
  if (!ok) return null;
  const text = input.value.trim();
  if (!text) throw new Error(ctx.t("alarm_text_needed"));
  return text;
}

// The buttons for what this user may do to this alarm now; each calls done(alarm after it).
export function alarmActions(ctx, alarm, done, fail) {
  if (!ctx.can.write) return [];
  const { t } = ctx;
  const base = `/alarms/${encodeURIComponent(alarm.id)}`;
  const act = (name, label, run, cls = "") => el("button", { type: "button", class: `write ${cls}`, "data-write": "", "data-action": name,
    onclick: async (e) => {
      const button = e.currentTarget;
      button.disabled = true;
      try {
        const out = await run();
        if (out) done(out);
      } catch (err) {
        // Refused because the alarm moved on (someone else acted): show where it is now.
        if (err.status === 409) await ctx.api.get(ctx.path(base)).then(done, () => {});
        fail(err);
      } finally {
        button.disabled = false;
      }
    } }, label);
  const buttons = [];
  if (CAN_ACK.has(alarm.state)) buttons.push(act("ack", t("alarm_acknowledge"), () => ctx.api.post(ctx.path(`${base}:acknowledge`), {}), "primary"));
  if (CAN_SHELVE.has(alarm.state)) {
    buttons.push(act("shelve", t("alarm_shelve"), async () => {
      const duration = select("duration_s", SHELVE_FOR.map(([s, key]) => [s, t(key)]), 3600, { "data-role": "shelve-for" });
      const reason = await askText(ctx, t("alarm_shelve"), t("alarm_reason"), field(t("alarm_shelve_for"), duration));
      return reason === null ? null : ctx.api.post(ctx.path(`${base}:shelve`), { duration_s: Number(duration.value), reason });
    }));
  }
  if (alarm.state === "shelved") buttons.push(act("unshelve", t("alarm_unshelve"), () => ctx.api.post(ctx.path(`${base}:unshelve`), {})));
  if (alarm.open) {
    buttons.push(act("clear", t("alarm_clear"), async () => {
      const comment = await askText(ctx, t("alarm_clear"), t("alarm_clear_why"));
      return comment === null ? null : ctx.api.post(ctx.path(`${base}:clear`), { comment });
    }, "danger"));
  }
  buttons.push(act("comment", t("alarm_comment"), async () => {
    const text = await askText(ctx, t("alarm_comment"), t("alarm_comment_text"));
    return text === null ? null : ctx.api.post(ctx.path(`${base}:comment`), { text });
  }));
  return buttons;
}

function values(v) {
  const entries = Object.entries(v || {});
  return entries.length ? entries.map(([m, x]) => `${m} = ${fmtValue(x)}`).join(", ") : null;
}

export default {
  title: k("alarm"),
  async render(root, ctx) {
    const { t } = ctx;
    const id = ctx.params.id;
    const base = `/alarms/${encodeURIComponent(id)}`;
    let alarm = await ctx.api.get(ctx.path(base));
    if (!ctx.alive()) return;
    const title = el("h2", {});
    const facts = el("div", { class: "card", "data-section": "alarm" });
    const actions = el("div", { class: "toolbar", "data-role": "actions" });
    const message = el("div", { "data-role": "action-result" });
    const history = el("div", { class: "card", "data-section": "alarm-history" }, el("h3", {}, t("alarm_history")));
    const historyBody = el("div");
    history.append(historyBody);
    root.append(el("div", { class: "page-head toolbar back" }, el("a", { href: "#/alarms" }, `← ${t("nav_alarms")}`), title), facts, actions, message, history);

    const draw = () => {
      title.textContent = `${alarm.message || alarm.rule_id} · ${alarm.device}`;
      root.dataset.state = alarm.state;
      facts.replaceChildren(el("h3", {}, t("alarm")), el("dl", { class: "kv" }, [
        [t("alarm_state"), stateBadge(t, alarm.state)], [t("alarm_severity"), severityBadge(t, alarm.severity)],
        [t("alarm_priority"), String(alarm.priority)],
        [t("device"), el("a", { href: `#/devices/${encodeURIComponent(alarm.device)}` }, alarm.device)],
        [t("alarm_rule"), el("a", { href: `#/rules/${encodeURIComponent(alarm.rule_id)}` }, `${alarm.rule_id} (v${alarm.rule_version})`)],
        [t("message"), alarm.message], [t("alarm_values"), values(alarm.values)], [t("alarm_repeats"), String(alarm.count)],
        [t("alarm_since"), fmtTime(alarm.raised_ts)], [t("alarm_last_change"), fmtTime(alarm.last_change_ts)],
        [t("alarm_cleared"), alarm.cleared_ts ? fmtTime(alarm.cleared_ts) : null],
        [t("alarm_acknowledged"), alarm.acknowledged_ts ? `${fmtTime(alarm.acknowledged_ts)} · ${alarm.acknowledged_by || ""}` : null],
        [t("alarm_assigned_to"), alarm.assigned_to], [t("alarm_shelved_until"), alarm.shelved_until ? fmtTime(alarm.shelved_until) : null],
        [t("alarm_escalated"), alarm.escalated ? t("yes") : t("no")],
      ].map(([a, b]) => [el("dt", {}, a), el("dd", {}, b ?? "–")])));
      actions.replaceChildren(...alarmActions(ctx, alarm, (next) => {
        alarm = next;
        message.replaceChildren();
        draw();
        loadHistory();
      }, (err) => message.replaceChildren(errorBox(err))));
    };
    let seq = 0;
    const loadHistory = async () => {
      const mine = ++seq;
      try {
        const page = await ctx.api.get(ctx.path(`${base}/history?limit=1000`));
        if (mine !== seq || !ctx.alive()) return;
        historyBody.replaceChildren(dataTable([
          { label: t("time"), value: (h) => fmtTime(h.ts_ms) },
          { label: t("alarm_action"), value: (h) => (ACTION_KEYS[h.action] ? t(ACTION_KEYS[h.action]) : h.action) },
          { label: t("alarm_transition"), value: (h) => el("span", {}, stateBadge(t, h.from_state), " → ", stateBadge(t, h.to_state)) },
          { label: t("alarm_actor"), value: (h) => h.actor },
          { label: t("alarm_comment"), value: (h) => h.comment },
          { label: t("alarm_values"), value: (h) => values(h.values) },
        ], page.items, (h) => ({ "data-history": h.id, "data-action": h.action })));
      } catch (err) {
        historyBody.replaceChildren(errorBox(err));
      }
    };
    draw();
    const off = ctx.live.subscribe("alarm", (a) => {
      if (a?.id !== id) return;
      alarm = a;
      draw();
      loadHistory();
    });
    ctx.connectLive();
    // A new connection may have missed changes: read the alarm again.
    const offHello = ctx.live.subscribe("hello", async () => {
      try {
        alarm = await ctx.api.get(ctx.path(base));
      } catch {
        return;
      }
      if (!ctx.alive()) return;
      draw();
      loadHistory();
    });
    ctx.onCleanup(() => {
      off();
      offHello();
    });
    await loadHistory();
  },
};
