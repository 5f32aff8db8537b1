// Schedule page: the current plan as a Gantt chart (ECharts custom series, one row per
// machine), late orders, and drag-to-move: drop an operation on another machine or time, the
// API checks the move (machine allowed and free, job order kept, machine not down) and, when
// it fits, it can be applied (the operation is pinned there and the rest replanned).
import { node, when, words } from "./i18n.js";

const base = (tenant) => `/api/v1/apps/scheduling/tenants/${encodeURIComponent(tenant)}`;

export async function render(root, { tenant, fetchJson, sendJson, lang }) {
  const w = words(lang);
  let plan;
  try {
    plan = await fetchJson(`${base(tenant)}/plan`);
  } catch (err) {
    if (err && err.status === 404) {
      const again = node("button", { type: "button", on: { click: async () => { await sendJson("POST", `${base(tenant)}/plan`, {}); render(root, { tenant, fetchJson, sendJson, lang }); } } }, w("replan"));
      root.replaceChildren(node("p", {}, w("no_plan")), again);
      return;
    }
    throw err;
  }
  const machines = [...new Set(plan.assignments.map((a) => a.machine))].sort();
  const summary = node("p", { "data-plan-version": plan.version },
    `${w("plan_version")} ${plan.version} · ${w("reason")}: ${plan.reason} · ${w("solver")}: ${plan.status} · ${w("makespan")}: ${plan.makespan ?? "–"}`);
  const downs = Object.entries(plan.down || {}).map(([m, until]) => node("li", {}, `${m} ${w("down")} ${when(until, lang)}`));
  const late = (plan.late || []).map((x) => node("li", {}, `${w("late")}: ${x.order} (${x.job}) +${x.late_by_min} min`));
  const box = node("div", { "data-gantt": "" });
  box.style.height = "420px"; // CSSOM, not a style attribute: the CSP allows no inline styles
  box.style.width = "100%";
  const result = node("div", { role: "status", "data-move-result": "" });
  const replan = node("button", { type: "button", on: { click: async () => { await sendJson("POST", `${base(tenant)}/plan`, {}); render(root, { tenant, fetchJson, sendJson, lang }); } } }, w("replan"));
  root.replaceChildren(summary, node("ul", {}, ...downs, ...late), node("p", {}, w("drag_hint")), box, result, replan);

  const echarts = globalThis.echarts;
  if (!echarts) return;
  const chart = echarts.init(box);
  const colour = (order) => `hsl(${[...order].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 360, 7)}, 55%, 55%)`;
  const data = plan.assignments.map((a) => ({
    value: [machines.indexOf(a.machine), a.start_ms, a.end_ms, a.job, a.op, a.state],
    itemStyle: { color: a.state === "done" ? "#aaa" : colour(a.order) },
  }));
  chart.setOption({
    tooltip: { formatter: (p) => `${p.value[3]} / ${p.value[4]}<br>${when(p.value[1], lang)} – ${when(p.value[2], lang)}` },
    grid: { left: 90, right: 20, top: 20, bottom: 50 },
    xAxis: { type: "time" },
    yAxis: { type: "category", data: machines },
    dataZoom: [{ type: "inside", filterMode: "weakFilter" }, { type: "slider", filterMode: "weakFilter" }],
    series: [{
      type: "custom",
      encode: { x: [1, 2], y: 0 },
      data,
      renderItem: (params, api) => {
        const start = api.coord([api.value(1), api.value(0)]);
        const end = api.coord([api.value(2), api.value(0)]);
        const h = api.size([0, 1])[1] * 0.6;
        return { type: "rect", shape: { x: start[0], y: start[1] - h / 2, width: Math.max(2, end[0] - start[0]), height: h }, style: api.style() };
      },
    }],
  });
  let dragged = null;
  chart.on("mousedown", (p) => { if (p.value && p.value[5] === "planned") dragged = p.value; });
  chart.getZr().on("mouseup", async (e) => {
    if (!dragged) return;
    const moved = dragged;
    dragged = null;
    const [x, y] = chart.convertFromPixel({ seriesIndex: 0 }, [e.offsetX, e.offsetY]);
    const machine = machines[Math.round(y)];
    if (machine === undefined || !Number.isFinite(x)) return;
    const move = { job: moved[3], op: moved[4], machine, start_ms: Math.round(x) };
    const check = await sendJson("POST", `${base(tenant)}/plan/move`, move);
    result.replaceChildren(node("strong", {}, check.feasible ? w("feasible") : w("infeasible")),
      ` ${move.job}/${move.op} → ${machine} ${when(move.start_ms, lang)} `, ...check.reasons.map((r) => node("div", {}, r)));
    if (check.feasible) {
      result.append(node("button", { type: "button", on: { click: async () => {
        await sendJson("POST", `${base(tenant)}/plan/move`, { ...move, apply: true });
        render(root, { tenant, fetchJson, sendJson, lang });
      } } }, w("apply")));
    }
  });
}
