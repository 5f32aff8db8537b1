// The thing-model editor: properties, events and services of a device type, saved whole; the
// API's validation errors are shown at the field they name (loc properties.1.name -> that input).
import { el, errorBox, field, select, showFieldErrors } from "../dom.js";
import { k } from "../i18n.js";
import { head } from "../ui.js";

const TYPES = ["float", "int", "bool", "string"];
const LEVELS = ["info", "warning", "fault"];

function num(value) {
  if (value === "") return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : value; // a non-number goes to the API, which names the field
}

export default {
  title: k("nav_device_types"),
  async render(root, ctx) {
    const { t } = ctx;
    const isNew = ctx.params.id === "new";
    const type = isNew ? { id: "", name: "", description: "", properties: [], events: [], services: [] }
      : await ctx.api.get(ctx.path(`/device-types/${encodeURIComponent(ctx.params.id)}`));
    const ro = !ctx.can.write;
    const input = (loc, value, attrs = {}) => el("input", { "data-loc": loc, value: value ?? "", disabled: ro, ...attrs });
    const remove = (row) => (ro ? null : el("button", { type: "button", class: "write", "data-write": "", "data-action": "remove-row", onclick: () => row.remove() }, "×"));
    const cell = (label, node) => el("label", { class: "cell" }, el("span", { class: "muted" }, label), node);

    const props = el("div", { "data-list": "properties" });
    const events = el("div", { "data-list": "events" });
    const services = el("div", { "data-list": "services" });
    const renumber = () => {
      for (const [list, name] of [[props, "properties"], [events, "events"], [services, "services"]]) {
        [...list.children].forEach((row, i) => {
          row.dataset.loc = `${name}.${i}`;
          for (const f of row.querySelectorAll("[data-field]")) f.dataset.loc = `${name}.${i}.${f.dataset.field}`;
        });
      }
    };
    const addProp = (p = {}) => {
      const row = el("div", { class: "model-row" },
        cell(t("name"), input("", p.name, { "data-field": "name", name: "p_name" })),
        cell(t("type"), select("p_type", TYPES.map((x) => [x, x]), p.type || "float", { "data-field": "type", disabled: ro })),
        cell(t("unit"), input("", p.unit, { "data-field": "unit" })),
        cell(t("min"), input("", p.min, { "data-field": "min" })),
        cell(t("max"), input("", p.max, { "data-field": "max" })),
        cell(t("description"), input("", p.description, { "data-field": "description" })));
      row.append(remove(row) || "");
      props.append(row);
    };
    const addEvent = (e = {}) => {
      const row = el("div", { class: "model-row" },
        cell(t("name"), input("", e.name, { "data-field": "name" })),
        cell(t("event_level"), select("e_level", LEVELS.map((x) => [x, x]), e.level || "info", { "data-field": "level", disabled: ro })),
        cell(t("description"), input("", e.description, { "data-field": "description" })));
      row.append(remove(row) || "");
      events.append(row);
    };
    const addService = (s = {}) => {
      const row = el("div", { class: "model-row" },
        cell(t("name"), input("", s.name, { "data-field": "name" })),
        cell(t("call"), select("s_call", [["async", "async"], ["sync", "sync"]], s.call || "async", { "data-field": "call", disabled: ro })),
        cell(t("service_inputs"), el("textarea", { "data-field": "inputs", class: "code", rows: "2", disabled: ro, value: JSON.stringify(s.inputs || []) })));
      row.append(remove(row) || "");
      services.append(row);
    };
    type.properties.forEach(addProp);
    type.events.forEach(addEvent);
    type.services.forEach(addService);
    renumber();

    const error = el("div", { "data-role": "form-error" });
    const saved = el("p", { class: "ok", "data-role": "saved" });
    const form = el("form", { class: "card", id: "type-form" },
      isNew ? field(t("type_id"), el("input", { name: "id", "data-loc": "id", required: true })) : null,
      field(t("name"), el("input", { name: "name", "data-loc": "name", value: type.name, disabled: ro })),
      field(t("description"), el("input", { name: "description", "data-loc": "description", value: type.description || "", disabled: ro })),
      el("h3", {}, t("properties")), props,
      ro ? null : el("button", { type: "button", class: "write", "data-write": "", "data-action": "add-property", onclick: () => { addProp(); renumber(); } }, t("add_property")),
      el("h3", {}, t("events")), events,
      ro ? null : el("button", { type: "button", class: "write", "data-write": "", "data-action": "add-event", onclick: () => { addEvent(); renumber(); } }, t("add_event")),
      el("h3", {}, t("services")), services,
      ro ? null : el("button", { type: "button", class: "write", "data-write": "", "data-action": "add-service", onclick: () => { addService(); renumber(); } }, t("add_service")),
      el("div", { class: "toolbar" }, ro ? null : el("button", { type: "submit", class: "primary write", "data-write": "" }, t("save"))), error, saved);
    form.addEventListener("click", () => setTimeout(renumber, 0));
    const rows = (list) => [...list.children].map((row) => Object.fromEntries([...row.querySelectorAll("[data-field]")].map((f) => [f.dataset.field, f.value])));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      renumber();
      error.replaceChildren();
      saved.textContent = "";
      const body = {
        name: form.elements.namedItem("name").value,
        description: form.elements.namedItem("description").value || null,
        properties: rows(props).map((p) => ({ name: p.name, type: p.type, unit: p.unit || null, min: num(p.min), max: num(p.max), description: p.description || null })),
        events: rows(events).map((x) => ({ name: x.name, level: x.level, description: x.description || null })),
        services: rows(services).map((x) => {
          let inputs = [];
          try {
            inputs = JSON.parse(x.inputs || "[]");
          } catch {
            inputs = x.inputs; // the API names it as invalid at its position
          }
          return { name: x.name, call: x.call, inputs };
        }),
      };
      try {
        if (isNew) {
          body.id = form.elements.namedItem("id").value.trim();
          const made = await ctx.api.post(ctx.path("/device-types"), body);
          ctx.navigate(`#/device-types/${encodeURIComponent(made.id)}`);
        } else {
          await ctx.api.patch(ctx.path(`/device-types/${encodeURIComponent(type.id)}`), body);
          for (const old of form.querySelectorAll(".field-error")) old.remove();
          saved.textContent = t("saved");
        }
      } catch (err) {
        const rest = showFieldErrors(form, err);
        error.replaceChildren(errorBox({ message: err.message, details: rest }));
      }
    });
    root.append(head(isNew ? t("new_device_type") : `${type.name} (${type.id})`, el("a", { href: "#/device-types" }, t("back"))), form);
  },
};
