"""PostgreSQL backend of the telemetry store (TimescaleDB when available)."""
