// Pieces several pages share: the page head, a list's state kept in the hash (deep links to a
// filtered page), and the "API not here yet" check.
import { el } from "./dom.js";

export function head(title, ...actions) {
  return el("div", { class: "page-head toolbar" }, el("h2", {}, title), el("span", { class: "spacer" }), actions);
}

// Replace the hash's query without a re-render (history.replaceState fires no hashchange).
export function keepQuery(params) {
  const base = (location.hash || "#/").split("?")[0];
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== "" && value !== null && value !== undefined) q.set(key, value);
  const text = q.toString();
  history.replaceState(null, "", text ? `${base}?${text}` : base);
}

export function missing(err) {
  return err?.status === 404 && err?.code === "not_found" && /not found|no route/i.test(err.message || "")
    ? true : err?.status === 404 || err?.status === 405;
}

export function debounce(fn, ms = 300) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
