"""Access control: an index for the branch data scope (issue 8).

Revision ID: 0006_access
Revises: 0001
Create Date: 2026-11-26

A branch of its own off the foundation. A branch staff member's data scope is an equality on
``customers.branch`` inside every query (the sales-rep scope uses ``ix_customers_sales_rep``);
without an index that equality would scan the table.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006_access"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("access",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_customers_branch"), "customers", ["branch"])


def downgrade() -> None:
    op.drop_index(op.f("ix_customers_branch"), table_name="customers")
