// Energy centre page: today's (or this month's) report over the meter hierarchy: kWh, time-of-use
// cost, CO2 with the factor's year and source, power factor, kWh per part, and the EnPI against
// the stated baseline; refreshes every minute while shown.
const L = {
  en: { node: "Node", kwh: "kWh", cost: "Cost", co2: "CO2 (kg)", pf: "Power factor", parts: "Parts",
        intensity: "kWh / part", enpi: "EnPI (measured / expected)", baseline: "Baseline", day: "Today",
        month: "This month", factor: "Emission factor", period: "Baseline period", bands: "By band (kWh)" },
  "zh-CN": { node: "节点", kwh: "电量 kWh", cost: "电费", co2: "碳排放 (kg)", pf: "功率因数", parts: "产量",
        intensity: "单位产品电耗", enpi: "能源绩效参数 (实测/预期)", baseline: "基准", day: "今日",
        month: "本月", factor: "排放因子", period: "基准期", bands: "分时电量 (kWh)" },
};
const num = (v, d = 1) => (v === null || v === undefined || Number.isNaN(v) ? "–" : Number(v).toFixed(d));

function table(head) {
  const t = document.createElement("table");
  const tr = t.createTHead().insertRow();
  for (const h of head) { const th = document.createElement("th"); th.textContent = h; tr.appendChild(th); }
  t.createTBody();
  return t;
}

function draw(root, data, t) {
  const head = document.createElement("p");
  const f = data.emission_factor;
  head.textContent = `${data.start} – ${data.end} · ${t.factor}: ${f.value_kg_per_kwh} kgCO2/kWh (${f.region} ${f.year}, ${f.source}) · ${t.period}: ${data.baseline_period.join(" – ")}`;
  const nodes = table([t.node, t.kwh, t.cost, t.co2, t.pf, t.parts, t.intensity, t.enpi, t.baseline, t.bands]);
  for (const n of data.nodes) {
    const r = nodes.tBodies[0].insertRow();
    r.dataset.node = n.id;
    const bands = Object.entries(n.tariff.kwh).map(([b, v]) => `${b} ${num(v, 0)}`).join(" · ");
    const base = n.baseline ? (n.baseline.status === "ok" ? `R² ${num(n.baseline.r2, 2)}, n ${n.baseline.n}` : n.baseline.status) : "–";
    for (const v of [`${"· ".repeat(n.parent ? 1 : 0)}${n.name}`, num(n.kwh), `${num(n.tariff.total_cost, 2)} ${n.tariff.currency}`,
      num(n.co2_kg), num(n.power_factor, 3), num(n.parts, 0), num(n.kwh_per_part, 3), num(n.enpi_ratio, 3), base, bands]) {
      r.insertCell().textContent = String(v);
    }
  }
  root.replaceChildren(head, nodes);
}

export async function render(root, { tenant, fetchJson, lang }) {
  const t = (lang || "").startsWith("zh") ? L["zh-CN"] : L.en;
  const url = `/api/v1/apps/energy/tenants/${encodeURIComponent(tenant)}/report?period=day`;
  draw(root, await fetchJson(url), t);
  const timer = setInterval(async () => {
    if (!root.isConnected) { clearInterval(timer); return; }
    try { draw(root, await fetchJson(url), t); } catch (err) { console.warn("energy refresh", err); }
  }, 60000);
}
