// Alarm list: the tenant's open alarms (when the alarm API is there), then every change as it
// comes over the live connection.
import { SEVERITY_KEYS, STATE_KEYS } from "../app/pages/alarm.js";
import { el, tenantPath } from "./common.js";

export default {
  type: "alarm_list",
  defaults: () => ({ severities: [], devices: [], limit: 20 }),
  async mount(node, widget, env) {
    const c = widget.config;
    const list = el("ul", { class: "w-alarms" });
    const empty = el("div", { class: "w-empty", text: env.t("dash_no_alarms") });
    node.append(list, empty);
    const alarms = new Map();
    const wanted = (a) => (!c.severities.length || c.severities.includes(a.severity))
      && (!c.devices.length || c.devices.includes(a.device));
    const render = () => {
      const shown = [...alarms.values()].filter(wanted)
        .sort((a, b) => (b.last_change_ts || b.raised_ts || 0) - (a.last_change_ts || a.raised_ts || 0)).slice(0, c.limit);
      list.replaceChildren(...shown.map((a) => el("li", { class: `w-alarm sev-${a.severity || "info"}`, "data-alarm": a.id },
        el("b", { text: SEVERITY_KEYS[a.severity] ? env.t(SEVERITY_KEYS[a.severity]) : a.severity || "" }), document.createTextNode(` ${a.device || ""} `),
        el("span", { text: a.message || a.rule_id || "" }), el("em", { text: STATE_KEYS[a.state] ? env.t(STATE_KEYS[a.state]) : a.state || "" }))));
      empty.hidden = shown.length > 0;
    };
    try {
      const body = await env.get(tenantPath(env, `/alarms?open=true&limit=${c.limit}`));
      for (const a of body.items || []) alarms.set(a.id, a);
    } catch {
      // No alarm API on this platform (yet): live changes only.
    }
    render();
    const off = env.live.subscribe("alarm", (a) => {
      if (!a || !a.id) return;
      if (a.open === false || a.state === "normal") alarms.delete(a.id);
      else alarms.set(a.id, { ...alarms.get(a.id), ...a });
      render();
    });
    return { destroy() { off(); } };
  },
};
