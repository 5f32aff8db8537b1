"""Embedded DuckDB backend of the telemetry store."""
