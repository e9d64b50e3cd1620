"""Initial schema: customers (+ contacts, tags), reference data, numbering, audit, outbox, interactions.

Revision ID: 0001
Revises:
Create Date: 2026-11-26

Types are spelled out here rather than imported, so this migration keeps creating the same schema
whatever later changes the library's table definitions make (those get migrations of their own).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql, postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MYSQL = ("mysql", "mariadb")


def _key(length: int) -> sa.types.TypeEngine[str]:
    """VARCHAR compared in code point order."""
    return (
        sa.String(length)
        .with_variant(sa.String(length, collation="C"), "postgresql")
        .with_variant(mysql.VARCHAR(length, charset="utf8mb4", collation="utf8mb4_bin"), *_MYSQL)
    )


def _key_text() -> sa.types.TypeEngine[str]:
    return (
        sa.Text()
        .with_variant(sa.Text(collation="C"), "postgresql")
        .with_variant(mysql.MEDIUMTEXT(charset="utf8mb4", collation="utf8mb4_bin"), *_MYSQL)
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
    """Create every table of the first release."""
    op.create_table(
        "customers",
        sa.Column("id", _key(64), nullable=False),
        sa.Column("code", sa.String(50), nullable=False),
        sa.Column("code_key", _key(50), nullable=False),
        sa.Column("name_key", _key(500), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("customer_type", sa.String(20), nullable=False),
        sa.Column("category", sa.String(50), nullable=True),
        sa.Column("level", sa.String(50), nullable=True),
        sa.Column("region", sa.String(50), nullable=True),
        sa.Column("sales_rep", sa.String(50), nullable=True),
        sa.Column("branch", sa.String(50), nullable=True),
        sa.Column("parent_id", _key(64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.Column("search_text", _key_text(), nullable=False),
        sa.Column("doc", _json(), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_customers_version_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
    )
    op.create_index(op.f("ix_customers_code_key"), "customers", ["code_key"], unique=True)
    op.create_index(op.f("ix_customers_name_key_id"), "customers", ["name_key", "id"])
    op.create_index(op.f("ix_customers_created_at_id"), "customers", ["created_at", "id"])
    op.create_index(op.f("ix_customers_parent_id"), "customers", ["parent_id"])
    op.create_index(op.f("ix_customers_status"), "customers", ["status"])
    op.create_index(op.f("ix_customers_category"), "customers", ["category"])

    op.create_table(
        "customer_contacts",
        sa.Column("customer_id", _key(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.String(64), nullable=False),
        sa.Column("email", _key(320), nullable=True),
        sa.Column("phone", _key(32), nullable=True),
        sa.Column("mobile", _key(32), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_contacts_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", "position", name=op.f("pk_customer_contacts")),
    )
    op.create_index(op.f("ix_customer_contacts_email"), "customer_contacts", ["email"])
    op.create_index(op.f("ix_customer_contacts_phone"), "customer_contacts", ["phone"])
    op.create_index(op.f("ix_customer_contacts_mobile"), "customer_contacts", ["mobile"])

    op.create_table(
        "customer_tags",
        sa.Column("customer_id", _key(64), nullable=False),
        sa.Column("tag", _key(100), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_customer_tags_customer_id_customers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("customer_id", "tag", name=op.f("pk_customer_tags")),
    )
    op.create_index(op.f("ix_customer_tags_tag_customer_id"), "customer_tags", ["tag", "customer_id"])

    op.create_table(
        "reference_entries",
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("code_key", _key(50), nullable=False),
        sa.Column("code", sa.String(50), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("attributes", _json(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("version >= 0", name=op.f("ck_reference_entries_version_not_negative")),
        sa.PrimaryKeyConstraint("kind", "code_key", name=op.f("pk_reference_entries")),
    )

    op.create_table(
        "custom_fields",
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("doc", _json(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_custom_fields")),
    )

    op.create_table(
        "numbering",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("prefix", sa.String(40), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("next_value", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("width BETWEEN 1 AND 18", name=op.f("ck_numbering_width_range")),
        sa.CheckConstraint("next_value >= 1", name=op.f("ck_numbering_next_value_positive")),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_numbering")),
    )

    op.create_table(
        "audit",
        sa.Column("position", _serial(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("actor_id", sa.String(100), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("entity_type", sa.String(50), nullable=False),
        sa.Column("entity_id", _key(64), nullable=False),
        sa.Column("changes", _json(), nullable=False),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_audit")),
        sa.UniqueConstraint("id", name=op.f("uq_audit_id")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_audit_entity_type_entity_id_position"), "audit", ["entity_type", "entity_id", "position"])

    op.create_table(
        "outbox",
        sa.Column("position", _serial(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("aggregate_type", sa.String(50), nullable=False),
        sa.Column("aggregate_id", sa.String(64), nullable=False),
        sa.Column("occurred_at", _utc(), nullable=False),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.CheckConstraint("schema_version >= 1", name=op.f("ck_outbox_schema_version_positive")),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_outbox")),
        sa.UniqueConstraint("id", name=op.f("uq_outbox_id")),
        sqlite_autoincrement=True,
    )

    outbox_lock = op.create_table(
        "outbox_lock",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_outbox_lock_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_lock")),
    )
    op.bulk_insert(outbox_lock, [{"id": 1}])

    op.create_table(
        "interactions",
        sa.Column("position", _serial(), autoincrement=True, nullable=False),
        sa.Column("id", _key(64), nullable=False),
        sa.Column("customer_id", _key(64), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("by", sa.String(100), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("contact_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_interactions")),
        sa.UniqueConstraint("id", name=op.f("uq_interactions_id")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_interactions_customer_id_at"), "interactions", ["customer_id", "at"])


def downgrade() -> None:
    """Drop every table of the first release."""
    for table in (
        "interactions",
        "outbox_lock",
        "outbox",
        "audit",
        "numbering",
        "custom_fields",
        "reference_entries",
        "customer_tags",
        "customer_contacts",
        "customers",
    ):
        op.drop_table(table)
