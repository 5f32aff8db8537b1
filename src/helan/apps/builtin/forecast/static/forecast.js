// Load forecast page: per meter, the last day's 15-minute load, the forecast written for those
// slots, and the forecast for the next 24 hours, as one chart; the day's mean absolute error.
// render(root, {tenant, fetchJson, t}) is called by the console with the tenant in view.
const SVG = "http://www.w3.org/2000/svg";
const COLOURS = { actual: "#1f6feb", written: "#d29922", ahead: "#8250df" };

function line(svg, points, scale, colour, dashed) {
  if (!points.length) return;
  const path = document.createElementNS(SVG, "polyline");
  path.setAttribute("points", points.map(([ts, v]) => `${scale.x(ts)},${scale.y(v)}`).join(" "));
  path.setAttribute("fill", "none");
  path.setAttribute("stroke", colour);
  path.setAttribute("stroke-width", "1.5");
  if (dashed) path.setAttribute("stroke-dasharray", "4 3");
  svg.appendChild(path);
}

function chart(meter) {
  const all = [...meter.actual, ...meter.forecast_written, ...meter.forecast_ahead];
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 600 160");
  svg.setAttribute("width", "600");
  svg.setAttribute("height", "160");
  if (!all.length) return svg;
  const t0 = Math.min(...all.map(([ts]) => ts));
  const t1 = Math.max(...all.map(([ts]) => ts)) || t0 + 1;
  const top = Math.max(...all.map(([, v]) => v)) || 1;
  const scale = {
    x: (ts) => (((ts - t0) / Math.max(1, t1 - t0)) * 590 + 5).toFixed(1),
    y: (v) => (155 - (v / top) * 145).toFixed(1),
  };
  line(svg, meter.actual, scale, COLOURS.actual, false);
  line(svg, meter.forecast_written, scale, COLOURS.written, false);
  line(svg, meter.forecast_ahead, scale, COLOURS.ahead, true);
  return svg;
}

function dayError(meter) {
  const actual = new Map(meter.actual);
  const errors = meter.forecast_written.filter(([ts]) => actual.has(ts)).map(([ts, v]) => Math.abs(v - actual.get(ts)));
  return errors.length ? (errors.reduce((a, b) => a + b, 0) / errors.length).toFixed(2) : "–";
}

export async function render(root, { tenant, fetchJson, t }) {
  const data = await fetchJson(`/api/v1/apps/forecast/tenants/${encodeURIComponent(tenant)}/meters`);
  const parts = [];
  const legend = document.createElement("p");
  legend.textContent = data.ready
    ? `${t("Actual")} (${COLOURS.actual}) · ${t("Forecast written")} (${COLOURS.written}) · ${t("Next 24 hours")} (${COLOURS.ahead}), kW`
    : t("Training the model…");
  parts.push(legend);
  const table = document.createElement("table");
  const head = table.createTHead().insertRow();
  for (const label of [t("Device"), t("Mean absolute error, last day (kW)"), t("Chart")]) {
    const th = document.createElement("th");
    th.textContent = label;
    head.appendChild(th);
  }
  const body = table.createTBody();
  for (const meter of data.meters) {
    const row = body.insertRow();
    row.insertCell().textContent = meter.device;
    row.insertCell().textContent = dayError(meter);
    row.insertCell().appendChild(chart(meter));
  }
  parts.push(table);
  root.replaceChildren(...parts);
}
