"""devices.broker_hash: the device secret as Mosquitto's "$7$" hash, for an external broker

Revision ID: 0006
Revises: 0005
Create Date: 2026-01-12

Nullable, and left empty for existing rows: their plaintext secrets are gone, so no hash can be
made for them. Such devices keep working with the embedded broker (which checks the SHA-256
digest) and are left out of the Mosquitto password file until their credential is rotated.
A plain ADD COLUMN: no table rebuild on SQLite.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("devices", sa.Column("broker_hash", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("broker_hash")
