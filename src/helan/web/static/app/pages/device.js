// One device: its attributes and identifier, thing model, live values, history chart (several
// metrics, units from the thing model), events, and commands with a confirmation and result.
import { badge, confirmDialog, dataTable, el, errorBox, field, fmtTime, fmtValue, json, select } from "../dom.js";
import { historyChart } from "../history.js";
import { k } from "../i18n.js";
import { head } from "../ui.js";

const LEVEL_KEYS = { info: k("level_info"), warning: k("level_warning"), fault: k("level_fault") };

export default {
  title: k("device"),
  async render(root, ctx) {
    const { t } = ctx;
    const id = ctx.params.id;
    const base = `/devices/${encodeURIComponent(id)}`;
    const device = await ctx.api.get(ctx.path(base));
    const [type, liveNow] = await Promise.all([
      device.device_type ? ctx.api.get(ctx.path(`/device-types/${encodeURIComponent(device.device_type)}`)).catch(() => null) : null,
      ctx.api.get(ctx.path(`${base}/live`)).catch(() => null),
    ]);
    if (!ctx.alive()) return;
    const props = type?.properties || [];
    const units = new Map(props.map((p) => [p.name, p.unit || ""]));
    const metricNames = [...new Set([...props.map((p) => p.name), ...Object.keys(liveNow?.values || {})])];
    const status = el("span", { "data-role": "online" });
    const setOnline = (on) => status.replaceChildren(badge(on ? t("online") : t("offline"), on ? "on" : "off"));
    setOnline(Boolean(liveNow?.online));

    // Attributes and identifier.
    const facts = [
      [t("device_id"), device.id], [t("name"), device.name], [t("device_type"), device.device_type],
      [t("asset"), device.asset], [t("gateway"), device.gateway], [t("vendor"), device.vendor], [t("model"), device.model],
      [t("firmware"), device.firmware], [t("location"), device.location], [t("identifier"), device.identifier],
      [t("enabled"), device.enabled ? t("yes") : t("no")], [t("created_at"), fmtTime(device.created_at)],
    ];
    const attrs = Object.entries(device.attributes || {});
    const attributes = el("div", { class: "card", "data-section": "attributes" }, el("h3", {}, t("attributes")),
      el("dl", { class: "kv" }, facts.map(([a, b]) => [el("dt", {}, a), el("dd", {}, b ?? "–")]),
        attrs.map(([a, b]) => [el("dt", { "data-attr": a }, a), el("dd", {}, typeof b === "string" ? b : json(b))])));

    // Thing model.
    const model = el("div", { class: "card", "data-section": "thing-model" }, el("h3", {}, t("thing_model")));
    if (!type) model.append(el("p", { class: "muted" }, t("no_thing_model")));
    else {
      model.append(el("h4", {}, t("properties")), dataTable([
        { label: t("name"), value: (p) => p.name }, { label: t("type"), value: (p) => p.type },
        { label: t("unit"), value: (p) => p.unit }, { label: t("min"), value: (p) => p.min }, { label: t("max"), value: (p) => p.max },
        { label: t("description"), value: (p) => p.description },
      ], props));
      if (type.events.length) model.append(el("h4", {}, t("events")), dataTable([{ label: t("name"), value: (e) => e.name },
        { label: t("event_level"), value: (e) => t(LEVEL_KEYS[e.level] || "level_info") }, { label: t("description"), value: (e) => e.description }], type.events));
    }

    // Live values.
    const liveBody = el("tbody");
    const liveRows = new Map();
    const showValue = (metric, ts, value) => {
      let row = liveRows.get(metric);
      if (!row) {
        row = el("tr", { "data-metric": metric }, el("td", {}, metric), el("td", { "data-role": "value" }), el("td", { class: "muted" }));
        liveRows.set(metric, row);
        liveBody.append(row);
      }
      row.children[1].textContent = fmtValue(value, units.get(metric));
      row.children[2].textContent = fmtTime(ts);
    };
    for (const [metric, v] of Object.entries(liveNow?.values || {})) showValue(metric, v.ts, v.value);
    const liveCard = el("div", { class: "card", "data-section": "live" }, el("h3", {}, t("live_values")),
      el("table", { class: "data" }, el("thead", {}, el("tr", {}, el("th", {}, t("metric")), el("th", {}, t("value")), el("th", {}, t("time")))), liveBody));
    ctx.connectLive();
    const offPoints = ctx.live.subscribe("points", (points) => {
      for (const [metric, [ts, value]] of Object.entries(points[id] || {})) showValue(metric, ts, value);
    });
    const offDevice = ctx.live.subscribe("device", (d) => {
      if (d.device === id) setOnline(d.online);
    });
    ctx.onCleanup(() => { offPoints(); offDevice(); });

    // History.
    const history = historyChart(ctx, { device: id, metrics: metricNames.map((n) => ({ name: n, unit: units.get(n) })), initialRange: ctx.query.get("range") || "24h" });
    const historyCard = el("div", { class: "card", "data-section": "history" }, el("h3", {}, t("history")), history.node);

    // Events.
    const events = el("div", { class: "card", "data-section": "events" }, el("h3", {}, t("events")));
    // Commands.
    const commands = el("div", { class: "card", "data-section": "commands" }, el("h3", {}, t("commands")));

    root.append(head(`${device.name} (${device.id})`, status), el("div", { class: "grid-2" }, attributes, model),
      el("div", { class: "grid-2" }, liveCard, commands), historyCard, events);
    await Promise.all([history.load(), loadEvents(ctx, base, events), loadCommands(ctx, base, type, commands)]);
  },
};

async function loadEvents(ctx, base, card) {
  const { t } = ctx;
  try {
    const page = await ctx.api.get(ctx.path(`${base}/events?limit=20`));
    card.append(page.items.length ? dataTable([
      { label: t("event_time"), value: (e) => fmtTime(e.ts) },
      { label: t("event"), value: (e) => e.event },
      { label: t("event_level"), value: (e) => badge(t(LEVEL_KEYS[e.level] || "level_info"), e.level) },
      { label: t("event_data"), value: (e) => json(e.data) },
    ], page.items, (e) => ({ "data-event": e.id })) : el("p", { class: "muted" }, t("no_events")));
  } catch (err) {
    card.append(errorBox(err));
  }
}

function paramInput(p) {
  const attrs = { name: p.name, "data-param": p.name, required: p.required !== false };
  if (p.type === "bool") return select(p.name, [["true", "true"], ["false", "false"]], "false", attrs);
  if (p.type === "string") return el("input", attrs);
  return el("input", { ...attrs, type: "number", step: p.type === "int" ? "1" : "any", min: p.min ?? null, max: p.max ?? null });
}

function paramValue(p, input) {
  const raw = input.value;
  if (raw === "") return undefined;
  if (p.type === "bool") return raw === "true";
  if (p.type === "int") return parseInt(raw, 10);
  if (p.type === "float") return Number(raw);
  return raw;
}

async function loadCommands(ctx, base, type, card) {
  const { t } = ctx;
  const services = type?.services || [];
  const result = el("div", { "data-role": "command-result" });
  if (ctx.can.write && services.length) {
    card.append(el("div", { class: "toolbar" }, services.map((s) => el("button", { type: "button", class: "write", "data-write": "",
      "data-command": s.name, onclick: () => sendCommand(ctx, base, s, result, list) }, t("send_command", { name: s.name })))));
  } else if (!services.length) {
    card.append(el("p", { class: "muted" }, t("no_services")));
  }
  const list = el("div");
  card.append(result, list);
  await refreshCommands(ctx, base, list);
}

async function refreshCommands(ctx, base, list) {
  const { t } = ctx;
  try {
    const page = await ctx.api.get(ctx.path(`${base}/commands?limit=10`));
    list.replaceChildren(page.items.length ? dataTable([
      { label: t("time"), value: (c) => fmtTime(c.created_at) }, { label: t("service"), value: (c) => c.service },
      { label: t("status"), value: (c) => c.status }, { label: t("message"), value: (c) => c.message || c.reason },
    ], page.items) : el("p", { class: "muted" }, t("no_commands")));
  } catch (err) {
    list.replaceChildren(errorBox(err));
  }
}

async function sendCommand(ctx, base, service, result, list) {
  const { t } = ctx;
  const inputs = (service.inputs || []).map((p) => [p, paramInput(p)]);
  const timeout = el("input", { type: "number", name: "timeout_s", value: "10", min: "1", max: "300", "data-param": "timeout_s" });
  const body = el("div", {}, el("p", {}, t("command_confirm", { name: service.name })),
    inputs.map(([p, input]) => field(p.unit ? `${p.name} (${p.unit})` : p.name, input)), field(t("timeout_s"), timeout));
  if (!(await confirmDialog({ title: t("send_command", { name: service.name }), body, confirm: t("send") }))) return;
  const params = {};
  for (const [p, input] of inputs) {
    const v = paramValue(p, input);
    if (v !== undefined) params[p.name] = v;
  }
  result.replaceChildren(el("p", { class: "muted" }, t("command_sending")));
  try {
    const out = await ctx.api.post(ctx.path(`${base}/commands`), { service: service.name, params, timeout_s: Number(timeout.value) || 10 });
    result.replaceChildren(el("p", { class: out.status === "success" ? "ok" : "error", "data-status": out.status },
      `${t("command_result")}: ${out.status}${out.message ? ` — ${out.message}` : ""}${out.reason ? ` (${out.reason})` : ""}`));
  } catch (err) {
    result.replaceChildren(errorBox(err));
  }
  await refreshCommands(ctx, base, list);
}
