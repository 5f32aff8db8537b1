// One dashboard on its grid with live widgets, opened by id (its owner, the tenant's
// administrators) or by share link (any member of the tenant, read-only). Owners share it,
// end the link, export it and open it on the wall display.
import { el, errorBox } from "../dom.js";
import { k } from "../i18n.js";
import { head } from "../ui.js";
import { makeEnv } from "../../widgets/env.js";
import { mountDashboard } from "../../widgets/index.js";

// Mount a spec's widgets on grid, and again on every call; the last mount is torn down on
// leaving the page (also when the page was left while widgets were still loading).
export function dashboardView(ctx, grid, env) {
  let destroy = () => {};
  let seq = 0;
  ctx.onCleanup(() => {
    seq += 1;
    destroy();
  });
  return async (spec) => {
    const mine = ++seq;
    destroy();
    destroy = () => {};
    grid.dataset.ready = "";
    const done = await mountDashboard(grid, spec, env);
    if (mine !== seq || !ctx.alive()) {
      done();
      return;
    }
    destroy = done;
    grid.dataset.ready = "1";
  };
}

export default {
  title: k("nav_dashboards"),
  async render(root, ctx) {
    const { t } = ctx;
    const token = ctx.params.token || null;
    const id = ctx.params.id;
    const d = await ctx.api.get(ctx.path(token ? `/dashboard-shares/${encodeURIComponent(token)}` : `/dashboards/${encodeURIComponent(id)}`));
    if (!ctx.alive()) return;
    const manage = !token && ctx.can.write;
    const self = ctx.path(`/dashboards/${encodeURIComponent(d.id)}`);
    const notes = el("div", { "data-role": "notes" });
    const shareBox = el("div", { "data-role": "share" });
    const wallRef = token || d.id;

    const share = async () => {
      try {
        const made = await ctx.api.post(`${self}/share`);
        const link = el("input", { readonly: true, value: `${location.origin}${made.path}`, "data-role": "share-link", size: 60 });
        shareBox.replaceChildren(el("div", { class: "notice", role: "status" }, el("p", {}, t("dash_share_made")), link,
          " ", el("button", { type: "button", "data-action": "copy-link", onclick: () => {
            link.select();
            navigator.clipboard?.writeText(link.value).catch(() => {});
          } }, t("dash_copy"))));
        unshareButton.hidden = false;
      } catch (err) {
        shareBox.replaceChildren(errorBox(err));
      }
    };
    const unshareButton = el("button", { type: "button", "data-write": "", "data-action": "unshare", hidden: !d.shared, onclick: async () => {
      try {
        await ctx.api.del(`${self}/share`);
        shareBox.replaceChildren(el("div", { class: "notice", role: "status" }, t("dash_unshared")));
        unshareButton.hidden = true;
      } catch (err) {
        shareBox.replaceChildren(errorBox(err));
      }
    } }, t("dash_unshare"));
    const actions = [
      el("a", { class: "button", href: `#/wall?dashboards=${encodeURIComponent(wallRef)}`, "data-action": "wall" }, t("wall_open")),
      manage ? [
        el("a", { class: "button", href: `#/dashboards/${encodeURIComponent(d.id)}/edit`, "data-write": "", "data-action": "edit" }, t("dash_edit")),
        el("button", { type: "button", "data-action": "export", onclick: () => ctx.api.download(`${self}/export`, `dashboard-${d.id}.json`)
          .catch((err) => notes.replaceChildren(errorBox(err))) }, t("dash_export")),
        el("button", { type: "button", "data-write": "", "data-action": "share", onclick: share }, t("dash_share")),
        unshareButton,
      ] : null,
    ];
    const grid = el("div", { class: "dash-grid", "data-role": "grid", "data-dashboard": d.id });
    root.append(...[head(d.title, actions),
      token ? el("p", { class: "muted", "data-role": "read-only" }, t("dash_read_only", { owner: d.owner })) : null,
      d.description ? el("p", { class: "muted", "data-role": "description" }, d.description) : null,
      notes, shareBox,
      d.spec.widgets.length ? grid : el("p", { class: "muted", id: "no-widgets" }, t(manage ? k("dash_empty_edit") : k("dash_empty")))].filter(Boolean));
    const show = dashboardView(ctx, grid, makeEnv(ctx));
    // The stream dropped changes this tab read too slowly: draw everything again.
    const offLost = ctx.live.subscribe("lost", () => show(d.spec));
    ctx.onCleanup(offLost);
    if (d.spec.refresh_s > 0) ctx.every(d.spec.refresh_s * 1000, () => show(d.spec));
    await show(d.spec);
  },
};
