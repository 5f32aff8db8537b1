// Bar chart: the current value of each series side by side (live).
import { PALETTE, chartOn, label } from "./common.js";

export default {
  type: "bar",
  defaults: () => ({ series: [{ device: "", metric: "" }], range: "1h", fn: "last" }),
  async mount(node, widget, env) {
    const { config } = widget;
    const { chart, dispose } = chartOn(env, node);
    const values = config.series.map((s) => env.live.latest(s.device, s.metric)?.[1] ?? null);
    const names = config.series.map(label);
    const axis = { type: "category", data: names, axisLabel: { interval: 0 } };
    const val = { type: "value", name: config.unit || "" };
    const draw = () => chart.setOption({
      color: PALETTE, animation: false, grid: { left: 56, right: 16, top: 24, bottom: 32 },
      tooltip: {}, xAxis: config.horizontal ? val : axis, yAxis: config.horizontal ? axis : val,
      series: [{ type: "bar", data: values.map((v, i) => ({ value: v, itemStyle: { color: PALETTE[i % PALETTE.length] } })) }],
    });
    draw();
    const off = env.live.subscribe("points", (points) => {
      let changed = false;
      config.series.forEach((s, i) => {
        const p = points[s.device]?.[s.metric];
        if (p) { values[i] = p[1]; changed = true; }
      });
      if (changed) draw();
    });
    // A widget mounted before the stream's first snapshot draws again when it comes.
    const offSnap = env.live.subscribe("snapshot", () => {
      config.series.forEach((s, i) => {
        values[i] = env.live.latest(s.device, s.metric)?.[1] ?? values[i];
      });
      draw();
    });
    return { destroy() { off(); offSnap(); dispose(); } };
  },
};
