"""Search: two-character terms checked on short index entries on SQLite (DESIGN.md section 7).

Revision ID: 0009_search_sqlite
Revises: 0008_search
Create Date: 2026-11-27

A common two-character Chinese term with a status filter, sorted by name ("深圳", status=active),
reads ``ix_customers_search_by_status (status, name_key, id, search_text)`` in name order and checks
``instr`` on each entry's whole search text: at a million customers 17,630 entries (15-51 ms) before
it has 20 matches. ``ix_customers_search_grams_by_status (status, name_key, id, search_grams)``
carries the short bigram token list instead (``domain.search.search_grams``), where the term's token
is found exactly (``instr(' ' || search_grams || ' ', ' token ')``); the page's rows are then read by
id. The index is partial, ``WHERE search_grams <> ''`` (the customers with a bigram at all, 46% of
the generated data), which the query repeats: the scan skips the Latin-only names, and no other query
can pick this index instead of the ones carrying the search text (without the predicate, SQLite chose
it for the plain "status + term, by name" plan, which then read every customer row: 6 ms -> 90 ms).
SQLite has no entry size limit (long entries go to overflow pages), so unlike PostgreSQL's
(0008_search) it needs no size bound. PostgreSQL and MariaDB: nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009_search_sqlite"
down_revision: str | None = "0008_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_UP = [
    "CREATE INDEX IF NOT EXISTS ix_customers_search_grams_by_status"
    " ON customers (status, name_key, id, search_grams) WHERE search_grams <> ''",
]
_SQLITE_DOWN = ["DROP INDEX IF EXISTS ix_customers_search_grams_by_status"]


def upgrade() -> None:
    """Create the SQLite bigram index (nothing on other engines)."""
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_UP:
            op.execute(statement)


def downgrade() -> None:
    """Drop what :func:`upgrade` added."""
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_DOWN:
            op.execute(statement)
