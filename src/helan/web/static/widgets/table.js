// Table: the latest value of each series (live), or their history by bucket; exports its own
// rows to CSV in the browser.
import { csvDownload, el, formatValue, label, loadSeries } from "./common.js";

export default {
  type: "table",
  defaults: () => ({ series: [{ device: "", metric: "" }], range: "1h", mode: "latest" }),
  async mount(node, widget, env) {
    const c = widget.config;
    const table = el("table", { class: "w-table" });
    const button = el("button", { class: "w-export", type: "button", "data-action": "export-csv", text: env.t("dash_export_csv") });
    node.append(el("div", { class: "w-table-wrap" }, table), button);
    let header = [];
    let rows = [];
    const render = () => {
      table.replaceChildren(
        el("thead", {}, el("tr", {}, ...header.map((h) => el("th", { text: h })))),
        el("tbody", {}, ...rows.map((r) => el("tr", {}, ...r.map((v, i) =>
          el("td", { text: i === 0 && typeof v === "number" ? new Date(v).toLocaleString() : formatValue(v) }))))),
      );
    };
    let off = () => {};
    if (c.mode === "history") {
      const loaded = await loadSeries(env, c);
      header = [env.t("dash_time"), ...c.series.map(label)];
      const byTs = new Map();
      c.series.forEach((s, i) => {
        for (const [t, v] of loaded.data(s)) {
          if (!byTs.has(t)) byTs.set(t, new Array(c.series.length).fill(null));
          byTs.get(t)[i] = v;
        }
      });
      rows = [...byTs].sort((a, b) => b[0] - a[0]).map(([t, vs]) => [t, ...vs]);
    } else {
      header = [env.t("dash_series"), env.t("dash_value"), env.t("dash_time")];
      const fill = () => {
        rows = c.series.map((s) => {
          const p = env.live.latest(s.device, s.metric);
          return [label(s), p ? p[1] : null, p ? new Date(p[0]).toLocaleString() : ""];
        });
        render();
      };
      fill();
      const a = env.live.subscribe("points", fill);
      const b = env.live.subscribe("snapshot", fill);
      off = () => { a(); b(); };
    }
    render();
    button.addEventListener("click", () => csvDownload(`${widget.title || widget.id}.csv`, header,
      rows.map((r) => (c.mode === "history" ? [new Date(r[0]).toISOString(), ...r.slice(1)] : r))));
    return { destroy() { off(); } };
  },
};
