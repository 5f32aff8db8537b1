// Shop page (industrial e-commerce, zh-CN/en): a customer picks a configurable product and
// its options, sees the price and a promised delivery date (capable-to-promise from the
// current plan and capacity), places the order and follows its status.
import { node, when, words } from "./i18n.js";

const base = (tenant) => `/api/v1/apps/scheduling/tenants/${encodeURIComponent(tenant)}`;

export async function render(root, { tenant, fetchJson, sendJson, lang }) {
  const w = words(lang);
  const zh = String(lang || "").startsWith("zh");
  const products = await fetchJson(`${base(tenant)}/products`);
  if (!products.length) {
    root.replaceChildren(node("p", {}, w("no_products")));
    return;
  }
  const pick = node("select", { name: "product" }, ...products.map((p) => node("option", { value: p.id }, zh && p.name_zh ? p.name_zh : p.name)));
  const options = node("div", { "data-options": "" });
  const quantity = node("input", { type: "number", name: "quantity", min: 1, max: 100000, value: 10 });
  const customer = node("input", { type: "text", name: "customer", maxlength: 200 });
  const out = node("div", { role: "status", "data-quote": "" });
  const orders = node("tbody", {});
  const selection = () => Object.fromEntries([...options.querySelectorAll("select")].map((s) => [s.name, s.value]));
  const product = () => products.find((p) => p.id === pick.value);
  const showOptions = () => {
    options.replaceChildren(...product().options.map((o) => node("label", {}, `${o.name} `,
      node("select", { name: o.id }, ...o.choices.map((c) => node("option", { value: c.id }, `${c.name}${c.price ? ` (+${c.price})` : ""}`))))));
  };
  const fail = (err) => out.replaceChildren(node("div", { class: "error", role: "alert" }, err.message || String(err)));
  const quote = async () => {
    try {
      const q = await sendJson("POST", `${base(tenant)}/products/${encodeURIComponent(pick.value)}/quote`, { selection: selection(), quantity: Number(quantity.value) });
      out.replaceChildren(node("p", {}, `${w("unit_price")}: ${q.unit_price} · ${w("price")}: ${q.price}`),
        node("p", { "data-promised": q.promised_ms ?? "" }, `${w("promised")}: ${when(q.promised_ms, lang)}`));
    } catch (err) { fail(err); }
  };
  const listOrders = async () => {
    const rows = await fetchJson(`${base(tenant)}/orders`);
    orders.replaceChildren(...rows.slice().reverse().map((o) => node("tr", { "data-order": o.id },
      node("td", {}, o.id), node("td", {}, o.product), node("td", {}, o.quantity), node("td", {}, o.price),
      node("td", {}, w(o.status)), node("td", {}, when(o.promised_ms, lang)), node("td", {}, when(o.planned_completion_ms, lang)))));
  };
  const place = async () => {
    try {
      const o = await sendJson("POST", `${base(tenant)}/orders`, { product: pick.value, selection: selection(), quantity: Number(quantity.value), customer: customer.value });
      out.replaceChildren(node("p", {}, `${w("placed")}: ${o.id} · ${w("promised")}: ${when(o.promised_ms, lang)} · ${w(o.status)}`));
      await listOrders();
    } catch (err) { fail(err); }
  };
  pick.addEventListener("change", showOptions);
  showOptions();
  const head = node("tr", {}, ...["order", "product", "quantity", "price", "status", "promised", "completion"].map((k) => node("th", {}, w(k))));
  root.replaceChildren(
    node("label", {}, `${w("product")} `, pick), options,
    node("label", {}, `${w("quantity")} `, quantity), node("label", {}, `${w("customer")} `, customer),
    node("div", {}, node("button", { type: "button", on: { click: quote } }, w("quote")), " ", node("button", { type: "button", on: { click: place } }, w("place"))),
    out, node("h3", {}, w("my_orders")), node("table", {}, node("thead", {}, head), orders));
  await listOrders();
}
