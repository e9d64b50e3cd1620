"""Search: credit limits by currency, for the credit-limit range filter (DESIGN.md section 3).

Revision ID: 0007_search_credit
Revises: 0005_credit
Create Date: 2026-11-26

``ix_credit_profiles_search_limit`` on ``credit_profiles (currency, limit_minor, customer_id)``: the
search's credit-limit range reads its candidates from it (adapters/sql/_search.py). It follows
``0005_credit``, which creates the table, as a branch of its own so the search area's chain
(``0003_search`` -> ``0007_search``) does not depend on the credit area's.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007_search_credit"
down_revision: str | None = "0005_credit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Index credit limits by currency."""
    op.create_index("ix_credit_profiles_search_limit", "credit_profiles", ["currency", "limit_minor", "customer_id"])


def downgrade() -> None:
    """Drop the index."""
    op.drop_index("ix_credit_profiles_search_limit", "credit_profiles")
