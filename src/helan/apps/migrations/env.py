"""Alembic environment for an app's chain: the caller hands in the connection and the app's
version table (see :func:`helan.apps.migrations.upgrade_app`)."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    version_table=context.config.attributes["version_table"],
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
