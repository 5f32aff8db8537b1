// The scheduling app's own words in zh-CN and en (app pages carry their texts; the console's
// catalogues hold the console's).
const WORDS = {
  machine: ["机台", "Machine"],
  order: ["订单", "Order"],
  status: ["状态", "Status"],
  planned: ["已排产", "planned"],
  in_production: ["生产中", "in production"],
  completed: ["已完工", "completed"],
  unplanned: ["未排产", "not planned"],
  plan_version: ["排程版本", "Plan version"],
  reason: ["原因", "Reason"],
  makespan: ["总工期(分钟)", "Makespan (min)"],
  solver: ["求解状态", "Solver status"],
  late: ["延期", "Late"],
  no_plan: ["尚无排程:下单或重新排程。", "No plan yet: place an order or replan."],
  replan: ["重新排程", "Replan"],
  drag_hint: ["拖动工序到其他机台或时间,系统会检查是否可行。", "Drag an operation to another machine or time; the move is checked."],
  feasible: ["可行", "Feasible"],
  infeasible: ["不可行", "Not feasible"],
  apply: ["应用并重排", "Apply and replan"],
  down: ["停机至", "down until"],
  product: ["产品", "Product"],
  quantity: ["数量", "Quantity"],
  quote: ["报价与交期", "Price and delivery date"],
  unit_price: ["单价", "Unit price"],
  price: ["总价", "Total price"],
  promised: ["承诺交期", "Promised date"],
  place: ["下单", "Place order"],
  customer: ["客户", "Customer"],
  my_orders: ["订单跟踪", "Order tracking"],
  placed: ["已下单", "Order placed"],
  no_products: ["暂无可定制产品。", "No configurable products yet."],
  completion: ["计划完工", "Planned completion"],
};

export function words(lang) {
  const i = String(lang || "").startsWith("zh") ? 0 : 1;
  return (key) => (WORDS[key] ? WORDS[key][i] : key);
}

export function when(ms, lang) {
  if (ms === null || ms === undefined) return "–";
  return new Date(ms).toLocaleString(String(lang || "").startsWith("zh") ? "zh-CN" : "en-GB", {
    month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
  });
}

export function node(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "on") for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  }
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}
