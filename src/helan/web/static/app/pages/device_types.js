// Device types: the list, each with its thing model's size; a writer opens the editor.
import { dataTable, el } from "../dom.js";
import { k } from "../i18n.js";
import { head } from "../ui.js";

export default {
  title: k("nav_device_types"),
  async render(root, ctx) {
    const { t } = ctx;
    const page = await ctx.api.get(ctx.path("/device-types?limit=1000&sort=id"));
    const create = ctx.can.write ? el("a", { href: "#/device-types/new", class: "write button", "data-write": "", "data-action": "new-type" }, t("new_device_type")) : null;
    root.append(head(t("nav_device_types"), create), page.items.length ? dataTable([
      { label: t("type_id"), value: (x) => el("a", { href: `#/device-types/${encodeURIComponent(x.id)}` }, x.id) },
      { label: t("name"), value: (x) => x.name },
      { label: t("properties"), value: (x) => String(x.properties.length) },
      { label: t("events"), value: (x) => String(x.events.length) },
      { label: t("services"), value: (x) => String(x.services.length) },
      { label: t("description"), value: (x) => x.description },
    ], page.items, (x) => ({ "data-type": x.id })) : el("p", { class: "muted" }, t("no_device_types")));
  },
};
