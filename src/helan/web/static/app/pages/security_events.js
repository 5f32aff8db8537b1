// The tenant's security events: detection alerts from the traffic detectors (MQTT behaviour,
// the gateway's Modbus / OPC UA allow-lists) and advisory alerts on its assets, newest first.
import { badge, dataTable, el, errorBox, field, fmtTime, json, pager, select } from "../dom.js";
import { k } from "../i18n.js";
import { head, keepQuery } from "../ui.js";

const LIMIT = 50;
const KINDS = { security_anomaly: k("sec_event_anomaly"), security_advisory: k("sec_event_advisory") };
const LEVELS = { fault: "fault", warning: "warning", info: "info" };

export default {
  title: k("nav_security_events"),
  async render(root, ctx) {
    const { t, query } = ctx;
    const st = { event: KINDS[query.get("event")] ? query.get("event") : "security_anomaly", offset: Number(query.get("offset") || 0) || 0 };
    const kind = select("event", Object.entries(KINDS).map(([v, key]) => [v, t(key)]), st.event, { id: "security-event-kind" });
    const list = el("div", { id: "security-events" });
    root.append(head(t("nav_security_events")), el("div", { class: "toolbar" }, field(t("sec_event_kind"), kind)), list);
    const load = async () => {
      keepQuery({ event: st.event, offset: st.offset || "" });
      const q = new URLSearchParams({ event: st.event, limit: String(LIMIT), offset: String(st.offset), sort: "-ts" });
      let page;
      try {
        page = await ctx.api.get(ctx.path(`/events?${q}`));
      } catch (err) {
        list.replaceChildren(errorBox(err));
        return;
      }
      if (!ctx.alive()) return;
      list.replaceChildren(dataTable([
        { label: t("time"), value: (e) => fmtTime(e.ts) },
        { label: t("device_id"), value: (e) => el("a", { href: `#/devices/${encodeURIComponent(e.device)}` }, e.device) },
        { label: t("sec_level"), value: (e) => badge(e.level, LEVELS[e.level] || "") },
        { label: t("sec_event_what"), value: (e) => e.data?.detail || e.data?.title || e.data?.kind || "" },
        { label: t("audit_detail"), value: (e) => json(e.data) },
      ], page.items, (e) => ({ "data-event": e.id })),
      pager({ total: page.total, limit: LIMIT, offset: st.offset, onPage: (o) => { st.offset = o; load(); } }));
    };
    kind.addEventListener("change", () => { st.event = kind.value; st.offset = 0; load(); });
    await load();
  },
};
