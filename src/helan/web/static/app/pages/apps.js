// The app catalogue of the tenant: every app with its manifest (names, version, scopes); tenant
// administrators install, configure (JSON checked against the app's schema by the server),
// enable, disable and uninstall; everyone else reads. An installed app's own pages appear in the
// "Apps" menu after the next reload.
import { badge, confirmDialog, el, errorBox, json, showFieldErrors } from "../dom.js";
import { k } from "../i18n.js";
import { head } from "../ui.js";

export default {
  title: k("nav_apps"),
  async render(root, ctx) {
    const { t, lang, can } = ctx;
    const list = el("div", { id: "apps-list" });
    const note = el("p", { class: "notice", role: "status", hidden: "" }, t("apps_reload_hint"));
    root.append(head(t("nav_apps")), note, list);
    const base = (id = "") => ctx.path(`/apps${id ? `/${encodeURIComponent(id)}` : ""}`);
    const act = async (fn) => {
      try {
        await fn();
        note.hidden = false;
        await load();
      } catch (err) {
        list.prepend(errorBox(err));
      }
    };
    const configForm = (app) => {
      const text = el("textarea", { name: "config", "data-loc": "config", rows: "6", cols: "60", "aria-label": t("apps_config") });
      text.value = JSON.stringify(app.config || {}, null, 2);
      const form = el("form", { class: "app-config", "data-write": "", "data-app-config": app.id },
        el("label", {}, t("apps_config"), text),
        el("details", {}, el("summary", {}, t("apps_schema")), el("pre", {}, json(app.config_schema))),
        el("button", { type: "submit" }, t("apps_save_config")));
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        let config;
        try {
          config = JSON.parse(text.value || "{}");
        } catch {
          form.append(el("p", { class: "error", role: "alert" }, t("apps_config_not_json")));
          return;
        }
        try {
          await ctx.api.patch(base(app.id), { config });
          note.hidden = false;
          await load();
        } catch (err) {
          if (showFieldErrors(form, err).length || !err?.details) form.append(errorBox(err));
        }
      });
      return form;
    };
    const card = (app) => {
      const name = app.name[lang] || app.name.en;
      const state = !app.installed ? badge(t("apps_not_installed"), "muted")
        : app.enabled ? badge(t("apps_enabled"), "ok") : badge(t("apps_disabled"), "warn");
      const buttons = [];
      if (can.admin) {
        if (!app.installed) {
          buttons.push(el("button", { type: "button", "data-write": "", "data-action": "install", onclick: () => act(() => ctx.api.put(base(app.id), { enabled: true })) }, t("apps_install")));
        } else {
          buttons.push(app.enabled
            ? el("button", { type: "button", "data-write": "", "data-action": "disable", onclick: () => act(() => ctx.api.patch(base(app.id), { enabled: false })) }, t("apps_disable"))
            : el("button", { type: "button", "data-write": "", "data-action": "enable", onclick: () => act(() => ctx.api.patch(base(app.id), { enabled: true })) }, t("apps_enable")));
          buttons.push(el("button", { type: "button", class: "danger", "data-write": "", "data-action": "uninstall", onclick: async () => {
            if (await confirmDialog({ title: t("apps_uninstall"), body: t("apps_uninstall_confirm", { app: name }), danger: true })) {
              await act(() => ctx.api.del(base(app.id)));
            }
          } }, t("apps_uninstall")));
        }
      }
      return el("section", { class: "card", "data-app": app.id },
        el("h3", {}, `${name} `, el("small", {}, `${app.id} ${app.version}`), " ", state),
        el("p", {}, app.description[lang] || app.description.en || ""),
        el("p", {}, `${t("apps_scopes")}: ${app.scopes.join(", ") || "–"}`),
        el("div", { class: "toolbar" }, ...buttons),
        ...(can.admin && app.installed ? [configForm(app)] : []));
    };
    const load = async () => {
      try {
        const data = await ctx.api.get(base());
        list.replaceChildren(...data.items.map(card));
      } catch (err) {
        list.replaceChildren(errorBox(err));
      }
    };
    await load();
  },
};
