// Data quality page: points each device delivered this minute and last minute.
// render(root, {tenant, fetchJson, t}) is called by the console with the tenant in view.
export async function render(root, { tenant, fetchJson, t }) {
  const data = await fetchJson(`/api/v1/apps/data_quality/tenants/${encodeURIComponent(tenant)}/points`);
  const devices = [...new Set([...Object.keys(data.last), ...Object.keys(data.current)])].sort();
  const table = document.createElement("table");
  const head = table.createTHead().insertRow();
  for (const label of [t("Device"), t("Last minute"), t("This minute")]) {
    const th = document.createElement("th");
    th.textContent = label;
    head.appendChild(th);
  }
  const body = table.createTBody();
  for (const device of devices) {
    const row = body.insertRow();
    for (const text of [device, data.last[device] ?? "–", data.current[device] ?? 0]) {
      row.insertCell().textContent = String(text);
    }
  }
  root.replaceChildren(table);
}
