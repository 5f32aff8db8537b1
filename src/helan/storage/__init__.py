"""Persistence: metadata (SQLAlchemy) and telemetry (one protocol; DuckDB and PostgreSQL)."""
