"""Search keys (DESIGN.md sections 3 and 7).

Revision ID: 0007_search
Revises: 0003_search
Create Date: 2026-11-26

- ``customer_search_keys``: the equality keys of each customer's search document
  (``domain.search.search_keys``: identifier words such as tax numbers and codes, and every part of
  a word starting at ``+``, i.e. E.164 phones), back-filled here. A whole phone number or an
  identifier query is a range look-up on ``(search_key, customer_id)`` instead of a trigram probe
  whose common trigrams (``+60``, ``123``) cover most of the table.

The credit-limit index is ``0007_search_credit`` (it needs the credit profile table of ``0005_credit``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from alembic import op

from bigledger_customers.adapters.sql._types import key_string

revision: str = "0007_search"
down_revision: str | None = "0003_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY_LENGTH = 200
_BATCH = 10_000


def _is_identifier(term: str) -> bool:
    """A frozen copy of ``domain.search.is_identifier`` (migrations must not change with the code)."""
    return (
        len(term) >= 8
        and not term.startswith("+")
        and sum("0" <= ch <= "9" for ch in term) >= 4
        and any("a" <= ch <= "z" for ch in term)
    )


def _keys(folded: str) -> Iterator[str]:
    """A frozen copy of ``domain.search.search_keys``."""
    keys: set[str] = set()
    for word in folded.split():
        if _is_identifier(word):
            keys.add(word[:_KEY_LENGTH])
        start = word.find("+")
        while start != -1:
            keys.add(word[start : start + _KEY_LENGTH])
            start = word.find("+", start + 1)
    return iter(sorted(keys))


def _backfill() -> None:
    bind = op.get_bind()
    customers = sa.table("customers", sa.column("id"), sa.column("search_text"))
    keys = sa.table("customer_search_keys", sa.column("customer_id"), sa.column("search_key"))
    last = ""
    while True:  # keyset batches: constant memory at a million customers
        rows = bind.execute(
            sa.select(customers.c.id, customers.c.search_text)
            .where(customers.c.id > last)
            .order_by(customers.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        values = [{"customer_id": r.id, "search_key": key} for r in rows for key in _keys(r.search_text)]
        if values:
            bind.execute(sa.insert(keys), values)
        last = rows[-1].id


def upgrade() -> None:
    """Create and fill the search keys."""
    op.create_table(
        "customer_search_keys",
        sa.Column("customer_id", key_string(64), nullable=False),
        sa.Column("search_key", key_string(_KEY_LENGTH), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_search_keys_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", "search_key", name=op.f("pk_customer_search_keys")),
    )
    _backfill()
    op.create_index(
        op.f("ix_customer_search_keys_search_key_customer_id"), "customer_search_keys", ["search_key", "customer_id"]
    )


def downgrade() -> None:
    """Drop what :func:`upgrade` added."""
    op.drop_index(op.f("ix_customer_search_keys_search_key_customer_id"), "customer_search_keys")
    op.drop_table("customer_search_keys")
