// The console's chart library: the vendored Apache ECharts (static/vendor/echarts, loaded by
// index.html as a classic script) with the console's CJK-capable font on every chart.
export const FONT = '"WenQuanYi Micro Hei", "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif';

function make(dark) {
  return {
    dark,
    create(node) {
      const echarts = globalThis.echarts;
      if (!echarts) throw new Error("ECharts is not loaded");
      const chart = echarts.init(node, dark ? "dark" : null, { renderer: "canvas" });
      chart.setOption({ textStyle: { fontFamily: FONT }, backgroundColor: "transparent" });
      return chart;
    },
  };
}

export const charts = make(false);
export const darkCharts = make(true);
