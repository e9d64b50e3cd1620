"""Search: index-only bigram scans in name order on PostgreSQL (DESIGN.md section 7).

Revision ID: 0008_search
Revises: 0007_search
Create Date: 2026-11-26

A two-character Chinese term with a status filter, sorted by name, is common ("深圳", "科技"), so
its page is read in name order from ``(status, name_key, id)`` and the term checked on each row.
PostgreSQL checks that only after fetching the heap row: at a million customers it read 17,630 rows
(337 ms) before it had 20 matches. These indexes let the check run on index entries instead:

- ``ix_customers_grams_by_status``: ``(status, name_key, id) INCLUDE (search_grams)`` over the
  customers whose bigram list is short (``octet_length(search_grams) <= 1000``, so an entry stays
  under the B-tree's 2,704-byte limit with a 500-character name key); a two-character term is a
  bigram token in that list exactly when it is a substring of the search text, so an index-only
  scan finds the page's ids;
- ``ix_customers_grams_long_by_status``: ``(status, name_key, id)`` over the rest (almost none),
  scanned beside it with the same check;
- ``ix_customers_grams_by_id``: ``(status, id) INCLUDE (search_grams)`` over the same short lists,
  for the count ("at least 200"), which stops at 201 matches in any order: in id order (random)
  the matches come at the term's average density, where name order puts the Latin names, which
  rarely hold a Chinese term, first (at a million: 8,500 entries read for 201 matches of "上海"
  instead of 38,000).

SQLite's covering indexes already carry the whole search text (0003_search); MariaDB scans.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008_search"
down_revision: str | None = "0007_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PG_UP = [
    "CREATE INDEX ix_customers_grams_by_status ON customers (status, name_key, id) INCLUDE (search_grams)"
    " WHERE octet_length(search_grams) <= 1000",
    "CREATE INDEX ix_customers_grams_long_by_status ON customers (status, name_key, id)"
    " WHERE octet_length(search_grams) > 1000",
    "CREATE INDEX ix_customers_grams_by_id ON customers (status, id) INCLUDE (search_grams)"
    " WHERE octet_length(search_grams) <= 1000",
]
_PG_DOWN = [
    "DROP INDEX IF EXISTS ix_customers_grams_by_id",
    "DROP INDEX IF EXISTS ix_customers_grams_long_by_status",
    "DROP INDEX IF EXISTS ix_customers_grams_by_status",
]


def upgrade() -> None:
    """Create the PostgreSQL bigram indexes (nothing on other engines)."""
    if op.get_bind().dialect.name == "postgresql":
        for statement in _PG_UP:
            op.execute(statement)


def downgrade() -> None:
    """Drop what :func:`upgrade` added."""
    if op.get_bind().dialect.name == "postgresql":
        for statement in _PG_DOWN:
            op.execute(statement)
