"""traffic baselines, security events, regional warnings

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06

A slot reserved for the security centre (issue 13), filled by the work that needs it.
"""

from __future__ import annotations

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
