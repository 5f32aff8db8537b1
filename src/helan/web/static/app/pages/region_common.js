// What the regional pages share: which division they show (?code=, else the viewer's own
// region, else the demo's province), the division picker, and how figures are printed.
import { el, field } from "../dom.js";
import { keepQuery } from "../ui.js";

export const DEFAULT_REGION = "640000";

export function regionOf(ctx) {
  const code = ctx.query.get("code") || ctx.me?.region || DEFAULT_REGION;
  return /^[0-9]{6}$/.test(code) ? code : DEFAULT_REGION;
}

export function regionApi(code, path) {
  return `/api/v1/regions/${encodeURIComponent(code)}${path}`;
}

// A six-digit code box; Enter (or leaving it) opens that division.
export function regionPicker(ctx, code, onPick) {
  const input = el("input", { name: "code", value: code, size: 8, inputmode: "numeric", pattern: "[0-9]{6}", id: "region-code" });
  const go = () => {
    if (/^[0-9]{6}$/.test(input.value) && input.value !== code) onPick(input.value);
  };
  input.addEventListener("change", go);
  return field(ctx.t("region_code"), input);
}

export function amount(fen) {
  return `¥${(Number(fen || 0) / 100).toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

export function number(v) {
  return Number(v || 0).toLocaleString(undefined, { maximumFractionDigits: 1 });
}

export function keepRegion(code, extra = {}) {
  keepQuery({ code, ...extra });
}

// "value / target (progress)" with a bar, or just the value when there is no target.
export function progressCell(value, target) {
  if (!target) return el("span", { class: "num" }, number(value));
  const share = Math.max(0, value / target);
  return el("span", { class: "progress-cell", "data-progress": share.toFixed(3) },
    el("span", { class: "num" }, `${number(value)} / ${number(target)}`), " ",
    el("meter", { min: 0, max: 1, value: Math.min(1, share) }), " ",
    el("span", { class: "muted" }, `${(share * 100).toFixed(1)}%`));
}
