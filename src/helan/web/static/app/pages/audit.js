// The tenant's audit log (administrators): who did what to which object, and the result;
// filtered and paged by the server.
import { dataTable, el, errorBox, field, fmtTime, json, pager } from "../dom.js";
import { k } from "../i18n.js";
import { debounce, head, keepQuery } from "../ui.js";

const LIMIT = 50;

export default {
  title: k("nav_audit"),
  async render(root, ctx) {
    const { t, query } = ctx;
    const st = { action: query.get("action") || "", actor: query.get("actor") || "", offset: Number(query.get("offset") || 0) || 0 };
    const action = el("input", { name: "action", value: st.action, placeholder: "device.create" });
    const actor = el("input", { name: "actor", value: st.actor });
    const list = el("div", { id: "audit-list" });
    root.append(head(t("nav_audit")), el("div", { class: "toolbar" }, field(t("audit_action"), action), field(t("audit_actor"), actor)), list);
    const load = async () => {
      keepQuery({ action: st.action, actor: st.actor, offset: st.offset || "" });
      const q = new URLSearchParams({ limit: String(LIMIT), offset: String(st.offset), sort: "-at" });
      if (st.action) q.set("action", st.action);
      if (st.actor) q.set("actor", st.actor);
      try {
        const page = await ctx.api.get(ctx.path(`/audit?${q}`));
        list.replaceChildren(dataTable([
          { label: t("time"), value: (a) => fmtTime(a.at) }, { label: t("audit_actor"), value: (a) => `${a.actor} (${a.actor_kind})` },
          { label: t("audit_action"), value: (a) => a.action }, { label: t("audit_object"), value: (a) => `${a.object_type} ${a.object_id ?? ""}` },
          { label: t("audit_result"), value: (a) => a.result }, { label: t("audit_detail"), value: (a) => json(a.detail) },
        ], page.items, (a) => ({ "data-audit": a.id })),
        pager({ total: page.total, limit: LIMIT, offset: st.offset, onPage: (o) => { st.offset = o; load(); } }));
      } catch (err) {
        list.replaceChildren(errorBox(err));
      }
    };
    const again = debounce(() => { st.action = action.value.trim(); st.actor = actor.value.trim(); st.offset = 0; load(); });
    action.addEventListener("input", again);
    actor.addEventListener("input", again);
    await load();
  },
};
