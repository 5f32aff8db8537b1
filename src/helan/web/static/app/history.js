// A device's history chart: several metrics on one time axis (one y axis per unit, from the
// thing model), a range from 15 minutes to a year or custom, and the bucket of the query API's
// roll-ups chosen from the range (~300 points), so a year reads day buckets, never raw points.
// Zooming in re-queries the window at its own finer bucket.
import { RANGES, bucketFor } from "../widgets/common.js";
import { el, errorBox, field, select } from "./dom.js";
import { k } from "./i18n.js";

const RANGE_LABELS = { "15m": k("range_15m"), "1h": k("range_1h"), "6h": k("range_6h"), "24h": k("range_24h"),
  "7d": k("range_7d"), "30d": k("range_30d"), "90d": k("range_90d"), "1y": k("range_1y") };
const PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#9333ea", "#0891b2", "#db2777", "#64748b"];

function localInput(ms) {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
}

// metrics: [{name, unit}]; returns {node, state, load()}.
export function historyChart(ctx, { device, metrics, initialRange = "24h", selected }) {
  const { t } = ctx;
  const st = { range: initialRange, start: null, end: null, fn: "avg", metrics: new Set(selected || metrics.slice(0, 3).map((m) => m.name)) };
  const units = new Map(metrics.map((m) => [m.name, m.unit || ""]));
  const rangeSel = select("range", [...Object.entries(RANGE_LABELS).map(([r, key]) => [r, t(key)]), ["custom", t("range_custom")]], st.range, { "data-role": "range" });
  const fnSel = select("fn", [["avg", t("fn_avg")], ["min", t("fn_min")], ["max", t("fn_max")], ["last", t("fn_last")]], st.fn, { "data-role": "fn" });
  const from = el("input", { type: "datetime-local", name: "from", "data-role": "from" });
  const to = el("input", { type: "datetime-local", name: "to", "data-role": "to" });
  const apply = el("button", { type: "button", "data-action": "apply-range" }, t("apply"));
  const custom = el("span", { class: "inline", hidden: true }, field(t("from"), from), field(t("to"), to), apply);
  const reset = el("button", { type: "button", "data-action": "reset-zoom", hidden: true }, t("reset_zoom"));
  const boxes = el("div", { class: "toolbar metrics" }, metrics.map((m) => el("label", { class: "inline" },
    el("input", { type: "checkbox", value: m.name, checked: st.metrics.has(m.name), "data-metric": m.name }), m.unit ? `${m.name} (${m.unit})` : m.name)));
  const info = el("span", { class: "muted", "data-role": "bucket" });
  const exportCsv = el("button", { type: "button", "data-action": "export-csv" }, t("export_csv"));
  const exportXlsx = el("button", { type: "button", "data-action": "export-xlsx" }, t("export_xlsx"));
  const error = el("div");
  const plot = el("div", { class: "chart", "data-role": "history-chart" });
  const node = el("div", { class: "history" }, el("div", { class: "toolbar" }, field(t("range"), rangeSel), custom, field(t("aggregate"), fnSel), reset, info,
    exportCsv, exportXlsx), boxes, error, plot);
  let chart = null;
  let seq = 0;
  let zoomed = null;

  const span = () => {
    if (zoomed) return zoomed;
    if (st.range === "custom" && st.start !== null && st.end !== null) return { start: st.start, end: st.end };
    const end = Date.now();
    return { start: end - RANGES[st.range], end };
  };

  const exportPath = (format) => {
    const { start, end } = span();
    const q = new URLSearchParams({ metrics: [...st.metrics].join(","), format, from: String(start), to: String(end) });
    if (end - start > RANGES["1h"]) {
      q.set("interval", bucketFor(end - start));
      q.set("fn", st.fn);
    }
    return ctx.path(`/devices/${encodeURIComponent(device)}/telemetry:export?${q}`);
  };
  const doExport = async (format) => {
    try {
      await ctx.api.download(exportPath(format), `${device}.${format}`);
    } catch (err) {
      error.replaceChildren(errorBox(err));
    }
  };
  exportCsv.addEventListener("click", () => doExport("csv"));
  exportXlsx.addEventListener("click", () => doExport("xlsx"));

  async function load() {
    const mine = ++seq;
    error.replaceChildren();
    const { start, end } = span();
    const bucket = bucketFor(end - start);
    info.textContent = t("bucket_is", { bucket });
    plot.dataset.bucket = bucket;
    plot.dataset.ready = "";
    const names = [...st.metrics];
    let body = { series: {} };
    if (names.length) {
      try {
        const q = new URLSearchParams({ metrics: names.join(","), bucket, fn: st.fn, start: String(start), end: String(end) });
        body = await ctx.api.get(ctx.path(`/devices/${encodeURIComponent(device)}/telemetry?${q}`));
      } catch (err) {
        if (mine === seq) error.replaceChildren(errorBox(err));
        return;
      }
    }
    if (mine !== seq || !ctx.alive()) return;
    if (!chart) {
      chart = ctx.charts.create(plot);
      const resize = new ResizeObserver(() => chart.resize());
      resize.observe(plot);
      ctx.onCleanup(() => {
        resize.disconnect();
        chart.dispose();
      });
      chart.on("datazoom", () => onZoom());
    }
    const unitList = [...new Set(names.map((n) => units.get(n) || ""))];
    const yAxis = (unitList.length ? unitList : [""]).map((u, i) => ({ type: "value", name: u, scale: true,
      position: i % 2 ? "right" : "left", offset: Math.floor(i / 2) * 48, splitLine: { show: i === 0 } }));
    let points = 0;
    const series = names.map((n) => {
      const data = body.series?.[n] || [];
      points += data.length;
      const unit = units.get(n) || "";
      return { name: unit ? `${n} (${unit})` : n, type: "line", showSymbol: data.length < 60, connectNulls: false,
        yAxisIndex: Math.max(0, unitList.indexOf(unit)), data };
    });
    plot.dataset.points = String(points);
    chart.setOption({
      color: PALETTE,
      animation: false,
      grid: { left: 56, right: 56 + Math.max(0, Math.floor((unitList.length - 1) / 2)) * 48, top: 36, bottom: 64 },
      tooltip: { trigger: "axis" },
      legend: { top: 0, type: "scroll" },
      xAxis: { type: "time", min: start, max: end },
      yAxis,
      dataZoom: [{ type: "inside", start: 0, end: 100 }, { type: "slider", start: 0, end: 100, bottom: 8 }],
      series,
    }, { replaceMerge: ["series", "yAxis"] });
    plot.dataset.ready = "1";
  }

  let zoomTimer = null;
  function onZoom() {
    clearTimeout(zoomTimer);
    zoomTimer = setTimeout(() => {
      const opt = chart.getOption().dataZoom?.[0];
      if (!opt) return;
      const { start, end } = span();
      const a = start + ((end - start) * (opt.start ?? 0)) / 100;
      const b = start + ((end - start) * (opt.end ?? 100)) / 100;
      if (b - a < (end - start) * 0.9 && b - a > 1000) {
        zoomed = { start: Math.round(a), end: Math.round(b) };
        reset.hidden = false;
        load();
      }
    }, 400);
  }
  ctx.onCleanup(() => clearTimeout(zoomTimer));

  reset.addEventListener("click", () => {
    zoomed = null;
    reset.hidden = true;
    load();
  });
  rangeSel.addEventListener("change", () => {
    st.range = rangeSel.value;
    zoomed = null;
    reset.hidden = true;
    custom.hidden = st.range !== "custom";
    if (st.range === "custom") {
      const { start, end } = { start: Date.now() - RANGES["24h"], end: Date.now() };
      if (!from.value) from.value = localInput(start);
      if (!to.value) to.value = localInput(end);
      return;
    }
    load();
  });
  apply.addEventListener("click", () => {
    const a = new Date(from.value).getTime();
    const b = new Date(to.value).getTime();
    if (!(a < b)) {
      error.replaceChildren(errorBox(new Error(t("range_invalid"))));
      return;
    }
    st.start = a;
    st.end = b;
    zoomed = null;
    load();
  });
  fnSel.addEventListener("change", () => {
    st.fn = fnSel.value;
    load();
  });
  boxes.addEventListener("change", (e) => {
    const name = e.target?.dataset?.metric;
    if (!name) return;
    if (e.target.checked) st.metrics.add(name);
    else st.metrics.delete(name);
    load();
  });
  return { node, state: st, load };
}
