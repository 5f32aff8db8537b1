// The console's chart library: the vendored Apache ECharts (static/vendor/echarts, loaded by
// index.html as a classic script) with the console's CJK-capable font stack (app.css --font) on
// every chart, so canvas text falls back the way the page's text does.
function font() {
  return getComputedStyle(document.documentElement).getPropertyValue("--font").trim() || "sans-serif";
}

function make(dark) {
  return {
    dark,
    create(node) {
      const echarts = globalThis.echarts;
      if (!echarts) throw new Error("ECharts is not loaded");
      const chart = echarts.init(node, dark ? "dark" : null, { renderer: "canvas" });
      chart.setOption({ textStyle: { fontFamily: font() }, backgroundColor: "transparent" });
      return chart;
    },
  };
}

export const charts = make(false);
export const darkCharts = make(true);
