// Pump anomalies page: each pump's smoothed T² score against its threshold, its recent scores
// and its current signals. render(root, {tenant, fetchJson, t}) is called by the console.
export async function render(root, { tenant, fetchJson, t }) {
  const data = await fetchJson(`/api/v1/apps/anomaly/tenants/${encodeURIComponent(tenant)}/pumps`);
  const signals = data.pumps.length ? Object.keys(data.pumps[0].signals) : [];
  const table = document.createElement("table");
  const head = table.createTHead().insertRow();
  for (const label of [t("Device"), t("Anomaly score"), t("Threshold"), t("State"), t("Recent scores"), ...signals]) {
    const th = document.createElement("th");
    th.textContent = label;
    head.appendChild(th);
  }
  const body = table.createTBody();
  for (const pump of data.pumps) {
    const row = body.insertRow();
    const recent = pump.history.map(([, v]) => v);
    const top = Math.max(pump.threshold ?? 1, ...recent) || 1;
    const bars = recent.map((v) => "▁▂▃▄▅▆▇█"[Math.min(7, Math.floor((v / top) * 7.99))]).join("");
    const cells = [
      pump.device,
      pump.score ?? "–",
      pump.threshold ?? t("Learning"),
      pump.flag ? t("Anomalous") : t("Normal"),
      bars,
      ...signals.map((s) => pump.signals[s] ?? "–"),
    ];
    for (const text of cells) {
      row.insertCell().textContent = String(text);
    }
    if (pump.flag) row.classList.add("alarm");
  }
  root.replaceChildren(table);
}
