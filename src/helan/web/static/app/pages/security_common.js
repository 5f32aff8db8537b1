// What the security centre's pages share: the match statuses and inventory sources with their
// message keys, and a status badge (worst first: affected, needs review, fixed, not affected).
import { badge } from "../dom.js";
import { k } from "../i18n.js";

export const STATUSES = {
  affected: k("sec_status_affected"),
  needs_review: k("sec_status_needs_review"),
  fixed: k("sec_status_fixed"),
  not_affected: k("sec_status_not_affected"),
};
const KINDS = { affected: "fault", needs_review: "warning", fixed: "info", not_affected: "on" };

export const SOURCES = {
  directory: k("sec_source_directory"),
  modbus: k("sec_source_modbus"),
  opcua: k("sec_source_opcua"),
  gateway: k("sec_source_gateway"),
};

export function statusBadge(t, status) {
  if (!status) return badge(t("sec_status_none"), "off");
  return badge(t(STATUSES[status]), KINDS[status]);
}

// Security officers and platform administrators import advisories (the server decides).
export function mayImport(ctx) {
  return ["platform_admin", "security_officer"].includes(ctx.me?.role);
}
