"""Exports (CSV, XLSX) and scheduled reports (PDF with charts and Chinese text, e-mailed)."""
