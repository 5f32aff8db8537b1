// Value card: one metric's current value, large, coloured by thresholds, with its age (live).
import { el, formatValue } from "./common.js";

export default {
  type: "value",
  defaults: () => ({ device: "", metric: "", decimals: 1 }),
  async mount(node, widget, env) {
    const c = widget.config;
    const big = el("div", { class: "w-value-number", "data-role": "value" });
    const sub = el("div", { class: "w-value-sub" });
    node.append(el("div", { class: "w-value" }, big, sub));
    const show = (pair) => {
      big.textContent = pair ? `${formatValue(pair[1], c.decimals)}${c.unit ? ` ${c.unit}` : ""}` : "–";
      sub.textContent = `${c.device} · ${c.metric}`;
      const hit = [...(c.thresholds || [])].sort((a, b) => b.value - a.value)
        .find((t) => pair && typeof pair[1] === "number" && pair[1] >= t.value);
      big.style.color = hit ? hit.color : "";
    };
    show(env.live.latest(c.device, c.metric));
    const off = env.live.subscribe("points", (points) => {
      const p = points[c.device]?.[c.metric];
      if (p) show(p);
    });
    const offSnap = env.live.subscribe("snapshot", () => show(env.live.latest(c.device, c.metric)));
    return { destroy() { off(); offSnap(); } };
  },
};
