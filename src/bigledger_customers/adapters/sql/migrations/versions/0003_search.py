"""Search: bigram tokens column, filter indexes, and each engine's text indexes (DESIGN.md section 7).

Revision ID: 0003_search
Revises: 0001
Create Date: 2026-11-26

- ``customers.search_grams``: the bigram tokens of ``search_text`` for two-character queries in
  scripts written without spaces (``domain.search.search_grams``), back-filled here.
- Indexes on region, sales_rep and (status, name_key, id) for filtered and sorted pages.
- SQLite: FTS5 tables ``customer_text`` (trigram tokenizer over ``search_text``) and
  ``customer_grams`` (over ``search_grams``), external content on ``customers`` kept by triggers;
  covering indexes (sort keys + ``search_text``) for scans in name order. SQLite has no key size
  limit; PostgreSQL and MariaDB do, so there the text stays out of B-tree indexes.
- PostgreSQL: pg_trgm GIN on ``search_text`` and GIN on ``string_to_array(search_grams, ' ')``.
- MariaDB: the column and filter indexes only (search there filters and scans).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_search"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_UP = [
    "CREATE VIRTUAL TABLE customer_text USING fts5(search_text, content='customers', content_rowid='rowid', "
    "tokenize='trigram case_sensitive 1', detail='none')",
    "CREATE VIRTUAL TABLE customer_grams USING fts5(search_grams, content='customers', content_rowid='rowid', "
    "tokenize='ascii', detail='none')",
    """CREATE TRIGGER customers_search_ai AFTER INSERT ON customers BEGIN
         INSERT INTO customer_text(rowid, search_text) VALUES (new.rowid, new.search_text);
         INSERT INTO customer_grams(rowid, search_grams) VALUES (new.rowid, new.search_grams);
       END""",
    """CREATE TRIGGER customers_search_ad AFTER DELETE ON customers BEGIN
         INSERT INTO customer_text(customer_text, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
         INSERT INTO customer_grams(customer_grams, rowid, search_grams)
           VALUES ('delete', old.rowid, old.search_grams);
       END""",
    """CREATE TRIGGER customers_search_au_text AFTER UPDATE OF search_text ON customers
       WHEN old.search_text IS NOT new.search_text BEGIN
         INSERT INTO customer_text(customer_text, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
         INSERT INTO customer_text(rowid, search_text) VALUES (new.rowid, new.search_text);
       END""",
    """CREATE TRIGGER customers_search_au_grams AFTER UPDATE OF search_grams ON customers
       WHEN old.search_grams IS NOT new.search_grams BEGIN
         INSERT INTO customer_grams(customer_grams, rowid, search_grams)
           VALUES ('delete', old.rowid, old.search_grams);
         INSERT INTO customer_grams(rowid, search_grams) VALUES (new.rowid, new.search_grams);
       END""",
    # Covering indexes that carry the folded text: a broad word sorted by name is checked on index
    # entries in order, without reading the (wide) customer rows; only the page's rows are read.
    "CREATE INDEX ix_customers_search_by_name ON customers (name_key, id, search_text)",
    "CREATE INDEX ix_customers_search_by_status ON customers (status, name_key, id, search_text)",
    "CREATE INDEX ix_customers_search_by_filters ON customers (category, region, status, name_key, id, search_text)",
    "INSERT INTO customer_text(customer_text) VALUES ('rebuild')",
    "INSERT INTO customer_grams(customer_grams) VALUES ('rebuild')",
]
_SQLITE_DOWN = [
    "DROP INDEX IF EXISTS ix_customers_search_by_name",
    "DROP INDEX IF EXISTS ix_customers_search_by_status",
    "DROP INDEX IF EXISTS ix_customers_search_by_filters",
    "DROP TRIGGER IF EXISTS customers_search_ai",
    "DROP TRIGGER IF EXISTS customers_search_ad",
    "DROP TRIGGER IF EXISTS customers_search_au_text",
    "DROP TRIGGER IF EXISTS customers_search_au_grams",
    "DROP TABLE IF EXISTS customer_text",
    "DROP TABLE IF EXISTS customer_grams",
]
_PG_UP = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_customers_search_text_trgm ON customers USING gin (search_text gin_trgm_ops)",
    "CREATE INDEX ix_customers_search_grams ON customers USING gin (string_to_array(search_grams, ' '))",
]
_PG_DOWN = ["DROP INDEX IF EXISTS ix_customers_search_grams", "DROP INDEX IF EXISTS ix_customers_search_text_trgm"]
# The list screen's filter trio in name order (SQLite's variant also carries the text, see above).
_FILTERS_UP = "CREATE INDEX ix_customers_search_by_filters ON customers (category, region, status, name_key, id)"
_FILTERS_DOWN = "DROP INDEX ix_customers_search_by_filters ON customers"


def _grams(folded: str) -> str:
    """A frozen copy of ``domain.search.search_grams`` (migrations must not change with the code)."""

    def gram_char(ch: str) -> bool:
        return ch.isalnum() and not ch.isascii()

    tokens = dict.fromkeys(
        "x".join(f"{ord(ch):x}" for ch in folded[i : i + 2])
        for i in range(len(folded) - 1)
        if gram_char(folded[i]) and gram_char(folded[i + 1])
    )
    return " ".join(tokens)


def _backfill() -> None:
    bind = op.get_bind()
    customers = sa.table("customers", sa.column("id"), sa.column("search_text"), sa.column("search_grams"))
    rows = bind.execute(sa.select(customers.c.id, customers.c.search_text)).all()
    updates = [{"key": r.id, "grams": _grams(unicodedata.normalize("NFC", r.search_text))} for r in rows]
    updates = [u for u in updates if u["grams"]]
    if updates:
        bind.execute(
            sa.update(customers)
            .where(customers.c.id == sa.bindparam("key"))
            .values(search_grams=sa.bindparam("grams")),
            updates,
        )


def upgrade() -> None:
    """Add the bigram column, the filter indexes and the engine's text indexes."""
    op.add_column("customers", sa.Column("search_grams", sa.Text(), nullable=False, server_default=""))
    _backfill()
    op.create_index(op.f("ix_customers_region"), "customers", ["region"])
    op.create_index(op.f("ix_customers_sales_rep"), "customers", ["sales_rep"])
    op.create_index(op.f("ix_customers_status_name_key_id"), "customers", ["status", "name_key", "id"])
    name = op.get_bind().dialect.name
    for statement in _SQLITE_UP if name == "sqlite" else [*_PG_UP, _FILTERS_UP] if name == "postgresql" else []:
        op.execute(statement)
    if name in ("mysql", "mariadb"):
        op.execute(_FILTERS_UP)


def downgrade() -> None:
    """Drop what :func:`upgrade` added."""
    name = op.get_bind().dialect.name
    for statement in _SQLITE_DOWN if name == "sqlite" else _PG_DOWN if name == "postgresql" else []:
        op.execute(statement)
    if name != "sqlite":
        op.execute(_FILTERS_DOWN.replace(" ON customers", "") if name == "postgresql" else _FILTERS_DOWN)
    op.drop_index(op.f("ix_customers_status_name_key_id"), "customers")
    op.drop_index(op.f("ix_customers_sales_rep"), "customers")
    op.drop_index(op.f("ix_customers_region"), "customers")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("search_grams")
