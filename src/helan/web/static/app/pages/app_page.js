// An app's own console page (the plugin manager's console_pages hook): the module the server
// lists for this tenant, served from the app's static folder on this origin (the CSP allows
// nothing else), rendered as render(root, {tenant, fetchJson, sendJson, t, lang}). Apps get the API
// through fetchJson, with the console's token and its error handling; never the token itself.
import { el, errorBox } from "../dom.js";
import { get, request } from "../api.js";
import { k } from "../i18n.js";
import { head } from "../ui.js";

export default {
  title: k("nav_section_apps"),
  async render(root, ctx) {
    const { t, params, pages, tenant, lang } = ctx;
    const page = pages.find((p) => p.id === params.page);
    if (!page) {
      root.append(head(t("nav_section_apps")), el("div", { class: "error", role: "alert" }, t("app_page_unknown", { page: params.page })));
      return;
    }
    const title = page.title[lang] || page.title.en || page.id;
    const body = el("div", { class: "card", "data-app": page.app || "", "data-app-page": page.id });
    root.append(head(title), body);
    let module;
    try {
      module = await import(page.module);
    } catch (err) {
      body.append(errorBox(new Error(t("app_page_failed", { page: page.id }))));
      console.warn("app page module failed", page.module, err);
      return;
    }
    if (!ctx.alive() || typeof module.render !== "function") {
      if (typeof module?.render !== "function") body.append(errorBox(new Error(t("app_page_failed", { page: page.id }))));
      return;
    }
    try {
      // sendJson writes only under the app's own API prefix: an app page changes its app's data.
      const own = `/api/v1/apps/${page.app}/`;
      const sendJson = (method, path, payload) => (
        String(path).startsWith(own) && ["POST", "PUT", "DELETE"].includes(method)
          ? request(method, path, payload)
          : Promise.reject(new Error(`${method} ${path}: an app page writes only under ${own}`)));
      await module.render(body, { tenant, lang, t: (text) => text, fetchJson: (path) => get(path), sendJson });
    } catch (err) {
      body.append(errorBox(err));
    }
  },
};
