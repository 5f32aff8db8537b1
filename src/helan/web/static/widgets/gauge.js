// Gauge: one metric between min and max, coloured by thresholds (live).
import { chartOn } from "./common.js";

export default {
  type: "gauge",
  defaults: () => ({ device: "", metric: "", min: 0, max: 100 }),
  async mount(node, widget, env) {
    const c = widget.config;
    const { chart, dispose } = chartOn(env, node);
    const span = c.max - c.min || 1;
    const stops = [...(c.thresholds || [])].sort((a, b) => a.value - b.value)
      .map((t) => [Math.min(1, Math.max(0, (t.value - c.min) / span)), t.color]);
    const bands = stops.length ? [...stops.slice(1).map((s, i) => [s[0], stops[i][1]]), [1, stops[stops.length - 1][1]]] : [[1, "#3b82f6"]];
    let value = env.live.latest(c.device, c.metric)?.[1] ?? null;
    const draw = () => chart.setOption({
      animation: false,
      series: [{ type: "gauge", min: c.min, max: c.max, axisLine: { lineStyle: { width: 12, color: bands } },
        detail: { valueAnimation: false, formatter: (v) => (value === null ? "–" : `${Number(v).toFixed(1)} ${c.unit || ""}`), fontSize: 20 },
        data: [{ value: typeof value === "number" ? value : 0 }] }],
    });
    draw();
    const off = env.live.subscribe("points", (points) => {
      const p = points[c.device]?.[c.metric];
      if (p) { value = p[1]; draw(); }
    });
    // A widget mounted before the stream's first snapshot draws again when it comes.
    const offSnap = env.live.subscribe("snapshot", () => {
      value = env.live.latest(c.device, c.metric)?.[1] ?? value;
      draw();
    });
    return { destroy() { off(); offSnap(); dispose(); } };
  },
};
