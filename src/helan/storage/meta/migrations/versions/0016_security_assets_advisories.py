"""asset inventory, CSAF advisories, KEV, matches

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06

A slot reserved for the security centre (issue 13), filled by the work that needs it.
"""

from __future__ import annotations

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
