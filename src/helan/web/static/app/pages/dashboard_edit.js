// The dashboard editor: widgets added, moved and resized on the grid (drag, or the arrow keys
// on a selected widget: Shift resizes), removed, configured in a form per widget type, and
// saved with the version the edit started from. The server checks the whole spec: a 422 puts
// each problem next to its input (and marks its widget), a 409 offers the newer version.
import { el, errorBox, field, select, showFieldErrors } from "../dom.js";
import { k } from "../i18n.js";
import { head } from "../ui.js";
import { WIDGETS } from "../../widgets/index.js";
import { RANGES } from "../../widgets/common.js";

const TYPE_LABELS = {
  timeseries: k("dash_type_timeseries"), gauge: k("dash_type_gauge"), value: k("dash_type_value"),
  table: k("dash_type_table"), state_timeline: k("dash_type_state_timeline"), bar: k("dash_type_bar"),
  alarm_list: k("dash_type_alarm_list"), text: k("dash_type_text"),
};
const SIZES = { timeseries: [6, 4], gauge: [3, 4], value: [3, 2], table: [4, 4], state_timeline: [6, 2],
  bar: [4, 4], alarm_list: [4, 4], text: [4, 2] };
const SERIES_TYPES = new Set(["timeseries", "bar", "table", "state_timeline"]);
const RANGE_LABELS = { "15m": k("range_15m"), "1h": k("range_1h"), "6h": k("range_6h"), "12h": k("dash_range_12h"),
  "24h": k("range_24h"), "7d": k("range_7d"), "30d": k("range_30d"), "90d": k("range_90d"), "1y": k("range_1y") };
const FN_LABELS = { avg: k("fn_avg"), min: k("fn_min"), max: k("fn_max"), sum: k("dash_fn_sum"), count: k("dash_fn_count"), last: k("fn_last") };
const FNS = { timeseries: ["avg", "min", "max", "last"], bar: ["avg", "min", "max", "sum", "count", "last"] };
const SEVERITIES = ["critical", "major", "minor", "warning", "info"];
const ROW_PX = 60; // .dash-grid's grid-auto-rows
const MAX_H = 48;

const overlap = (a, b) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

export default {
  title: k("dash_edit"),
  async render(root, ctx) {
    const { t } = ctx;
    const id = ctx.params.id;
    const self = ctx.path(`/dashboards/${encodeURIComponent(id)}`);
    const [first, devices, types] = await Promise.all([
      ctx.api.get(self),
      ctx.api.get(ctx.path("/devices?limit=1000&sort=id")).catch(() => ({ items: [] })),
      ctx.api.get(ctx.path("/device-types?limit=1000&sort=id")).catch(() => ({ items: [] })),
    ]);
    if (!ctx.alive()) return;
    const st = { version: 0, spec: null, selected: null, dirty: false };
    const metricNames = [...new Set(types.items.flatMap((x) => (x.properties || []).map((p) => p.name)))];
    const deviceList = el("datalist", { id: "dash-devices" }, devices.items.map((d) => el("option", { value: d.id }, d.name)));
    const metricList = el("datalist", { id: "dash-metrics" }, metricNames.map((m) => el("option", { value: m })));

    const titleInput = el("input", { name: "title", required: true, maxlength: 200, "data-loc": "title" });
    const descInput = el("input", { name: "description", maxlength: 2000, "data-loc": "description" });
    const columnsSel = select("columns", [["12", "12"], ["24", "24"]], "12", { "data-loc": "spec.columns" });
    const refreshInput = el("input", { type: "number", name: "refresh_s", min: 0, max: 3600, step: 1, "data-loc": "spec.refresh_s" });
    const meta = el("form", { class: "toolbar card", id: "dash-meta" }, field(t("dash_title"), titleInput),
      field(t("dash_description"), descInput), field(t("dash_columns"), columnsSel), field(t("dash_refresh_s"), refreshInput));
    const status = el("span", { class: "muted", "data-role": "save-status" });
    const errors = el("div", { "data-role": "save-error" });
    const typeSel = select("type", Object.entries(TYPE_LABELS).map(([v, key]) => [v, t(key)]), "timeseries", { "data-role": "new-type" });
    const grid = el("div", { class: "dash-grid edit-grid", "data-role": "edit-grid" });
    const panel = el("div", { class: "card props", "data-role": "props" });
    const saveButton = el("button", { type: "button", class: "primary", "data-action": "save" }, t("dash_save"));
    // Everything with a data-loc, so that a 422's details find their inputs.
    const form = el("div", { "data-role": "editor" }, meta, errors,
      el("div", { class: "editor" },
        el("div", {}, el("div", { class: "toolbar" }, field(t("dash_widget_type"), typeSel),
          el("button", { type: "button", "data-action": "add-widget", onclick: () => addWidget(typeSel.value) }, t("dash_add_widget")),
          el("span", { class: "muted" }, t("dash_edit_help"))), grid),
        panel));
    root.append(
      head(t("dash_edit_title", { title: first.title }), status,
        el("a", { class: "button", href: `#/dashboards/${encodeURIComponent(id)}`, "data-action": "view" }, t("dash_view")), saveButton),
      deviceList, metricList, form);

    function reset(d, keep = null) {
      st.version = d.version;
      st.spec = structuredClone(d.spec);
      st.selected = st.spec.widgets.some((w) => w.id === keep) ? keep : st.spec.widgets[0]?.id ?? null;
      titleInput.value = d.title;
      descInput.value = d.description || "";
      columnsSel.value = String(st.spec.columns);
      refreshInput.value = String(st.spec.refresh_s || 0);
      st.dirty = false;
      drawGrid();
      drawPanel();
    }

    const changed = () => {
      st.dirty = true;
      status.textContent = t("dash_unsaved");
      status.dataset.state = "dirty";
    };
    titleInput.addEventListener("input", changed);
    descInput.addEventListener("input", changed);
    refreshInput.addEventListener("change", () => {
      st.spec.refresh_s = Number(refreshInput.value || 0);
      changed();
    });
    columnsSel.addEventListener("change", () => {
      const to = Number(columnsSel.value);
      const scale = to / st.spec.columns;
      for (const w of st.spec.widgets) {
        w.x = Math.floor(w.x * scale);
        w.w = Math.max(1, Math.min(to - w.x, Math.round(w.w * scale)));
      }
      st.spec.columns = to;
      changed();
      drawGrid();
      drawPanel();
    });

    const widgetAt = (wid) => st.spec.widgets.find((w) => w.id === wid);
    const fits = (w, box) => box.x >= 0 && box.y >= 0 && box.w >= 1 && box.h >= 1 && box.h <= MAX_H
      && box.x + box.w <= st.spec.columns && st.spec.widgets.every((o) => o === w || !overlap(o, box));

    function freeSpot(w, h) {
      for (let y = 0; ; y += 1) {
        for (let x = 0; x + w <= st.spec.columns; x += 1) {
          if (fits(null, { x, y, w, h })) return { x, y };
        }
      }
    }

    function addWidget(type) {
      const config = WIDGETS[type].defaults();
      const device = devices.items[0]?.id || "";
      const metric = metricNames[0] || "";
      if (Array.isArray(config.series)) config.series = [{ device, metric }];
      if ("device" in config) Object.assign(config, { device, metric });
      let n = 1;
      while (widgetAt(`${type}-${n}`)) n += 1;
      const [w, h] = SIZES[type].map((v, i) => (i === 0 ? Math.min(v, st.spec.columns) : v));
      const widget = { id: `${type}-${n}`, type, title: t(TYPE_LABELS[type]), ...freeSpot(w, h), w, h, config };
      st.spec.widgets.push(widget);
      st.selected = widget.id;
      changed();
      drawGrid();
      drawPanel();
    }

    // The grid: one box per widget, placed as the view places it, with empty rows below to
    // drag into. Boxes that overlap or leave the grid are marked (the server refuses them).
    function place(box, w) {
      box.style.gridColumn = `${w.x + 1} / span ${w.w}`;
      box.style.gridRow = `${w.y + 1} / span ${w.h}`;
      box.querySelector(".w-pos").textContent = `${w.x},${w.y} · ${w.w}×${w.h}`;
    }
    function markClashes() {
      const ws = st.spec.widgets;
      for (const box of grid.querySelectorAll("[data-widget]")) {
        const w = widgetAt(box.dataset.widget);
        const bad = w.x + w.w > st.spec.columns || ws.some((o) => o !== w && overlap(o, w));
        box.classList.toggle("clash", bad);
      }
      const rows = Math.max(0, ...ws.map((w) => w.y + w.h)) + 4;
      grid.style.gridTemplateColumns = `repeat(${st.spec.columns}, minmax(0, 1fr))`;
      grid.style.gridTemplateRows = `repeat(${rows}, ${ROW_PX}px)`;
    }
    function drawGrid() {
      grid.replaceChildren(...st.spec.widgets.map((w) => {
        const box = el("section", { class: `widget edit-box${w.id === st.selected ? " selected" : ""}`, "data-widget": w.id, tabindex: 0 },
          el("div", { class: "w-title" }, el("b", {}, w.title || w.id), " ", el("span", { class: "muted" }, t(TYPE_LABELS[w.type]))),
          el("div", { class: "w-body muted" }, el("span", { class: "w-pos" })),
          el("span", { class: "resize-handle", "data-role": "resize", title: t("dash_resize") }));
        place(box, w);
        box.addEventListener("pointerdown", (e) => startDrag(e, w, box));
        box.addEventListener("keydown", (e) => keyMove(e, w, box));
        box.addEventListener("focus", () => select_(w.id));
        return box;
      }));
      markClashes();
    }
    function select_(wid) {
      if (st.selected === wid) return;
      st.selected = wid;
      for (const box of grid.querySelectorAll("[data-widget]")) box.classList.toggle("selected", box.dataset.widget === wid);
      drawPanel();
    }
    function moved(w, box) {
      place(box, w);
      markClashes();
      changed();
      for (const name of ["x", "y", "w", "h"]) {
        const input = panel.querySelector(`[name="${name}"]`);
        if (input) input.value = String(w[name]);
      }
    }

    function cell() {
      const style = getComputedStyle(grid);
      const gap = parseFloat(style.columnGap) || 0;
      const width = (grid.clientWidth - gap * (st.spec.columns - 1)) / st.spec.columns;
      return { dx: width + gap, dy: ROW_PX + (parseFloat(style.rowGap) || 0) };
    }
    function startDrag(e, w, box) {
      if (e.button !== 0) return;
      select_(w.id);
      const resizing = e.target?.dataset?.role === "resize";
      const from = { x: w.x, y: w.y, w: w.w, h: w.h };
      const size = cell();
      const x0 = e.clientX;
      const y0 = e.clientY;
      box.setPointerCapture(e.pointerId);
      box.classList.add("dragging");
      const move = (ev) => {
        const cx = Math.round((ev.clientX - x0) / size.dx);
        const cy = Math.round((ev.clientY - y0) / size.dy);
        const next = resizing ? { ...from, w: from.w + cx, h: from.h + cy } : { ...from, x: from.x + cx, y: from.y + cy };
        if ((next.x !== w.x || next.y !== w.y || next.w !== w.w || next.h !== w.h) && fits(w, next)) {
          Object.assign(w, next);
          moved(w, box);
        }
      };
      const up = () => {
        box.removeEventListener("pointermove", move);
        box.classList.remove("dragging");
      };
      box.addEventListener("pointermove", move);
      box.addEventListener("pointerup", up, { once: true });
      box.addEventListener("pointercancel", up, { once: true });
    }
    function keyMove(e, w, box) {
      const step = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[e.key];
      if (!step) return;
      e.preventDefault();
      const next = e.shiftKey ? { ...w, w: w.w + step[0], h: w.h + step[1] } : { ...w, x: w.x + step[0], y: w.y + step[1] };
      if (fits(w, next)) {
        Object.assign(w, { x: next.x, y: next.y, w: next.w, h: next.h });
        moved(w, box);
      }
    }

    // The form of the selected widget; every input names its place in the spec (data-loc) so
    // that the server's 422 lands next to it.
    function drawPanel() {
      const i = st.spec.widgets.findIndex((w) => w.id === st.selected);
      if (i < 0) {
        panel.replaceChildren(el("p", { class: "muted", "data-role": "no-selection" }, t(st.spec.widgets.length ? k("dash_select_widget") : k("dash_no_widgets_yet"))));
        return;
      }
      const w = st.spec.widgets[i];
      const at = `spec.widgets.${i}`;
      const c = w.config;
      const redrawBox = () => {
        const box = grid.querySelector(`[data-widget="${CSS.escape(w.id)}"]`);
        if (box) {
          box.querySelector(".w-title b").textContent = w.title || w.id;
          place(box, w);
        }
        markClashes();
      };
      const onChange = (input, apply) => {
        input.addEventListener("change", () => {
          apply(input);
          changed();
          redrawBox();
        });
        return input;
      };
      // An optional setting left empty is left out (the server's default), never sent as "".
      const text = (obj, key, loc, attrs = {}, optional = false) => onChange(el("input", { name: key, value: obj[key] ?? "", "data-loc": loc, ...attrs }), (inp) => {
        if (inp.value === "" && optional) delete obj[key];
        else obj[key] = inp.value;
      });
      const number = (obj, key, loc, attrs = {}) => onChange(el("input", { type: "number", name: key, value: obj[key] ?? "", "data-loc": loc, ...attrs }), (inp) => {
        obj[key] = inp.value === "" ? null : Number(inp.value);
      });
      const choice = (obj, key, loc, values, labels) => onChange(select(key, values.map((v) => [v, labels ? t(labels[v]) : v]), obj[key], { "data-loc": loc }), (inp) => {
        obj[key] = inp.value;
      });
      const check = (obj, key, loc) => el("label", { class: "inline" }, onChange(el("input", { type: "checkbox", name: key, checked: Boolean(obj[key]), "data-loc": loc }), (inp) => {
        obj[key] = inp.checked;
      }), t(key === "stacked" ? k("dash_stacked") : k("dash_horizontal")));

      const parts = [
        el("h3", {}, t(TYPE_LABELS[w.type]), " ", el("span", { class: "muted" }, w.id)),
        field(t("dash_widget_title"), onChange(el("input", { name: "widget-title", value: w.title || "", maxlength: 200, "data-loc": `${at}.title` }), (inp) => {
          w.title = inp.value;
        })),
        el("div", { class: "toolbar" }, ["x", "y", "w", "h"].map((key) => field(key, number(w, key, `${at}.${key}`, { min: key === "w" || key === "h" ? 1 : 0, step: 1, class: "small" })))),
      ];
      if (SERIES_TYPES.has(w.type)) parts.push(seriesEditor(w, `${at}.config`), field(t("range"), choice(c, "range", `${at}.config.range`, Object.keys(RANGES), RANGE_LABELS)),
        field(t("unit"), text(c, "unit", `${at}.config.unit`, { maxlength: 32 }, true)));
      if (FNS[w.type]) parts.push(field(t("aggregate"), choice(c, "fn", `${at}.config.fn`, FNS[w.type], FN_LABELS)));
      if (w.type === "timeseries") parts.push(check(c, "stacked", `${at}.config.stacked`));
      if (w.type === "bar") parts.push(check(c, "horizontal", `${at}.config.horizontal`));
      if (w.type === "table") parts.push(field(t("dash_table_mode"), choice(c, "mode", `${at}.config.mode`, ["latest", "history"], { latest: k("dash_mode_latest"), history: k("dash_mode_history") })));
      if (w.type === "state_timeline") parts.push(field(t("dash_states"), pairs(c, "states", `${at}.config.states`, "=")));
      if (w.type === "gauge" || w.type === "value") {
        parts.push(field(t("device"), text(c, "device", `${at}.config.device`, { list: "dash-devices" })),
          field(t("metric"), text(c, "metric", `${at}.config.metric`, { list: "dash-metrics" })),
          field(t("unit"), text(c, "unit", `${at}.config.unit`, { maxlength: 32 }, true)));
        if (w.type === "gauge") parts.push(field(t("min"), number(c, "min", `${at}.config.min`, { step: "any" })), field(t("max"), number(c, "max", `${at}.config.max`, { step: "any" })));
        else parts.push(field(t("dash_decimals"), number(c, "decimals", `${at}.config.decimals`, { min: 0, max: 6, step: 1 })));
        parts.push(field(t("dash_thresholds"), pairs(c, "thresholds", `${at}.config.thresholds`, " ")));
      }
      if (w.type === "alarm_list") {
        parts.push(el("fieldset", { "data-loc": `${at}.config.severities` }, el("legend", {}, t("dash_severities")),
          SEVERITIES.map((s) => el("label", { class: "inline" }, onChange(el("input", { type: "checkbox", name: `sev-${s}`, checked: c.severities.includes(s) }), (inp) => {
            c.severities = inp.checked ? [...new Set([...c.severities, s])] : c.severities.filter((x) => x !== s);
          }), s))),
        field(t("dash_alarm_devices"), onChange(el("input", { name: "devices", value: c.devices.join(", "), "data-loc": `${at}.config.devices` }), (inp) => {
          c.devices = inp.value.split(",").map((s) => s.trim()).filter(Boolean);
        })),
        field(t("dash_limit"), number(c, "limit", `${at}.config.limit`, { min: 1, max: 200, step: 1 })));
      }
      if (w.type === "text") {
        parts.push(field(t("dash_text"), onChange(el("textarea", { name: "text", maxlength: 10000, rows: 5, "data-loc": `${at}.config.text` }, c.text), (inp) => {
          c.text = inp.value;
        })), field(t("dash_text_size"), choice(c, "size", `${at}.config.size`, ["s", "m", "l", "xl"])));
      }
      parts.push(el("div", { class: "toolbar" }, el("button", { type: "button", class: "danger", "data-action": "remove-widget", onclick: () => {
        st.spec.widgets = st.spec.widgets.filter((x) => x !== w);
        st.selected = st.spec.widgets[Math.min(i, st.spec.widgets.length - 1)]?.id ?? null;
        changed();
        drawGrid();
        drawPanel();
      } }, t("dash_remove_widget"))));
      panel.replaceChildren(el("form", { "data-widget-form": w.id, onsubmit: (e) => e.preventDefault() }, parts));

      function seriesEditor(widget, loc) {
        const rows = el("div", { "data-role": "series" });
        const draw = () => rows.replaceChildren(...widget.config.series.map((s, j) => el("div", { class: "model-row", "data-series": j },
          text(s, "device", `${loc}.series.${j}.device`, { list: "dash-devices", placeholder: t("device") }),
          text(s, "metric", `${loc}.series.${j}.metric`, { list: "dash-metrics", placeholder: t("metric") }),
          text(s, "label", `${loc}.series.${j}.label`, { placeholder: t("dash_label"), maxlength: 200 }, true),
          el("button", { type: "button", "data-action": "remove-series", disabled: widget.config.series.length <= 1, onclick: () => {
            widget.config.series.splice(j, 1);
            changed();
            draw();
          } }, "×"))), el("button", { type: "button", "data-action": "add-series", onclick: () => {
          const last = widget.config.series[widget.config.series.length - 1] || {};
          widget.config.series.push({ device: last.device || "", metric: last.metric || "" });
          changed();
          draw();
        } }, t("dash_add_series")));
        draw();
        return el("div", { class: "field", "data-loc": `${loc}.series` }, el("span", {}, t("dash_series")), rows);
      }

      // thresholds ("80 #dc2626" per line) or states ("1=running" per line) as text lines.
      function pairs(obj, key, loc, sep) {
        const thresholds = key === "thresholds";
        const lines = thresholds ? (obj[key] || []).map((x) => `${x.value} ${x.color}`) : Object.entries(obj[key] || {}).map(([v, name]) => `${v}=${name}`);
        return onChange(el("textarea", { name: key, rows: 3, "data-loc": loc, placeholder: thresholds ? "80 #dc2626" : "1=running" }, lines.join("\n")), (inp) => {
          const rows = inp.value.split("\n").map((line) => line.trim()).filter(Boolean).map((line) => {
            const cut = line.indexOf(sep);
            return cut < 0 ? [line, ""] : [line.slice(0, cut).trim(), line.slice(cut + 1).trim()];
          });
          obj[key] = thresholds ? rows.map(([v, color]) => ({ value: v === "" || Number.isNaN(Number(v)) ? v : Number(v), color }))
            : Object.fromEntries(rows);
        });
      }
    }

    async function save() {
      errors.replaceChildren();
      showFieldErrors(form, { details: [] }); // clears the marks of the last refusal
      const body = { title: titleInput.value.trim(), description: descInput.value.trim() || null, spec: st.spec, version: st.version };
      saveButton.disabled = true;
      try {
        const saved = await ctx.api.put(self, body);
        if (!ctx.alive()) return;
        reset(saved, st.selected);
        status.textContent = t("dash_saved", { version: saved.version });
        status.dataset.state = "saved";
      } catch (err) {
        showError(err);
      } finally {
        saveButton.disabled = false;
      }
    }

    function showError(err) {
      errors.replaceChildren(errorBox(err));
      status.dataset.state = "error";
      if (err.status === 409) {
        errors.append(el("p", {}, t("dash_stale"), " ", el("button", { type: "button", "data-action": "load-latest", onclick: async () => {
          try {
            reset(await ctx.api.get(self));
            errors.replaceChildren();
            status.textContent = "";
          } catch (e) {
            errors.replaceChildren(errorBox(e));
          }
        } }, t("dash_load_latest"))));
        return;
      }
      // The first widget named is selected, so its form shows the problem by the input.
      const bad = (err.details || []).map((d) => d.loc || []).filter((loc) => loc[0] === "spec" && loc[1] === "widgets" && Number.isInteger(loc[2]))
        .map((loc) => st.spec.widgets[loc[2]]).filter(Boolean);
      if (bad.length) select_(bad[0].id);
      showFieldErrors(form, err);
      for (const w of bad) grid.querySelector(`[data-widget="${CSS.escape(w.id)}"]`)?.classList.add("invalid");
    }

    saveButton.addEventListener("click", save);
    reset(first);
  },
};
