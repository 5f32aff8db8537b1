// CSAF advisories (published documents: every member reads them), highest CVSS first, with how
// many of this tenant's assets each names; security officers and platform administrators
// import new ones here (a new advisory raises security_advisory events on affected devices).
import { badge, dataTable, el, errorBox, field } from "../dom.js";
import { k } from "../i18n.js";
import { head } from "../ui.js";
import { mayImport } from "./security_common.js";

export default {
  title: k("nav_security_advisories"),
  async render(root, ctx) {
    const { t } = ctx;
    const list = el("div", { id: "advisory-list" });
    const open = mayImport(ctx) ? el("button", { type: "button", class: "primary", "data-action": "import-advisory" }, t("sec_import")) : null;
    root.append(head(t("nav_security_advisories"), open), list);
    const load = async () => {
      let advisories, matches;
      try {
        [advisories, matches] = await Promise.all([
          ctx.api.get("/api/v1/security/advisories"),
          ctx.api.get(ctx.path("/security/matches")),
        ]);
      } catch (err) {
        list.replaceChildren(errorBox(err));
        return;
      }
      if (!ctx.alive()) return;
      const here = new Map();
      for (const m of matches) {
        if (m.status === "affected" || m.status === "needs_review") here.set(m.advisory, (here.get(m.advisory) || 0) + 1);
      }
      const table = dataTable([
        { label: t("sec_advisory_id"), value: (a) => el("a", { href: `#/security/advisories/${encodeURIComponent(a.id)}` }, a.id) },
        { label: t("sec_title"), value: (a) => a.title },
        { label: t("sec_publisher"), value: (a) => a.publisher },
        { label: t("sec_cvss"), value: (a) => cvssBadge(a.max_cvss) },
        { label: t("sec_kev"), value: (a) => (a.kev ? badge(t("sec_kev"), "fault") : null) },
        { label: t("sec_affected_here"), value: (a) => here.get(a.id) || 0 },
      ], advisories, (a) => ({ "data-advisory": a.id }));
      list.replaceChildren(advisories.length ? table : el("p", { class: "muted", id: "no-advisories" }, t("sec_no_advisories")));
    };
    open?.addEventListener("click", () => importForm(root, ctx, load));
    await load();
  },
};

export function cvssBadge(score) {
  if (score === null || score === undefined) return null;
  const kind = score >= 9 ? "sev-critical" : score >= 7 ? "sev-high" : score >= 4 ? "sev-medium" : "sev-low";
  return badge(score.toFixed(1), kind);
}

function importForm(root, ctx, reload) {
  const { t } = ctx;
  const result = el("div", { id: "import-result" });
  const file = el("input", { type: "file", name: "document", accept: ".json,application/json", required: true });
  const form = el("form", { class: "card", id: "import-advisory" },
    el("h3", {}, t("sec_import")),
    field(t("sec_import_file"), file),
    el("button", { type: "submit", class: "primary" }, t("sec_import")), result);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const chosen = file.files?.[0];
    if (!chosen) return;
    try {
      const got = await ctx.api.post("/api/v1/security/advisories", await chosen.text());
      result.replaceChildren(el("p", { class: "notice", role: "status" },
        t("sec_imported", { id: got.id, version: got.version, outcome: got.outcome, alerts: got.alerts })));
      await reload();
    } catch (err) {
      result.replaceChildren(errorBox(err));
    }
  });
  root.querySelector("#import-advisory")?.remove();
  root.querySelector(".page-head").after(form);
}
