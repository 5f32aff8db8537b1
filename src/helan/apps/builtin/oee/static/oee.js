// OEE page (ISO 22400-2): per machine, line and shift over the last eight hours, with each
// machine's state timeline; refreshes every 30 s while the page is shown.
// render(root, {tenant, fetchJson, lang}) is called by the console with the tenant in view.
const L = {
  en: { machine: "Machine", line: "Line", shift: "Shift", a: "Availability", p: "Performance", q: "Quality",
        oee: "OEE", status: "Status", mtbf: "MTBF", mttr: "MTTR", health: "Health", parts: "Parts",
        lines: "Lines", shifts: "Shifts", machines: "Machines", losses: "Six big losses (h)",
        window: "Last 8 h", no_ideal: "no ideal cycle time" },
  "zh-CN": { machine: "设备", line: "产线", shift: "班次", a: "可用率", p: "性能", q: "质量",
        oee: "OEE", status: "状态", mtbf: "MTBF", mttr: "MTTR", health: "健康指数", parts: "产量",
        lines: "产线", shifts: "班次", machines: "设备", losses: "六大损失（小时）",
        window: "最近 8 小时", no_ideal: "缺少理想节拍" },
};
const LOSS = { breakdowns: ["Breakdowns", "故障停机"], setup_adjustments: ["Setup / adjustment", "换型调整"],
  small_stops: ["Small stops", "小停机"], reduced_speed: ["Reduced speed", "速度损失"],
  startup_rejects: ["Start-up rejects", "启动废品"], production_rejects: ["Production rejects", "生产废品"] };
const COLOURS = { run: "#2e7d32", idle: "#f9a825", down: "#c62828", planned_stop: "#90a4ae",
  maintenance: "#6a1b9a", unknown: "#eeeeee" };

const pct = (v) => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(1)} %`);
const hours = (s) => (s === null || s === undefined ? "–" : `${(s / 3600).toFixed(2)} h`);

function cell(row, text, title) {
  const td = row.insertCell();
  td.textContent = String(text);
  if (title) td.title = title;
  return td;
}

function table(head) {
  const t = document.createElement("table");
  const tr = t.createTHead().insertRow();
  for (const h of head) {
    const th = document.createElement("th");
    th.textContent = h;
    tr.appendChild(th);
  }
  t.createTBody();
  return t;
}

function bar(timeline, start, end) {
  const div = document.createElement("div");
  div.style.cssText = "display:flex;height:10px;width:240px;border:1px solid #ccc";
  for (const [a, b, state] of timeline) {
    const seg = document.createElement("span");
    seg.style.cssText = `flex:${(b - a) / (end - start)};background:${COLOURS[state] || "#000"}`;
    seg.title = state;
    div.appendChild(seg);
  }
  return div;
}

function status(t, m) {
  return m.status === "no_ideal_cycle_time" ? t.no_ideal : m.status;
}

function draw(root, data, t, zh) {
  const sections = [];
  const h = (text) => { const e = document.createElement("h3"); e.textContent = text; return e; };
  const machines = table([t.machine, t.line, "", t.a, t.p, t.q, t.oee, t.parts, t.mtbf, t.mttr, t.health, t.status]);
  for (const m of data.machines) {
    const r = machines.tBodies[0].insertRow();
    r.dataset.device = m.device;
    cell(r, m.device, m.name);
    cell(r, m.line ?? "–");
    r.insertCell().appendChild(bar(m.timeline, data.start_ms, data.end_ms));
    for (const v of [pct(m.availability), pct(m.performance), pct(m.quality), pct(m.oee)]) cell(r, v);
    cell(r, `${m.good}/${m.produced}`);
    cell(r, hours(m.mtbf_s)); cell(r, hours(m.mttr_s));
    cell(r, m.health === null ? "–" : m.health);
    cell(r, status(t, m));
  }
  const lines = table([t.line, t.a, t.p, t.q, t.oee, t.machines, ...Object.values(LOSS).map((n) => n[zh ? 1 : 0])]);
  for (const l of data.lines) {
    const r = lines.tBodies[0].insertRow();
    cell(r, l.line);
    for (const v of [pct(l.availability), pct(l.performance), pct(l.quality), pct(l.oee)]) cell(r, v);
    cell(r, l.machines);
    for (const k of Object.keys(LOSS)) cell(r, l.losses_s[k] === null ? "–" : (l.losses_s[k] / 3600).toFixed(2));
  }
  const shifts = table([t.shift, t.a, t.p, t.q, t.oee]);
  for (const s of data.shifts) {
    const r = shifts.tBodies[0].insertRow();
    cell(r, s.shift);
    for (const v of [pct(s.availability), pct(s.performance), pct(s.quality), pct(s.oee)]) cell(r, v);
  }
  sections.push(h(`${t.machines} · ${t.window}`), machines, h(t.lines), lines, h(t.shifts), shifts);
  root.replaceChildren(...sections);
}

export async function render(root, { tenant, fetchJson, lang }) {
  const zh = (lang || "").startsWith("zh");
  const t = zh ? L["zh-CN"] : L.en;
  const url = `/api/v1/apps/oee/tenants/${encodeURIComponent(tenant)}/report`;
  draw(root, await fetchJson(url), t, zh);
  const timer = setInterval(async () => {
    if (!root.isConnected) { clearInterval(timer); return; }
    try { draw(root, await fetchJson(url), t, zh); } catch (err) { console.warn("oee refresh", err); }
  }, 30000);
}
