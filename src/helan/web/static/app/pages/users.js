// Users of the tenant and its API keys (administrators only): create, disable, revoke; a new
// key's secret is shown once.
import { badge, confirmDialog, dataTable, el, errorBox, field, fmtTime, select } from "../dom.js";
import { k } from "../i18n.js";
import { head } from "../ui.js";

const ROLES = { tenant_admin: k("role_tenant_admin"), operator: k("role_operator"), viewer: k("role_viewer") };
const SCOPES = ["telemetry:read", "telemetry:write", "devices:read", "devices:write", "commands:read", "commands:write", "admin"];

export default {
  title: k("nav_users"),
  async render(root, ctx) {
    const { t } = ctx;
    const users = el("div", { id: "user-list" });
    const keys = el("div", { id: "key-list" });
    const loadUsers = async () => {
      const page = await ctx.api.get(ctx.path("/users?limit=1000&sort=username"));
      users.replaceChildren(dataTable([
        { label: t("username"), value: (u) => u.username }, { label: t("display_name"), value: (u) => u.display_name },
        { label: t("role"), value: (u) => t(ROLES[u.role] || "role_unknown") },
        { label: t("status"), value: (u) => badge(u.disabled ? t("disabled") : t("enabled"), u.disabled ? "off" : "on") },
        { label: t("last_login"), value: (u) => fmtTime(u.last_login_at) },
        { label: "", value: (u) => el("button", { type: "button", class: "write", "data-write": "", "data-action": "toggle-user", onclick: async () => {
          try {
            await ctx.api.patch(ctx.path(`/users/${encodeURIComponent(u.username)}`), { disabled: !u.disabled });
            await loadUsers();
          } catch (err) {
            users.prepend(errorBox(err));
          }
        } }, u.disabled ? t("enable") : t("disable")) },
      ], page.items, (u) => ({ "data-user": u.username })));
    };
    const loadKeys = async () => {
      const page = await ctx.api.get(ctx.path("/api-keys?limit=1000"));
      keys.replaceChildren(page.items.length ? dataTable([
        { label: t("name"), value: (x) => x.name }, { label: t("key_prefix"), value: (x) => el("code", {}, x.prefix) },
        { label: t("scopes"), value: (x) => x.scopes.join(", ") }, { label: t("created_at"), value: (x) => fmtTime(x.created_at) },
        { label: t("last_used"), value: (x) => fmtTime(x.last_used_at) },
        { label: t("status"), value: (x) => (x.revoked_at ? badge(t("revoked"), "off") : badge(t("active"), "on")) },
        { label: "", value: (x) => (x.revoked_at ? null : el("button", { type: "button", class: "danger write", "data-write": "", "data-action": "revoke", onclick: async () => {
          if (!(await confirmDialog({ title: t("revoke_key"), body: t("revoke_key_confirm", { name: x.name }), confirm: t("revoke"), danger: true }))) return;
          await ctx.api.del(ctx.path(`/api-keys/${encodeURIComponent(x.id)}`));
          await loadKeys();
        } }, t("revoke"))) },
      ], page.items, (x) => ({ "data-key": x.id })) : el("p", { class: "muted" }, t("no_keys")));
    };
    root.append(head(t("nav_users")), newUser(ctx, loadUsers), el("h3", {}, t("users")), users,
      el("h3", {}, t("api_keys")), newKey(ctx, loadKeys), keys);
    await Promise.all([loadUsers(), loadKeys()]);
  },
};

function newUser(ctx, done) {
  const { t } = ctx;
  const error = el("div");
  const form = el("form", { class: "card toolbar write", "data-write": "", id: "new-user" },
    field(t("username"), el("input", { name: "username", required: true, "data-loc": "username" })),
    field(t("password"), el("input", { name: "password", type: "password", required: true, autocomplete: "new-password", "data-loc": "password" })),
    field(t("role"), select("role", Object.entries(ROLES).map(([v, key]) => [v, t(key)]), "viewer", { "data-loc": "role" })),
    el("button", { type: "submit", class: "primary" }, t("new_user")), error);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = (n) => form.elements.namedItem(n).value;
    try {
      await ctx.api.post(ctx.path("/users"), { username: v("username").trim(), password: v("password"), role: v("role") });
      form.reset();
      error.replaceChildren();
      await done();
    } catch (err) {
      error.replaceChildren(errorBox(err));
    }
  });
  return form;
}

function newKey(ctx, done) {
  const { t } = ctx;
  const out = el("div", { "data-role": "new-key" });
  const form = el("form", { class: "card toolbar write", "data-write": "", id: "new-key" },
    field(t("name"), el("input", { name: "name", required: true, "data-loc": "name" })),
    el("div", { class: "inline" }, SCOPES.map((s) => el("label", { class: "inline" }, el("input", { type: "checkbox", name: "scope", value: s }), s))),
    el("button", { type: "submit", class: "primary" }, t("new_key")), out);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const scopes = [...form.querySelectorAll("input[name=scope]:checked")].map((x) => x.value);
    try {
      const made = await ctx.api.post(ctx.path("/api-keys"), { name: form.elements.namedItem("name").value.trim(), scopes });
      out.replaceChildren(el("p", {}, t("key_shown_once")), el("div", { class: "secret", "data-role": "secret" }, made.key));
      await done();
    } catch (err) {
      out.replaceChildren(errorBox(err));
    }
  });
  return form;
}
