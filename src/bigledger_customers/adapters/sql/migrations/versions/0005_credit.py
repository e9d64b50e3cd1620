"""Credit: profiles, payment terms, receivable documents and open items, credit holds (issue 6).

Revision ID: 0005_credit
Revises: 0001
Create Date: 2026-11-26

A branch of its own off the foundation; types are spelled out as in 0001. Money is integer minor
units plus the currency; CHECK constraints back the invariants (open amount between zero and the
item's amount, positive holds).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql, postgresql

revision: str = "0005_credit"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("credit",)
depends_on: str | Sequence[str] | None = None

_MYSQL = ("mysql", "mariadb")


def _key(length: int) -> sa.types.TypeEngine[str]:
    """VARCHAR compared in code point order."""
    return (
        sa.String(length)
        .with_variant(sa.String(length, collation="C"), "postgresql")
        .with_variant(mysql.VARCHAR(length, charset="utf8mb4", collation="utf8mb4_bin"), *_MYSQL)
    )


def _utc() -> sa.types.TypeEngine[Any]:
    """UTC datetimes: ISO text on SQLite, DATETIME(6) on MariaDB, timestamptz on PostgreSQL."""
    return (
        sa.DateTime(timezone=True)
        .with_variant(sa.String(32), "sqlite")
        .with_variant(mysql.DATETIME(fsp=6), *_MYSQL)
        .with_variant(postgresql.TIMESTAMP(timezone=True), "postgresql")
    )


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSON(), "postgresql")


def upgrade() -> None:
    """Create the credit tables."""
    op.create_table(
        "credit_profiles",
        sa.Column("customer_id", _key(64), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("limit_minor", sa.BigInteger(), nullable=True),
        sa.Column("terms", sa.String(50), nullable=True),
        sa.Column("rating", sa.String(50), nullable=True),
        sa.Column("last_review", sa.Date(), nullable=True),
        sa.Column("review_months", sa.Integer(), nullable=True),
        sa.Column("policy", sa.String(10), nullable=False),
        sa.Column("tolerance_minor", sa.BigInteger(), nullable=True),
        sa.Column("max_overdue_days", sa.Integer(), nullable=False),
        sa.Column("group_limit", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=True),
        sa.CheckConstraint(
            "limit_minor IS NULL OR limit_minor >= 0", name=op.f("ck_credit_profiles_limit_not_negative")
        ),
        sa.CheckConstraint(
            "tolerance_minor IS NULL OR tolerance_minor >= 0", name=op.f("ck_credit_profiles_tolerance_not_negative")
        ),
        sa.CheckConstraint("max_overdue_days >= 0", name=op.f("ck_credit_profiles_overdue_days_not_negative")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_credit_profiles_version_positive")),
        sa.PrimaryKeyConstraint("customer_id", "currency", name=op.f("pk_credit_profiles")),
    )
    op.create_table(
        "payment_terms",
        sa.Column("code_key", _key(50), nullable=False),
        sa.Column("code", sa.String(50), nullable=False),
        sa.Column("doc", _json(), nullable=False),
        sa.PrimaryKeyConstraint("code_key", name=op.f("pk_payment_terms")),
    )
    op.create_table(
        "credit_documents",
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("number_key", _key(100), nullable=False),
        sa.Column("number", sa.String(100), nullable=False),
        sa.Column("customer_id", _key(64), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("result", _json(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "number_key", name=op.f("pk_credit_documents")),
    )
    op.create_index(op.f("ix_credit_documents_customer_id"), "credit_documents", ["customer_id"])
    op.create_table(
        "credit_items",
        sa.Column("id", _key(64), nullable=False),
        sa.Column("customer_id", _key(64), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("document", sa.String(100), nullable=False),
        sa.Column("document_kind", sa.String(20), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("issued", sa.Date(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("open_minor", sa.BigInteger(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_credit_items_amount_positive")),
        sa.CheckConstraint(
            "open_minor >= 0 AND open_minor <= amount_minor", name=op.f("ck_credit_items_open_within_amount")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_items")),
    )
    op.create_index(
        op.f("ix_credit_items_customer_id_currency_open_minor"),
        "credit_items",
        ["customer_id", "currency", "open_minor"],
    )
    op.create_index(op.f("ix_credit_items_issued"), "credit_items", ["issued"])
    op.create_table(
        "credit_holds",
        sa.Column("id", _key(64), nullable=False),
        sa.Column("customer_id", _key(64), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(200), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("expires_at", _utc(), nullable=False),
        sa.Column("settled_minor", sa.BigInteger(), nullable=True),
        sa.Column("closed_at", _utc(), nullable=True),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_credit_holds_amount_positive")),
        sa.CheckConstraint(
            "settled_minor IS NULL OR (settled_minor >= 0 AND settled_minor <= amount_minor)",
            name=op.f("ck_credit_holds_settled_within_amount"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_holds")),
    )
    op.create_index(op.f("ix_credit_holds_customer_id_state"), "credit_holds", ["customer_id", "state"])


def downgrade() -> None:
    """Drop the credit tables."""
    for table in ("credit_holds", "credit_items", "credit_documents", "payment_terms", "credit_profiles"):
        op.drop_table(table)
