// Widget registry: one module per widget type, the same eight types the server accepts.
import alarmList from "./alarm_list.js";
import bar from "./bar.js";
import gauge from "./gauge.js";
import stateTimeline from "./state_timeline.js";
import table from "./table.js";
import text from "./text.js";
import timeseries from "./timeseries.js";
import value from "./value.js";

export const WIDGETS = Object.fromEntries(
  [timeseries, gauge, value, table, stateTimeline, bar, alarmList, text].map((w) => [w.type, w]),
);

// Mount every widget of a spec in a grid; returns a function that tears them all down.
export async function mountDashboard(grid, spec, env) {
  const cols = spec.columns || 12;
  grid.style.gridTemplateColumns = `repeat(${cols}, minmax(0, 1fr))`;
  grid.replaceChildren();
  const mounted = [];
  await Promise.all(spec.widgets.map(async (w) => {
    const body = document.createElement("div");
    body.className = "w-body";
    const title = document.createElement("div");
    title.className = "w-title";
    title.textContent = w.title || "";
    const cell = document.createElement("section");
    cell.className = `widget widget-${w.type}`;
    cell.dataset.widget = w.id;
    cell.style.gridColumn = `${w.x + 1} / span ${w.w}`;
    cell.style.gridRow = `${w.y + 1} / span ${w.h}`;
    cell.append(title, body);
    grid.append(cell);
    const kind = WIDGETS[w.type];
    try {
      mounted.push(await kind.mount(body, w, env));
    } catch (err) {
      body.textContent = `${env.t("dash_widget_failed")}: ${err.message || err}`;
      body.classList.add("w-error");
    }
  }));
  return () => mounted.forEach((m) => m.destroy());
}
