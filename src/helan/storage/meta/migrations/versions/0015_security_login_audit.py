"""login factors, sessions, the audit chain and its checkpoints, sealed secrets

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06

A slot reserved for the security centre (issue 13), filled by the work that needs it.
"""

from __future__ import annotations

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
