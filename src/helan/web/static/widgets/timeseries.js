// Time series: several metrics over a range (roll-ups chosen from the range), live points
// appended while the range is short enough for them to matter.
import { PALETTE, chartOn, label, loadSeries } from "./common.js";

export default {
  type: "timeseries",
  defaults: () => ({ series: [{ device: "", metric: "" }], range: "1h", fn: "avg" }),
  async mount(node, widget, env) {
    const { config } = widget;
    const { chart, dispose } = chartOn(env, node);
    const loaded = await loadSeries(env, config);
    const data = config.series.map((s) => loaded.data(s).map(([t, v]) => [t, v]));
    const draw = () => chart.setOption({
      color: PALETTE,
      animation: false,
      grid: { left: 48, right: 16, top: 28, bottom: 28 },
      tooltip: { trigger: "axis" },
      legend: { top: 0, textStyle: { color: env.dark ? "#e2e8f0" : "#334155" } },
      xAxis: { type: "time" },
      yAxis: { type: "value", name: config.unit || "", scale: true },
      dataZoom: [{ type: "inside" }],
      series: config.series.map((s, i) => ({ name: label(s), type: "line", showSymbol: false,
        stack: config.stacked ? "all" : undefined, areaStyle: config.stacked ? {} : undefined,
        data: data[i] })),
    });
    draw();
    const off = loaded.span <= 864e5 ? env.live.subscribe("points", (points) => {
      let changed = false;
      config.series.forEach((s, i) => {
        const p = points[s.device]?.[s.metric];
        if (p && typeof p[1] === "number") {
          data[i].push(p);
          const from = Date.now() - loaded.span;
          while (data[i].length && data[i][0][0] < from) data[i].shift();
          changed = true;
        }
      });
      if (changed) chart.setOption({ series: data.map((d) => ({ data: d })) });
    }) : () => {};
    return { destroy() { off(); dispose(); } };
  },
};
