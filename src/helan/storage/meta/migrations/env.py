"""Alembic environment: MetaStore hands in an open connection; nothing is read from alembic.ini."""

from __future__ import annotations

from alembic import context

from helan.storage.meta.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
