// One's own account: the second factor (enrol with a QR code, confirm, recovery codes shown
// once, remove with a code) and the live login sessions (end any but this one). Reached by
// every signed-in account, with or without a tenant, and the only page of a token that must
// first enrol a factor.
import { badge, dataTable, el, errorBox, field, fmtTime } from "../dom.js";
import { k } from "../i18n.js";
import { head } from "../ui.js";

function svgNode(markup) {
  // The QR code comes from our own API as SVG markup; parse it as XML, never as HTML.
  const doc = new DOMParser().parseFromString(markup, "image/svg+xml");
  const svg = doc.documentElement;
  return svg.nodeName === "svg" ? document.importNode(svg, true) : el("span", {}, "?");
}

export default {
  title: k("nav_account"),
  async render(root, ctx) {
    const { t, api } = ctx;
    const factorBox = el("section", { class: "card", id: "factor" });
    const sessionsBox = el("section", { class: "card", id: "sessions" });
    root.append(head(t("nav_account")), factorBox, sessionsBox);

    const showCodes = (codes) => {
      const list = el("ol", { class: "recovery-codes", id: "recovery-codes" }, codes.map((c) => el("li", {}, el("code", {}, c))));
      const after = ctx.me?.enrol_only
        ? el("p", { class: "notice", role: "status" }, t("factor_sign_in_again"))
        : null;
      factorBox.replaceChildren(el("h3", {}, t("factor_title")), el("p", { class: "notice", role: "status" }, t("factor_recovery_once")), list, after);
    };

    const enrol = async () => {
      let started;
      try {
        started = await api.post("/api/v1/auth/factor");
      } catch (err) {
        factorBox.append(errorBox(err));
        return;
      }
      const code = el("input", { name: "code", inputmode: "numeric", autocomplete: "one-time-code", required: true, maxlength: "20" });
      const error = el("p", { class: "error", role: "alert" });
      const form = el("form", { id: "factor-confirm" }, field(t("factor_code"), code), el("button", { type: "submit", class: "primary" }, t("factor_confirm")), error);
      form.addEventListener("submit", async (e) => {
        e.preventDefault();
        error.textContent = "";
        try {
          const done = await api.post("/api/v1/auth/factor/confirm", { code: code.value.trim() });
          sessionStorage.removeItem("helan.enrol_by");
          showCodes(done.recovery_codes);
        } catch (err) {
          error.textContent = err.message;
        }
      });
      factorBox.replaceChildren(
        el("h3", {}, t("factor_title")),
        el("p", {}, t("factor_scan")),
        el("div", { class: "qr", id: "factor-qr" }, svgNode(started.qr_svg)),
        el("p", { class: "muted" }, t("factor_secret"), " ", el("code", { id: "factor-secret" }, started.secret)),
        form,
      );
      code.focus();
    };

    const drawFactor = async () => {
      let st;
      try {
        st = await api.get("/api/v1/auth/factor");
      } catch (err) {
        factorBox.replaceChildren(errorBox(err));
        return;
      }
      const rows = [el("h3", {}, t("factor_title"))];
      if (st.enrolled) {
        rows.push(el("p", {}, badge(t("factor_enrolled"), "on"), " ", t("factor_since"), " ", fmtTime(st.confirmed_at)));
        rows.push(el("p", { class: "muted" }, t("factor_codes_left"), ": ", String(st.recovery_codes_left)));
        const code = el("input", { name: "code", autocomplete: "one-time-code", required: true, maxlength: "20" });
        const error = el("p", { class: "error", role: "alert" });
        const form = el("form", { id: "factor-remove" }, field(t("factor_code_or_recovery"), code), el("button", { type: "submit", class: "danger" }, t("factor_remove")), error);
        form.addEventListener("submit", async (e) => {
          e.preventDefault();
          try {
            await api.request("DELETE", "/api/v1/auth/factor", { code: code.value.trim() });
            drawFactor();
          } catch (err) {
            error.textContent = err.message;
          }
        });
        rows.push(form);
      } else {
        if (st.required) {
          const by = st.enrol_by ? fmtTime(st.enrol_by) : "";
          rows.push(el("p", { class: ctx.me?.enrol_only ? "error" : "notice", role: "status", id: "factor-required" },
            ctx.me?.enrol_only ? t("factor_required_now") : `${t("factor_required_by")} ${by}`));
        }
        rows.push(el("button", { type: "button", class: "primary", id: "factor-enrol", onclick: enrol }, t("factor_enrol")));
      }
      factorBox.replaceChildren(...rows);
    };

    const drawSessions = async () => {
      let items;
      try {
        items = await api.get("/api/v1/auth/sessions");
      } catch (err) {
        sessionsBox.replaceChildren(el("h3", {}, t("sessions_title")), errorBox(err));
        return;
      }
      const end = async (s) => {
        try {
          await api.del(`/api/v1/auth/sessions/${encodeURIComponent(s.id)}`);
        } catch (err) {
          sessionsBox.append(errorBox(err));
          return;
        }
        drawSessions();
      };
      sessionsBox.replaceChildren(el("h3", {}, t("sessions_title")), dataTable([
        { label: t("sessions_started"), value: (s) => fmtTime(s.created_at) },
        { label: t("sessions_last_seen"), value: (s) => fmtTime(s.last_seen_at) },
        { label: t("sessions_address"), value: (s) => s.address || "—" },
        { label: t("sessions_browser"), value: (s) => s.user_agent || "—" },
        { label: "", value: (s) => (s.current ? badge(t("sessions_this"), "on")
          : el("button", { type: "button", class: "danger", "data-end": s.id, onclick: () => end(s) }, t("sessions_end"))) },
      ], items, (s) => ({ "data-session": s.id })));
    };

    await Promise.all([drawFactor(), drawSessions()]);
  },
};
