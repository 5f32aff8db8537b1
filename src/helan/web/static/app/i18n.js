// The console's strings: one catalogue per language (/console/i18n/{lang}.json), loaded once
// and switched without a reload. Keys are string literals at every call of t or k (k marks a
// key chosen later); tests/web check that every such key exists in both catalogues.
const LANGUAGES = ["zh-CN", "en"];
const loaded = new Map();
let current = "zh-CN";
let messages = {};

export const k = (key) => key;

export function languages() {
  return [...LANGUAGES];
}

export function lang() {
  return current;
}

export async function load(wanted) {
  const chosen = LANGUAGES.includes(wanted) ? wanted : "zh-CN";
  if (!loaded.has(chosen)) {
    const res = await fetch(`/console/i18n/${chosen}.json`, { cache: "no-cache" });
    if (!res.ok) throw new Error(`catalogue ${chosen}: ${res.status}`);
    loaded.set(chosen, await res.json());
  }
  current = chosen;
  messages = loaded.get(chosen);
  document.documentElement.lang = chosen;
  document.documentElement.dataset.lang = chosen;
  return chosen;
}

// The message for key with {name} placeholders filled (values inserted as text by callers).
export function t(key, vars) {
  let text = Object.prototype.hasOwnProperty.call(messages, key) ? messages[key] : key;
  if (vars) text = text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
  return text;
}
