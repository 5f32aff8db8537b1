// The hash routes (deep links such as #/devices/pump-1) and the menu built from them. A route's
// `need` is the least role that sees it: "read" (every tenant member), "admin"; "region": the
// regional view, for platform administrators and region viewers only. `tenantless` pages work
// without a tenant chosen.
import { k } from "./i18n.js";

export const ROUTES = [
  { pattern: "", page: "overview" },
  { pattern: "overview", page: "overview", nav: k("nav_overview"), section: k("nav_section_monitor") },
  { pattern: "devices", page: "devices", nav: k("nav_devices"), section: k("nav_section_monitor") },
  { pattern: "devices/:id", page: "device" },
  { pattern: "alarms", page: "alarms", nav: k("nav_alarms"), section: k("nav_section_monitor") },
  { pattern: "alarms/:id", page: "alarm" },
  { pattern: "dashboards", page: "dashboards", nav: k("nav_dashboards"), section: k("nav_section_monitor") },
  { pattern: "dashboards/shared/:token", page: "dashboard" },
  { pattern: "dashboards/:id", page: "dashboard" },
  { pattern: "dashboards/:id/edit", page: "dashboard_edit", need: "write" },
  { pattern: "wall", page: "wall" },
  { pattern: "reports", page: "reports", nav: k("nav_reports"), section: k("nav_section_monitor") },
  { pattern: "assets", page: "assets", nav: k("nav_assets"), section: k("nav_section_model") },
  { pattern: "device-types", page: "device_types", nav: k("nav_device_types"), section: k("nav_section_model") },
  { pattern: "device-types/:id", page: "device_type" },
  { pattern: "products", page: "products", nav: k("nav_products"), section: k("nav_section_model") },
  { pattern: "rules", page: "rules", nav: k("nav_rules"), section: k("nav_section_model") },
  { pattern: "rules/new", page: "rule", need: "write" },
  { pattern: "rules/:id", page: "rule" },
  { pattern: "security/assets", page: "security_assets", nav: k("nav_security_assets"), section: k("nav_section_security") },
  { pattern: "security/advisories", page: "security_advisories", nav: k("nav_security_advisories"), section: k("nav_section_security") },
  { pattern: "security/advisories/:id", page: "security_advisory" },
  { pattern: "security/events", page: "security_events", nav: k("nav_security_events"), section: k("nav_section_security") },
  { pattern: "security/warnings", page: "security_warnings", nav: k("nav_security_warnings"), section: k("nav_section_security"), tenantless: true },
  { pattern: "security/posture", page: "security_posture", nav: k("nav_security_posture"), section: k("nav_section_security"), need: "region", tenantless: true },
  { pattern: "region", page: "region_indicators", nav: k("nav_region"), section: k("nav_section_region"), need: "region", tenantless: true },
  { pattern: "region/wall", page: "region_wall", need: "region", tenantless: true },
  { pattern: "region/applications", page: "region_applications", nav: k("nav_region_applications"), section: k("nav_section_region"), need: "region", tenantless: true },
  { pattern: "region/experts", page: "region_experts", nav: k("nav_region_experts"), section: k("nav_section_region"), need: "region", tenantless: true },
  { pattern: "users", page: "users", nav: k("nav_users"), section: k("nav_section_admin"), need: "admin" },
  { pattern: "audit", page: "audit", nav: k("nav_audit"), section: k("nav_section_admin"), need: "admin" },
  { pattern: "apps", page: "apps", nav: k("nav_apps"), section: k("nav_section_admin") },
  { pattern: "apps/:page", page: "app_page" },
  { pattern: "account", page: "account", tenantless: true },
];

export function parseHash(hash) {
  const raw = (hash || "").replace(/^#\/?/, "");
  const [pathPart, queryPart = ""] = raw.split("?");
  const segments = pathPart.split("/").filter(Boolean).map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
  return { segments, path: segments.join("/"), query: new URLSearchParams(queryPart) };
}

export function match(segments) {
  for (const route of ROUTES) {
    const parts = route.pattern.split("/").filter(Boolean);
    if (parts.length !== segments.length) continue;
    const params = {};
    if (parts.every((p, i) => (p.startsWith(":") ? ((params[p.slice(1)] = segments[i]), true) : p === segments[i]))) {
      return { route, params };
    }
  }
  return null;
}

export function href(...segments) {
  return `#/${segments.map((s) => encodeURIComponent(s)).join("/")}`;
}
