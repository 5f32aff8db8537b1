// State timeline: each series' state over the range as coloured bands (last value per bucket),
// drawn with plain elements: a band is a width, not a chart.
import { PALETTE, el, label, loadSeries } from "./common.js";

export default {
  type: "state_timeline",
  defaults: () => ({ series: [{ device: "", metric: "" }], range: "24h", states: { 0: "stopped", 1: "running" } }),
  async mount(node, widget, env) {
    const c = { ...widget.config, fn: "last" };
    const loaded = await loadSeries(env, c);
    const start = loaded.end - loaded.span;
    const colour = (v) => PALETTE[Math.abs(Math.round(Number(v))) % PALETTE.length];
    const lanes = c.series.map((s) => {
      const points = loaded.data(s).filter(([, v]) => v !== null);
      const bands = points.map(([t, v], i) => {
        const next = i + 1 < points.length ? points[i + 1][0] : loaded.end;
        const name = c.states?.[String(Math.round(v))] ?? String(v);
        return el("span", { class: "w-band", title: `${name} · ${new Date(t).toLocaleString()}`,
          style: `left:${((t - start) / loaded.span) * 100}%;width:${((next - t) / loaded.span) * 100}%;background:${colour(v)}` });
      });
      return el("div", { class: "w-lane" }, el("div", { class: "w-lane-label", text: label(s) }), el("div", { class: "w-lane-bands" }, ...bands));
    });
    const legend = el("div", { class: "w-legend" }, ...Object.entries(c.states || {}).map(([v, name]) =>
      el("span", {}, el("i", { style: `background:${colour(v)}` }), document.createTextNode(name))));
    node.append(el("div", { class: "w-timeline" }, ...lanes, legend));
    return { destroy() {} };
  },
};
