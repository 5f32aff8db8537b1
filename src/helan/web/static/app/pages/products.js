// Products, batches and parts with their industrial identifiers (Handle syntax prefix/suffix),
// searched and paged by the server.
import { dataTable, el, errorBox, field, fmtTime, pager, select } from "../dom.js";
import { k } from "../i18n.js";
import { debounce, head, keepQuery } from "../ui.js";

const LIMIT = 50;
const KINDS = { unit: k("kind_unit"), batch: k("kind_batch"), part: k("kind_part") };

export default {
  title: k("nav_products"),
  async render(root, ctx) {
    const { t, query } = ctx;
    const st = { q: query.get("q") || "", kind: query.get("kind") || "", offset: Number(query.get("offset") || 0) || 0 };
    const search = el("input", { type: "search", name: "q", value: st.q, id: "product-search", placeholder: t("search_products") });
    const kind = select("kind", [["", t("all")], ...Object.entries(KINDS).map(([v, key]) => [v, t(key)])], st.kind);
    const list = el("div", { id: "product-list" });
    const form = ctx.can.write ? newProduct(ctx, () => load()) : null;
    root.append(head(t("nav_products")), form, el("div", { class: "toolbar" }, field(t("search"), search), field(t("kind"), kind)), list);
    const load = async () => {
      keepQuery({ q: st.q, kind: st.kind, offset: st.offset || "" });
      const q = new URLSearchParams({ limit: String(LIMIT), offset: String(st.offset), sort: "id" });
      if (st.q) q.set("q", st.q);
      if (st.kind) q.set("kind", st.kind);
      try {
        const page = await ctx.api.get(ctx.path(`/products?${q}`));
        list.replaceChildren(page.items.length ? dataTable([
          { label: t("product_id"), value: (p) => p.id }, { label: t("name"), value: (p) => p.name },
          { label: t("kind"), value: (p) => t(KINDS[p.kind] || "kind_unit") }, { label: t("model"), value: (p) => p.model },
          { label: t("batch"), value: (p) => p.batch }, { label: t("made_by"), value: (p) => p.made_by ? el("a", { href: `#/devices/${encodeURIComponent(p.made_by)}` }, p.made_by) : null },
          { label: t("identifier"), value: (p) => p.identifier ? el("code", { "data-identifier": p.identifier }, p.identifier) : null },
          { label: t("produced_at"), value: (p) => fmtTime(p.produced_at) },
        ], page.items, (p) => ({ "data-product": p.id })) : el("p", { class: "muted" }, t("no_products")),
        pager({ total: page.total, limit: LIMIT, offset: st.offset, onPage: (o) => { st.offset = o; load(); } }));
      } catch (err) {
        list.replaceChildren(errorBox(err));
      }
    };
    search.addEventListener("input", debounce(() => { st.q = search.value.trim(); st.offset = 0; load(); }));
    kind.addEventListener("change", () => { st.kind = kind.value; st.offset = 0; load(); });
    await load();
  },
};

function newProduct(ctx, done) {
  const { t } = ctx;
  const error = el("div");
  const form = el("form", { class: "card toolbar write", "data-write": "" },
    field(t("product_id"), el("input", { name: "id", required: true, "data-loc": "id" })),
    field(t("name"), el("input", { name: "name", required: true, "data-loc": "name" })),
    field(t("kind"), select("kind", Object.entries(KINDS).map(([v, key]) => [v, t(key)]), "unit", { "data-loc": "kind" })),
    field(t("identifier"), el("input", { name: "identifier", "data-loc": "identifier", placeholder: "88.118.100/SN-0001" })),
    el("button", { type: "submit", class: "primary" }, t("create")), error);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = (n) => form.elements.namedItem(n).value.trim();
    const body = { id: v("id"), name: v("name"), kind: v("kind") };
    if (v("identifier")) body.identifier = v("identifier");
    try {
      await ctx.api.post(ctx.path("/products"), body);
      error.replaceChildren();
      form.reset();
      done();
    } catch (err) {
      error.replaceChildren(errorBox(err));
    }
  });
  return form;
}
