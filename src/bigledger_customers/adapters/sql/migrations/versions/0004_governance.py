"""Governance: duplicate-check keys, merge records, consent records (issue 7).

Revision ID: 0004_governance
Revises: 0001
Create Date: 2026-11-26

- ``customer_match_keys``: the keys of ``domain.duplicates.index_keys`` per customer, back-filled here
  from the stored documents, so the create-time duplicate check is an index look-up.
- ``customer_merges``: one row per merge, with the pre-merge snapshots that ``unmerge`` restores.
- ``consents``: consent given or withdrawn, when, how and by whom it was recorded.

A branch of its own off the foundation; types are spelled out as in 0001.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql, postgresql

revision: str = "0004_governance"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("governance",)
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


def _backfill_match_keys() -> None:
    """File every existing customer under its duplicate-check keys (in batches of 1,000)."""
    from bigledger_customers.domain.duplicates import index_keys

    conn = op.get_bind()
    customers = sa.table("customers", sa.column("id", sa.String()), sa.column("doc", sa.JSON()))
    keys_table = sa.table("customer_match_keys", sa.column("match_key", sa.String()), sa.column("customer_id"))
    last = ""
    while True:
        rows = conn.execute(
            sa.select(customers.c.id, customers.c.doc).where(customers.c.id > last).order_by(customers.c.id).limit(1000)
        ).all()
        if not rows:
            return
        values: list[dict[str, str]] = []
        for row in rows:
            doc = row.doc
            view = SimpleNamespace(
                id=row.id,
                code=doc.get("code", ""),
                legal_name=doc.get("legal_name", ""),
                names=doc.get("names", {}),
                tax_numbers=doc.get("tax_numbers", {}),
                contacts=[
                    SimpleNamespace(email=c.get("email"), phone=c.get("phone"), mobile=c.get("mobile"))
                    for c in doc.get("contacts", [])
                ],
            )
            values.extend({"match_key": key, "customer_id": row.id} for key in sorted(index_keys(view)))
        if values:
            conn.execute(sa.insert(keys_table), values)
        last = rows[-1].id


def upgrade() -> None:
    op.create_table(
        "customer_match_keys",
        sa.Column("match_key", _key(200), nullable=False),
        sa.Column("customer_id", _key(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name="fk_customer_match_keys_customer_id_customers",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("match_key", "customer_id", name="pk_customer_match_keys"),
    )
    op.create_index("ix_customer_match_keys_customer_id", "customer_match_keys", ["customer_id"])
    op.create_table(
        "customer_merges",
        sa.Column("id", _key(64), nullable=False),
        sa.Column("survivor_id", _key(64), nullable=False),
        sa.Column("duplicate_id", _key(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("merged_at", _utc(), nullable=False),
        sa.Column("doc", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_customer_merges"),
    )
    op.create_index("ix_customer_merges_survivor_id", "customer_merges", ["survivor_id"])
    op.create_index("ix_customer_merges_duplicate_id", "customer_merges", ["duplicate_id"])
    op.create_table(
        "consents",
        sa.Column("position", _serial(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("customer_id", _key(64), nullable=False),
        sa.Column("contact_id", sa.String(64), nullable=True),
        sa.Column("purpose", sa.String(50), nullable=False),
        sa.Column("granted", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("method", sa.String(50), nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("position", name="pk_consents"),
        sa.UniqueConstraint("id", name="uq_consents_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_consents_customer_id_position", "consents", ["customer_id", "position"])
    _backfill_match_keys()


def downgrade() -> None:
    op.drop_table("consents")
    op.drop_table("customer_merges")
    op.drop_table("customer_match_keys")
