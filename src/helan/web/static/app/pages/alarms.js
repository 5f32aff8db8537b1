// Alarms: the list (filters in the deep link, new and changed alarms from the live stream without
// a reload, acknowledge one or the selected, shelve, unshelve, clear, comment) and the ISA-18.2
// performance report (alarm rate per 10 minutes, floods, chattering, stale, top 10).
import { badge, dataTable, el, errorBox, field, fmtTime, pager, select } from "../dom.js";
import { k } from "../i18n.js";
import { debounce, head, keepQuery } from "../ui.js";
import { SEVERITY_KEYS, STATE_KEYS, alarmActions, alarmHref, severityBadge, stateBadge } from "./alarm.js";

const LIMIT = 50;
const PERIOD_MS = 600_000;
const REPORT_RANGES = { "24h": [864e5, k("range_24h")], "7d": [7 * 864e5, k("range_7d")], "30d": [30 * 864e5, k("range_30d")] };
const CAN_ACK = new Set(["unack_active", "rtn_unack"]);

export default {
  title: k("nav_alarms"),
  async render(root, ctx) {
    const { t, query } = ctx;
    const tab = query.get("tab") === "report" ? "report" : "list";
    const tabs = el("div", { class: "tabs", role: "tablist" },
      el("a", { href: "#/alarms", role: "tab", class: tab === "list" ? "active" : null, "data-tab": "list" }, t("alarm_list")),
      el("a", { href: "#/alarms?tab=report", role: "tab", class: tab === "report" ? "active" : null, "data-tab": "report" }, t("alarm_report")));
    const body = el("div");
    root.append(head(t("nav_alarms")), tabs, body);
    if (tab === "report") await renderReport(body, ctx);
    else await renderList(body, ctx);
  },
};

async function renderList(box, ctx) {
  const { t, query } = ctx;
  const st = {
    state: query.get("state") || "open",
    severity: query.get("severity") || "",
    device: query.get("device") || "",
    rule: query.get("rule") || "",
    offset: Number(query.get("offset") || 0) || 0,
  };
  const stateSel = select("state", [["open", t("alarm_filter_open")], ["closed", t("alarm_filter_closed")], ["all", t("all")],
    ...Object.entries(STATE_KEYS).map(([s, key]) => [s, t(key)])], st.state, { id: "alarm-state" });
  const sevSel = select("severity", [["", t("all")], ...Object.entries(SEVERITY_KEYS).map(([s, key]) => [s, t(key)])], st.severity, { id: "alarm-severity" });
  const deviceIn = el("input", { type: "search", name: "device", value: st.device, placeholder: t("device_id"), id: "alarm-device" });
  const ackSelected = ctx.can.write ? el("button", { type: "button", class: "primary write", "data-write": "", "data-action": "ack-selected", disabled: true }, t("alarm_ack_selected")) : null;
  const summary = el("span", { class: "muted", id: "alarm-total" });
  const notice = el("div", { "data-role": "action-result" });
  const list = el("div", { id: "alarm-list" });
  box.append(el("div", { class: "toolbar" }, field(t("alarm_state"), stateSel), field(t("alarm_severity"), sevSel), field(t("device"), deviceIn),
    st.rule ? el("span", { class: "badge", "data-role": "rule-filter" }, `${t("alarm_rule")}: ${st.rule}`) : null, summary, ackSelected), notice, list);

  let rows = [];
  let total = 0;
  const selected = new Set();
  const matches = (a) => {
    if (st.state === "open" ? !a.open : st.state === "closed" ? a.open : st.state !== "all" && a.state !== st.state) return false;
    return (!st.severity || a.severity === st.severity) && (!st.device || a.device === st.device) && (!st.rule || a.rule_id === st.rule);
  };
  const fail = (err) => notice.replaceChildren(errorBox(err));
  const changed = (a) => {
    notice.replaceChildren();
    upsert(a);
  };
  const upsert = (a) => {
    const at = rows.findIndex((r) => r.id === a.id);
    if (at >= 0 && matches(a)) rows[at] = a;
    else if (at >= 0) {
      rows.splice(at, 1);
      total -= 1;
      selected.delete(a.id);
    } else if (matches(a) && st.offset === 0) {
      rows.unshift(a);
      total += 1;
      rows = rows.slice(0, LIMIT);
    } else return;
    draw();
  };
  const draw = () => {
    summary.textContent = t("alarm_n", { n: total });
    for (const id of [...selected]) if (!rows.some((r) => r.id === id && CAN_ACK.has(r.state))) selected.delete(id);
    if (ackSelected) ackSelected.disabled = selected.size === 0;
    const columns = [
      { label: t("alarm_state"), value: (a) => stateBadge(t, a.state), class: "nowrap" },
      { label: t("alarm_severity"), value: (a) => severityBadge(t, a.severity), class: "nowrap" },
      { label: t("device"), value: (a) => el("a", { href: `#/devices/${encodeURIComponent(a.device)}` }, a.device), class: "nowrap" },
      { label: t("alarm_rule"), value: (a) => el("a", { href: `#/rules/${encodeURIComponent(a.rule_id)}` }, a.rule_id), class: "nowrap" },
      { label: t("message"), value: (a) => el("a", { href: alarmHref(a.id), "data-role": "message" }, a.message || a.rule_id) },
      { label: t("alarm_since"), value: (a) => fmtTime(a.raised_ts), class: "nowrap" },
      { label: t("alarm_repeats"), value: (a) => String(a.count), class: "num" },
      { label: "", value: (a) => el("span", { class: "inline" }, alarmActions(ctx, a, changed, fail)), class: "nowrap" },
    ];
    if (ctx.can.write) {
      columns.unshift({ label: "", value: (a) => (CAN_ACK.has(a.state) ? el("input", { type: "checkbox", "data-select": a.id, "aria-label": t("alarm_select"),
        checked: selected.has(a.id), onchange: (e) => {
          if (e.target.checked) selected.add(a.id);
          else selected.delete(a.id);
          ackSelected.disabled = selected.size === 0;
        } }) : null) });
    }
    list.replaceChildren(rows.length ? dataTable(columns, rows, (a) => ({ "data-alarm": a.id, "data-state": a.state }))
      : el("p", { class: "muted", id: "no-alarms" }, t("alarm_none")),
    pager({ total, limit: LIMIT, offset: st.offset, onPage: (o) => { st.offset = o; load(); } }));
  };
  let seq = 0;
  const load = async () => {
    const mine = ++seq;
    keepQuery({ state: st.state === "open" ? "" : st.state, severity: st.severity, device: st.device, rule: st.rule, offset: st.offset || "" });
    const q = new URLSearchParams({ limit: String(LIMIT), offset: String(st.offset) });
    if (st.state === "open") q.set("open", "true");
    else if (st.state === "closed") q.set("open", "false");
    else if (st.state !== "all") q.set("state", st.state);
    if (st.severity) q.set("severity", st.severity);
    if (st.device) q.set("device", st.device);
    if (st.rule) q.set("rule", st.rule);
    let page;
    try {
      page = await ctx.api.get(ctx.path(`/alarms?${q}`));
    } catch (err) {
      if (mine === seq) list.replaceChildren(errorBox(err));
      return;
    }
    if (mine !== seq || !ctx.alive()) return;
    rows = page.items;
    total = page.total;
    draw();
  };
  const again = () => {
    st.state = stateSel.value;
    st.severity = sevSel.value;
    st.device = deviceIn.value.trim();
    st.offset = 0;
    selected.clear();
    load();
  };
  stateSel.addEventListener("change", again);
  sevSel.addEventListener("change", again);
  deviceIn.addEventListener("input", debounce(again, 300));
  ackSelected?.addEventListener("click", async () => {
    const ids = [...selected];
    try {
      const out = await ctx.api.post(ctx.path("/alarms:acknowledge"), { ids });
      selected.clear();
      notice.replaceChildren(el("p", { class: out.skipped.length ? "notice" : "ok", "data-role": "ack-result" },
        t("alarm_acked_n", { n: out.acknowledged.length }), out.skipped.map((s) => el("div", { class: "muted" }, `${s.id}: ${s.message}`))));
      await load();
    } catch (err) {
      fail(err);
    }
  });
  await load();
  ctx.connectLive();
  const offAlarm = ctx.live.subscribe("alarm", (a) => {
    if (a?.id) upsert(a);
  });
  // Changes this tab missed (it read too slowly, or the connection was new) are in the list.
  const offLost = ctx.live.subscribe("lost", () => load());
  const offHello = ctx.live.subscribe("hello", () => load());
  ctx.onCleanup(() => {
    offAlarm();
    offLost();
    offHello();
  });
  list.dataset.live = "1";
}

async function renderReport(box, ctx) {
  const { t, query } = ctx;
  const st = { range: REPORT_RANGES[query.get("range")] ? query.get("range") : "24h", operators: Math.max(1, Number(query.get("operators")) || 1) };
  const rangeSel = select("range", Object.entries(REPORT_RANGES).map(([r, [, key]]) => [r, t(key)]), st.range, { id: "report-range" });
  const operatorsIn = el("input", { type: "number", name: "operators", min: "1", max: "1000", value: String(st.operators), id: "report-operators" });
  const out = el("div", { id: "alarm-report" });
  const plot = el("div", { class: "chart", "data-role": "rate-chart" });
  box.append(el("div", { class: "toolbar" }, field(t("range"), rangeSel), field(t("alarm_report_operators"), operatorsIn)), plot, out);
  let chart = null;
  let seq = 0;
  const load = async () => {
    const mine = ++seq;
    keepQuery({ tab: "report", range: st.range === "24h" ? "" : st.range, operators: st.operators > 1 ? st.operators : "" });
    const end = Date.now();
    const start = end - REPORT_RANGES[st.range][0];
    let r;
    try {
      r = await ctx.api.get(ctx.path(`/alarms:report?start=${start}&end=${end}&operators=${st.operators}`));
    } catch (err) {
      if (mine === seq) out.replaceChildren(errorBox(err));
      return;
    }
    if (mine !== seq || !ctx.alive()) return;
    plot.dataset.ready = "";
    if (!chart) {
      chart = ctx.charts.create(plot);
      const resize = new ResizeObserver(() => chart.resize());
      resize.observe(plot);
      ctx.onCleanup(() => {
        resize.disconnect();
        chart.dispose();
      });
    }
    const rate = (r.per_period || []).map((n, i) => [r.start + i * PERIOD_MS, n / r.operators]);
    chart.setOption({
      animation: false,
      grid: { left: 48, right: 24, top: 36, bottom: 56 },
      tooltip: { trigger: "axis" },
      xAxis: { type: "time", min: r.start, max: r.end },
      yAxis: { type: "value", name: t("alarm_report_per_10min") },
      dataZoom: [{ type: "inside" }, { type: "slider", bottom: 8 }],
      series: [{ name: t("alarm_report_per_10min"), type: "bar", data: rate, barMaxWidth: 8,
        markLine: { silent: true, symbol: "none", data: [
          { yAxis: r.flood.threshold, name: t("alarm_report_flood_line"), lineStyle: { color: "#dc2626" }, label: { formatter: t("alarm_report_flood_line") } },
          { yAxis: r.targets.average_per_10min_acceptable, lineStyle: { color: "#16a34a" }, label: { formatter: t("alarm_report_acceptable_line") } },
        ] } }],
    }, { replaceMerge: ["series"] });
    plot.dataset.periods = String(rate.length);
    plot.dataset.alarms = String(r.alarms);
    plot.dataset.ready = "1";
    out.replaceChildren(...reportBody(ctx, r));
  };
  rangeSel.addEventListener("change", () => {
    st.range = rangeSel.value;
    load();
  });
  operatorsIn.addEventListener("change", () => {
    const n = Math.round(Number(operatorsIn.value));
    if (!(n >= 1 && n <= 1000)) {
      out.replaceChildren(errorBox(new Error(t("alarm_report_operators_invalid"))));
      return;
    }
    st.operators = n;
    load();
  });
  await load();
}

function reportBody(ctx, r) {
  const { t } = ctx;
  const tg = r.targets;
  const judge = (value, limit) => badge(value <= limit ? t("alarm_report_within") : t("alarm_report_over"), value <= limit ? "on" : "off");
  const tile = (id, n, label, verdict) => el("div", { class: "tile", "data-tile": id }, el("div", { class: "n" }, n), el("div", { class: "l" }, label, " ", verdict));
  const pair = (a) => [el("a", { href: `#/rules/${encodeURIComponent(a.rule_id)}` }, a.rule_id), " · ",
    el("a", { href: `#/devices/${encodeURIComponent(a.device)}` }, a.device)];
  const section = (id, title, items, columns) => el("div", { class: "card", "data-section": id }, el("h3", {}, title),
    items.length ? dataTable(columns, items) : el("p", { class: "muted" }, t("alarm_report_none")));
  return [
    el("div", { class: "tiles" },
      tile("alarms", String(r.alarms), t("alarm_report_alarms")),
      tile("average", String(r.per_operator_per_10min.average), t("alarm_report_average", { target: tg.average_per_10min_acceptable }),
        judge(r.per_operator_per_10min.average, tg.average_per_10min_max_manageable)),
      tile("peak", String(r.per_operator_per_10min.peak), t("alarm_report_peak")),
      tile("flood", `${r.flood.percent_in_flood}%`, t("alarm_report_in_flood", { target: tg.percent_periods_in_flood_max }),
        judge(r.flood.percent_in_flood, tg.percent_periods_in_flood_max)),
      tile("chattering", String(r.chattering.length), t("alarm_report_chattering"), judge(r.chattering.length, tg.chattering_max)),
      tile("stale", String(r.stale.length), t("alarm_report_stale"), judge(r.stale.length, tg.stale_max))),
    el("div", { class: "card", "data-section": "by-severity" }, el("h3", {}, t("alarm_report_by_severity")),
      el("div", { class: "toolbar" }, Object.entries(r.by_severity).map(([s, n]) => el("span", { "data-severity": s }, severityBadge(t, s), ` ${n}`)))),
    section("top", t("alarm_report_top"), r.top, [
      { label: t("alarm_rule"), value: (a) => el("span", {}, pair(a)) }, { label: t("alarm_report_count"), value: (a) => String(a.count) },
      { label: t("alarm_report_percent"), value: (a) => `${a.percent}%` }]),
    section("floods", t("alarm_report_floods", { threshold: r.flood.threshold }), r.flood.floods, [
      { label: t("from"), value: (f) => fmtTime(f.start) }, { label: t("to"), value: (f) => fmtTime(f.end) },
      { label: t("alarm_report_alarms"), value: (f) => String(f.alarms) }, { label: t("alarm_report_peak"), value: (f) => String(f.peak_per_10min) }]),
    section("chattering", t("alarm_report_chattering"), r.chattering, [
      { label: t("alarm_rule"), value: (a) => el("span", {}, pair(a)) }, { label: t("alarm_report_activations"), value: (a) => String(a.activations) },
      { label: t("alarm_report_max_per_minute"), value: (a) => String(a.max_per_minute) }]),
    section("stale", t("alarm_report_stale"), r.stale, [
      { label: t("alarm"), value: (a) => el("a", { href: alarmHref(a.alarm_id) }, a.alarm_id) },
      { label: t("alarm_rule"), value: (a) => el("span", {}, pair(a)) }, { label: t("alarm_since"), value: (a) => fmtTime(a.active_since) },
      { label: t("alarm_report_active_h"), value: (a) => (a.active_s / 3600).toFixed(1) }]),
  ];
}
