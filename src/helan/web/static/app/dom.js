// DOM helpers that only ever insert text (no HTML parsing anywhere in the console), so a device
// named "<script>" or "\"><img onerror=...>" is shown as those characters.
import { t } from "./i18n.js";

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key === "style") Object.assign(node.style, value);
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "value") node.value = value;
    else if (key === "checked" || key === "disabled" || key === "selected") node[key] = Boolean(value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else if (child instanceof Node) node.append(child);
    else node.append(document.createTextNode(String(child)));
  }
}

export function fmtTime(value) {
  if (value === null || value === undefined || value === "") return "–";
  const d = typeof value === "number" ? new Date(value) : new Date(String(value));
  return Number.isNaN(d.getTime()) ? String(value) : d.toLocaleString();
}

export function fmtValue(value, unit) {
  if (value === null || value === undefined) return "–";
  const text = typeof value === "number"
    ? value.toLocaleString(undefined, { maximumFractionDigits: 3 })
    : typeof value === "object" ? JSON.stringify(value) : String(value);
  return unit ? `${text} ${unit}` : text;
}

export function json(value) {
  return JSON.stringify(value ?? null);
}

// An API error as an alert: the message, then each detail with its position.
export function errorBox(err) {
  const box = el("div", { class: "error", role: "alert" }, err?.message || String(err));
  if (err?.details?.length) {
    box.append(el("ul", {}, err.details.map((d) => el("li", {}, `${(d.loc || []).join(".")}: ${d.message}`))));
  }
  return box;
}

// Put each detail of a 422 next to the input it is about ([data-loc="properties.1.name"]); the
// nearest enclosing position when there is no input for the exact one. Returns the leftovers.
export function showFieldErrors(form, err) {
  for (const old of form.querySelectorAll(".field-error")) old.remove();
  for (const old of form.querySelectorAll(".invalid")) old.classList.remove("invalid");
  const rest = [];
  for (const d of err?.details || []) {
    let loc = (d.loc || []).map(String);
    if (loc[0] === "body") loc = loc.slice(1);
    let target = null;
    for (let n = loc.length; n > 0 && !target; n -= 1) {
      target = form.querySelector(`[data-loc="${CSS.escape(loc.slice(0, n).join("."))}"]`);
    }
    if (!target) {
      rest.push(d);
      continue;
    }
    target.classList.add("invalid");
    target.after(el("span", { class: "field-error", role: "alert", "data-error-for": loc.join(".") }, d.message));
  }
  return rest;
}

// A modal question; resolves true when confirmed. Body is text or nodes.
export function confirmDialog({ title, body, confirm = t("confirm"), danger = false }) {
  return new Promise((resolve) => {
    const ok = el("button", { type: "button", class: danger ? "danger" : "primary", "data-action": "confirm" }, confirm);
    const cancel = el("button", { type: "button", "data-action": "cancel" }, t("cancel"));
    const dialog = el("dialog", { class: "dialog" }, el("h3", {}, title), el("div", { class: "dialog-body" }, body),
      el("div", { class: "dialog-actions" }, cancel, ok));
    const done = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    ok.addEventListener("click", () => done(true));
    cancel.addEventListener("click", () => done(false));
    dialog.addEventListener("cancel", (e) => {
      e.preventDefault();
      done(false);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

// A table: columns [{label, value(row) -> text|Node, class?}], rows, optional row attributes.
export function dataTable(columns, rows, rowAttrs = () => ({})) {
  return el("table", { class: "data" },
    el("thead", {}, el("tr", {}, columns.map((c) => el("th", { class: c.class }, c.label)))),
    el("tbody", {}, rows.map((row) => el("tr", rowAttrs(row), columns.map((c) => {
      const v = c.value(row);
      return el("td", { class: c.class }, v instanceof Node ? v : v === null || v === undefined ? "–" : String(v));
    })))));
}

// Previous / next over a server-paged list; onPage(offset).
export function pager({ total, limit, offset, onPage }) {
  const last = Math.max(0, Math.ceil(total / limit) - 1);
  const page = Math.floor(offset / limit);
  return el("div", { class: "pager" },
    el("button", { type: "button", "data-action": "prev", disabled: page <= 0, onclick: () => onPage(Math.max(0, offset - limit)) }, t("prev")),
    el("span", { class: "muted", "data-role": "page" }, t("page_of", { page: page + 1, pages: last + 1, total })),
    el("button", { type: "button", "data-action": "next", disabled: page >= last, onclick: () => onPage(offset + limit) }, t("next")));
}

export function field(label, input) {
  return el("label", { class: "field" }, el("span", {}, label), input);
}

export function select(name, options, value, attrs = {}) {
  return el("select", { name, ...attrs }, options.map(([v, label]) => el("option", { value: v, selected: String(v) === String(value ?? "") }, label)));
}

export function badge(text, kind) {
  return el("span", { class: `badge ${kind || ""}` }, text);
}

// A page-level message for an API that is not on this platform (yet).
export function unavailable(what, err) {
  return el("div", { class: "notice", role: "status", "data-role": "unavailable" },
    el("b", {}, t("not_available", { what })), " ", err?.message || "");
}
