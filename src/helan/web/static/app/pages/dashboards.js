// Dashboards: the user's own (an administrator: the tenant's), a new one, an import from a
// JSON file made by an export (refused whole, with each problem's position), delete.
import { badge, confirmDialog, dataTable, el, errorBox, field, fmtTime } from "../dom.js";
import { k } from "../i18n.js";
import { head } from "../ui.js";

// The request guard's limit for a dashboard body: a bigger file is refused here, before it
// is uploaded only to be cut off.
const IMPORT_MAX_BYTES = 256 * 1024;

export default {
  title: k("nav_dashboards"),
  async render(root, ctx) {
    const { t } = ctx;
    const list = el("div", { id: "dashboard-list" });
    const forms = el("div");
    const actions = ctx.can.write ? [
      el("a", { class: "button", href: "#/wall", "data-action": "wall" }, t("wall_open")),
      el("button", { type: "button", "data-write": "", "data-action": "import-dashboard",
        onclick: () => showForm(importForm(ctx)) }, t("dash_import")),
      el("button", { type: "button", class: "primary", "data-write": "", "data-action": "new-dashboard",
        onclick: () => showForm(createForm(ctx)) }, t("dash_new")),
    ] : [el("a", { class: "button", href: "#/wall", "data-action": "wall" }, t("wall_open"))];
    root.append(head(t("nav_dashboards"), actions), forms, list);

    function showForm(form) {
      forms.replaceChildren(form);
      form.querySelector("input")?.focus();
    }

    async function load() {
      let page;
      try {
        page = await ctx.api.get(ctx.path("/dashboards?limit=200&sort=title"));
      } catch (err) {
        list.replaceChildren(errorBox(err));
        return;
      }
      if (!ctx.alive()) return;
      if (!page.items.length) {
        list.replaceChildren(el("p", { class: "muted", id: "no-dashboards" }, t(ctx.can.write ? k("dash_none") : k("dash_none_viewer"))));
        return;
      }
      const path = (d, rest = "") => ctx.path(`/dashboards/${encodeURIComponent(d.id)}${rest}`);
      list.replaceChildren(dataTable([
        { label: t("dash_title"), value: (d) => el("a", { href: `#/dashboards/${encodeURIComponent(d.id)}`, "data-role": "title" }, d.title) },
        { label: t("dash_id"), value: (d) => d.id },
        { label: t("dash_widgets"), value: (d) => String(d.widgets) },
        { label: t("dash_owner"), value: (d) => d.owner },
        { label: t("dash_version"), value: (d) => String(d.version) },
        { label: t("dash_shared"), value: (d) => (d.shared ? badge(t("dash_shared_yes"), "on") : "–") },
        { label: t("dash_updated"), value: (d) => fmtTime(d.updated_at) },
        { label: "", value: (d) => el("span", { class: "row-actions" },
          ctx.can.write ? el("a", { href: `#/dashboards/${encodeURIComponent(d.id)}/edit`, "data-write": "", "data-action": "edit" }, t("dash_edit")) : null,
          " ",
          el("button", { type: "button", "data-action": "export", onclick: () => ctx.api.download(path(d, "/export"), `dashboard-${d.id}.json`)
            .catch((err) => list.prepend(errorBox(err))) }, t("dash_export")),
          " ",
          ctx.can.write ? el("button", { type: "button", class: "danger", "data-write": "", "data-action": "delete", onclick: async () => {
            if (!(await confirmDialog({ title: t("dash_delete_title"), body: t("dash_delete_body", { title: d.title }), confirm: t("dash_delete"), danger: true }))) return;
            try {
              await ctx.api.del(path(d));
            } catch (err) {
              list.prepend(errorBox(err));
              return;
            }
            load();
          } }, t("dash_delete")) : null) },
      ], page.items, (d) => ({ "data-dashboard": d.id })));
    }
    await load();
  },
};

function createForm(ctx) {
  const { t } = ctx;
  const error = el("div");
  const form = el("form", { class: "card", id: "new-dashboard" },
    el("h3", {}, t("dash_new")),
    field(t("dash_title"), el("input", { name: "title", required: true, maxlength: 200, "data-loc": "title" })),
    field(t("dash_id_optional"), el("input", { name: "id", maxlength: 64, "data-loc": "id" })),
    field(t("dash_columns"), el("select", { name: "columns" }, el("option", { value: "12" }, "12"), el("option", { value: "24" }, "24"))),
    el("button", { type: "submit", class: "primary" }, t("create")), error);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = (n) => form.elements.namedItem(n).value.trim();
    const body = { title: v("title"), spec: { columns: Number(v("columns")), widgets: [] } };
    if (v("id")) body.id = v("id");
    try {
      const made = await ctx.api.post(ctx.path("/dashboards"), body);
      ctx.navigate(`#/dashboards/${encodeURIComponent(made.id)}/edit`);
    } catch (err) {
      error.replaceChildren(errorBox(err));
    }
  });
  return form;
}

// The file's text goes to the server as it is: the server's parser and checks name the
// problem (malformed JSON included), so the console never guesses at a document.
function importForm(ctx) {
  const { t } = ctx;
  const error = el("div", { "data-role": "import-error" });
  const file = el("input", { type: "file", name: "file", accept: ".json,application/json", required: true });
  const form = el("form", { class: "card", id: "import-dashboard" },
    el("h3", {}, t("dash_import")),
    el("p", { class: "muted" }, t("dash_import_help")),
    field(t("dash_file"), file),
    field(t("dash_import_as"), el("input", { name: "id", maxlength: 64 })),
    el("button", { type: "submit", class: "primary" }, t("dash_import")), error);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.replaceChildren();
    const chosen = file.files?.[0];
    if (!chosen) return;
    if (chosen.size > IMPORT_MAX_BYTES) {
      error.replaceChildren(errorBox(new Error(t("dash_import_too_large", { size: chosen.size, limit: IMPORT_MAX_BYTES }))));
      return;
    }
    const as = form.elements.namedItem("id").value.trim();
    try {
      const made = await ctx.api.post(ctx.path(`/dashboards:import${as ? `?id=${encodeURIComponent(as)}` : ""}`), await chosen.text());
      ctx.navigate(`#/dashboards/${encodeURIComponent(made.id)}`);
    } catch (err) {
      error.replaceChildren(errorBox(err));
      if (err.status === 409) error.append(el("p", { class: "muted" }, t("dash_import_exists")));
    }
  });
  return form;
}
