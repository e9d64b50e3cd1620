"""Customer accounts: balances, grants, holds, top-ups, income, expenses, ledger, idempotency, approvals.

Revision ID: 0005_accounts
Revises: 0001
Create Date: 2026-11-26

A branch of its own off the foundation (issue 5); types are spelled out as in 0001.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql, postgresql

revision: str = "0005_accounts"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("accounts",)
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


def _serial() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the account tables."""
    op.create_table(
        "account_balances",
        sa.Column("account_id", _key(64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("actual", sa.BigInteger(), nullable=False),
        sa.Column("available", sa.BigInteger(), nullable=False),
        sa.Column("locked", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "actual = available + locked", name=op.f("ck_account_balances_actual_is_available_plus_locked")
        ),
        sa.CheckConstraint("available >= 0", name=op.f("ck_account_balances_available_not_negative")),
        sa.CheckConstraint("locked >= 0", name=op.f("ck_account_balances_locked_not_negative")),
        sa.PrimaryKeyConstraint("account_id", "currency", name=op.f("pk_account_balances")),
    )
    op.create_table(
        "account_config",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("value", _json(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_account_config")),
    )
    op.create_table(
        "account_expenses",
        sa.Column("id", _key(64), nullable=False),
        sa.Column("account_id", _key(64), nullable=False),
        sa.Column("customer_id", _key(64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("hold_id", _key(64), nullable=False),
        sa.Column("order_ref", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("actor_id", sa.String(length=100), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_account_expenses_amount_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_expenses")),
    )
    op.create_index(op.f("ix_account_expenses_account_id_at"), "account_expenses", ["account_id", "at"])
    op.create_table(
        "account_holds",
        sa.Column("id", _key(64), nullable=False),
        sa.Column("account_id", _key(64), nullable=False),
        sa.Column("customer_id", _key(64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("order_ref", sa.String(length=100), nullable=True),
        sa.Column("prepayment", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("expires_at", _utc(), nullable=True),
        sa.Column("settled_prepayment", sa.BigInteger(), nullable=True),
        sa.Column("closed_at", _utc(), nullable=True),
        sa.Column("closed_by", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("shares", _json(), nullable=False),
        sa.CheckConstraint("prepayment >= 0", name=op.f("ck_account_holds_prepayment_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_holds")),
    )
    op.create_index(
        op.f("ix_account_holds_account_id_status_expires_at"), "account_holds", ["account_id", "status", "expires_at"]
    )
    op.create_index(op.f("ix_account_holds_status_expires_at"), "account_holds", ["status", "expires_at"])
    op.create_table(
        "account_incomes",
        sa.Column("id", _key(64), nullable=False),
        sa.Column("account_id", _key(64), nullable=False),
        sa.Column("customer_id", _key(64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("requested_at", _utc(), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", _utc(), nullable=True),
        sa.Column("approval_id", _key(64), nullable=True),
        sa.CheckConstraint("amount > 0", name=op.f("ck_account_incomes_amount_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_incomes")),
    )
    op.create_index(
        op.f("ix_account_incomes_account_id_requested_at"), "account_incomes", ["account_id", "requested_at"]
    )
    op.create_table(
        "account_top_ups",
        sa.Column("id", _key(64), nullable=False),
        sa.Column("account_id", _key(64), nullable=False),
        sa.Column("customer_id", _key(64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("platform", sa.String(length=50), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("actor_id", sa.String(length=100), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_account_top_ups_amount_positive")),
        sa.CheckConstraint("fee >= 0 AND fee < amount", name=op.f("ck_account_top_ups_fee_below_amount")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_top_ups")),
    )
    op.create_index(op.f("ix_account_top_ups_account_id_at"), "account_top_ups", ["account_id", "at"])
    op.create_table(
        "accounts",
        sa.Column("id", _key(64), nullable=False),
        sa.Column("customer_id", _key(64), nullable=False),
        sa.Column("settlement_method", sa.String(length=20), nullable=False),
        sa.Column("payment_terms", sa.String(length=50), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_accounts_version_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
    )
    op.create_index(op.f("ix_accounts_customer_id"), "accounts", ["customer_id"], unique=True)
    op.create_table(
        "approval_requests",
        sa.Column("id", _key(64), nullable=False),
        sa.Column("command", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("subject_type", sa.String(length=50), nullable=False),
        sa.Column("subject_id", _key(64), nullable=False),
        sa.Column("customer_id", _key(64), nullable=True),
        sa.Column("requested_at", _utc(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("doc", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_requests")),
    )
    op.create_index(op.f("ix_approval_requests_status_requested_at"), "approval_requests", ["status", "requested_at"])
    op.create_index(
        op.f("ix_approval_requests_subject_type_subject_id"), "approval_requests", ["subject_type", "subject_id"]
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("key", _key(200), nullable=False),
        sa.Column("command", sa.String(length=100), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("outcome", _json(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_idempotency_keys")),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("seq", _serial(), autoincrement=True, nullable=False),
        sa.Column("id", _key(64), nullable=False),
        sa.Column("account_id", _key(64), nullable=False),
        sa.Column("customer_id", _key(64), nullable=False),
        sa.Column("bucket", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("grant_id", _key(64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("available_delta", sa.BigInteger(), nullable=False),
        sa.Column("locked_delta", sa.BigInteger(), nullable=False),
        sa.Column("available_after", sa.BigInteger(), nullable=False),
        sa.Column("locked_after", sa.BigInteger(), nullable=False),
        sa.Column("actor_id", sa.String(length=100), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("ref_type", sa.String(length=30), nullable=False),
        sa.Column("ref_id", sa.String(length=64), nullable=False),
        sa.CheckConstraint("available_after >= 0", name=op.f("ck_ledger_entries_available_after_not_negative")),
        sa.CheckConstraint("locked_after >= 0", name=op.f("ck_ledger_entries_locked_after_not_negative")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_ledger_entries")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_ledger_entries_account_id_seq"), "ledger_entries", ["account_id", "seq"])
    op.create_index(op.f("ix_ledger_entries_customer_id"), "ledger_entries", ["customer_id"])
    op.create_index(op.f("ix_ledger_entries_id"), "ledger_entries", ["id"], unique=True)
    op.create_table(
        "rebate_grants",
        sa.Column("id", _key(64), nullable=False),
        sa.Column("account_id", _key(64), nullable=False),
        sa.Column("customer_id", _key(64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("remaining", sa.BigInteger(), nullable=False),
        sa.Column("reserved", sa.BigInteger(), nullable=False),
        sa.Column("valid_from", _utc(), nullable=False),
        sa.Column("valid_until", _utc(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("order_number", sa.String(length=100), nullable=True),
        sa.Column("rule_id", sa.String(length=100), nullable=True),
        sa.Column("refund_id", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("approval_id", _key(64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_rebate_grants_amount_positive")),
        sa.CheckConstraint("remaining <= amount", name=op.f("ck_rebate_grants_remaining_within_amount")),
        sa.CheckConstraint("remaining >= 0", name=op.f("ck_rebate_grants_remaining_not_negative")),
        sa.CheckConstraint("reserved <= remaining", name=op.f("ck_rebate_grants_reserved_within_remaining")),
        sa.CheckConstraint("reserved >= 0", name=op.f("ck_rebate_grants_reserved_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rebate_grants")),
    )
    op.create_index(op.f("ix_rebate_grants_account_id_id"), "rebate_grants", ["account_id", "id"])
    op.create_index(op.f("ix_rebate_grants_customer_id"), "rebate_grants", ["customer_id"])
    op.create_index(
        op.f("ix_rebate_grants_rule_id_order_number"), "rebate_grants", ["rule_id", "order_number"], unique=True
    )
    op.create_index(op.f("ix_rebate_grants_status_valid_until"), "rebate_grants", ["status", "valid_until"])


def downgrade() -> None:
    """Drop the account tables."""
    for table in (
        "rebate_grants",
        "ledger_entries",
        "idempotency_keys",
        "approval_requests",
        "accounts",
        "account_top_ups",
        "account_incomes",
        "account_holds",
        "account_expenses",
        "account_config",
        "account_balances",
    ):
        op.drop_table(table)
