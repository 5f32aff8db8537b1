// One advisory: what it is (publisher, versions, CVSS, CVEs, notes as text) and this tenant's
// assets it names, each with its status, the products it matched, the reasons and remediations.
import { badge, dataTable, el, errorBox } from "../dom.js";
import { k } from "../i18n.js";
import { head } from "../ui.js";
import { cvssBadge } from "./security_advisories.js";
import { statusBadge } from "./security_common.js";

export default {
  title: k("nav_security_advisories"),
  async render(root, ctx) {
    const { t, params } = ctx;
    const id = encodeURIComponent(params.id);
    let adv, matches;
    try {
      [adv, matches] = await Promise.all([
        ctx.api.get(`/api/v1/security/advisories/${id}`),
        ctx.api.get(ctx.path(`/security/matches?advisory=${id}`)),
      ]);
    } catch (err) {
      root.append(head(params.id), errorBox(err));
      return;
    }
    const facts = el("dl", { class: "facts", id: "advisory-facts" },
      el("dt", {}, t("sec_title")), el("dd", {}, adv.title),
      el("dt", {}, t("sec_publisher")), el("dd", {}, adv.publisher),
      el("dt", {}, t("sec_version")), el("dd", {}, adv.version),
      el("dt", {}, t("sec_versions")), el("dd", {}, adv.versions.join(", ")),
      el("dt", {}, t("sec_cvss")), el("dd", {}, cvssBadge(adv.max_cvss) || "–", adv.kev ? [" ", badge(t("sec_kev"), "fault")] : null),
      el("dt", {}, t("sec_cves")), el("dd", {}, adv.cves.join(", ") || "–"));
    const assets = dataTable([
      { label: t("device_id"), value: (m) => el("a", { href: `#/devices/${encodeURIComponent(m.device)}` }, m.device) },
      { label: t("status"), value: (m) => statusBadge(t, m.status) },
      { label: t("sec_products"), value: (m) => m.products.join("; ") },
      { label: t("sec_cvss"), value: (m) => cvssBadge(m.cvss) },
      { label: t("sec_reasons"), value: (m) => m.reasons.join("; ") },
      { label: t("sec_remediations"), value: (m) => el("ul", { class: "plain" }, m.remediations.map(remediation)) },
    ], matches, (m) => ({ "data-match": m.device, "data-status": m.status }));
    const notes = (adv.notes || []).map((n) => el("div", { class: "note" }, el("h4", {}, n.title || n.category || ""), el("p", { style: { whiteSpace: "pre-wrap" } }, n.text || "")));
    root.append(head(`${adv.id} ${adv.title}`),
      el("div", { class: "card" }, facts),
      el("h3", {}, t("sec_affected_here")),
      el("div", { id: "advisory-assets" }, matches.length ? assets : el("p", { class: "muted", id: "no-matches" }, t("sec_no_matches"))),
      notes.length ? el("div", { class: "card", id: "advisory-notes" }, el("h3", {}, t("sec_notes")), notes) : null);
  },
};

// A remediation's text; its URL a link only when it is http(s) (a document may say anything).
function remediation(r) {
  const url = r.url && /^https?:\/\//i.test(r.url) ? el("a", { href: r.url, target: "_blank", rel: "noopener noreferrer" }, r.url) : r.url;
  return el("li", {}, r.category ? el("b", {}, r.category, ": ") : null, r.details || "", url ? [" ", url] : null);
}
