"""Customer search on SQL: the text rules of :mod:`bigledger_customers.domain.search`, answered fast.

The answer is always "every folded term is a substring of ``search_text``" (checked with ``instr`` on
SQLite and an escaped ``LIKE`` elsewhere), so results equal the in-memory reference on every engine.
What the engine's text index adds is *where the candidates come from* (DESIGN.md section 7):

- SQLite: FTS5 ``customer_text`` (trigram tokenizer, terms of 3+ characters) and ``customer_grams``
  (tokens of :func:`~bigledger_customers.domain.search.search_grams`, two-character terms in
  scripts without spaces), both external-content tables over ``customers`` kept by triggers.
- PostgreSQL: a pg_trgm GIN index on ``search_text`` and a GIN index on the bigram token array.
- MariaDB: no text index; the filters and the sort index narrow the scan.

Plan choice by selectivity: the index is probed for at most :data:`CANDIDATE_CAP` candidates. Fewer
(a selective term): the page is sorted from those candidates (a bounded set). More (a broad word
such as "trading"): the rows are read in sort order from the sort index and the term is checked on
each, which finds a page of a common word after a few hundred rows instead of sorting 100,000.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from bigledger_customers.adapters.sql import _tables as t
from bigledger_customers.domain.access import DataScope
from bigledger_customers.domain.customer import Customer
from bigledger_customers.domain.search import (
    CustomerQuery,
    Page,
    SortKey,
    decode_cursor,
    encode_cursor,
    gram_term,
    page_total,
)

__all__ = ["CANDIDATE_CAP", "SEARCH_INDEXES", "search"]

#: Most candidates a text index may hand over for the page to be sorted from them.
CANDIDATE_CAP: Final = 400
#: Indexes the search migration creates outside the table metadata (engine-specific operator
#: classes and expressions); the schema comparison leaves them alone.
SEARCH_INDEXES: Final = frozenset(
    {
        "ix_customers_search_text_trgm",
        "ix_customers_search_grams",
        "ix_customers_search_by_name",
        "ix_customers_search_by_status",
        "ix_customers_search_by_filters",
    }
)

_c = t.customers.c
_SQLITE_TEXT = sa.table("customer_text", sa.column("rowid"), sa.column("customer_text"))
_SQLITE_GRAMS = sa.table("customer_grams", sa.column("rowid"), sa.column("customer_grams"))
_ROWID: sa.ColumnClause[Any] = sa.literal_column("customers.rowid")


def _fts_phrase(term: str) -> str:
    """An FTS5 string literal: every character literal, operators (AND, OR, NEAR, *) inert."""
    return '"' + term.replace('"', '""') + '"'


def _trigram_match(term: str) -> str:
    """An FTS5 query for the trigrams covering ``term`` (every third one and the last).

    The trigram index keeps no positions (``detail=none``, a third of the size), so a term is
    found as the AND of trigrams that cover it; ``instr`` then confirms the substring.
    """
    starts = sorted({*range(0, len(term) - 2, 3), len(term) - 3})
    return " AND ".join(dict.fromkeys(_fts_phrase(term[i : i + 3]) for i in starts))


def _term_condition(dialect: str, term: str) -> sa.ColumnElement[bool]:
    if dialect == "sqlite":
        return sa.func.instr(_c.search_text, term) > 0
    return _c.search_text.contains(term, autoescape=True)


def _filter_conditions(query: CustomerQuery) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    for name in ("status", "customer_type", "category", "level", "region", "sales_rep", "branch"):
        value = getattr(query, name)
        if value is not None:
            conditions.append(_c[name] == str(value))
    if query.scope is not None:  # the actor's data scope (domain.access.DataScope), an equality per identity
        conditions.append(_scope_condition(query.scope))
    for tag in sorted(query.tags):
        conditions.append(sa.exists().where(t.customer_tags.c.customer_id == _c.id, t.customer_tags.c.tag == tag))
    if query.created_from is not None:
        conditions.append(_c.created_at >= query.created_from)
    if query.created_to is not None:
        conditions.append(_c.created_at < query.created_to)
    return conditions


def _scope_condition(scope: DataScope) -> sa.ColumnElement[bool]:
    parts = [_c.sales_rep == scope.sales_rep] if scope.sales_rep is not None else []
    parts += [_c.branch == scope.branch] if scope.branch is not None else []
    return sa.or_(*parts) if parts else sa.false()


def _sort_column(query: CustomerQuery) -> sa.ColumnElement[Any]:
    return {SortKey.NAME: _c.name_key, SortKey.CODE: _c.code_key, SortKey.CREATED: _c.created_at}[query.sort]


def _keyset(dialect: str, query: CustomerQuery, sort_column: sa.ColumnElement[Any]) -> sa.ColumnElement[bool] | None:
    if query.cursor is None:
        return None
    raw_value, last_id = decode_cursor(query.cursor)
    value: Any = raw_value
    if query.sort is SortKey.CREATED:
        try:
            value = dt.datetime.fromisoformat(raw_value)
        except ValueError:
            value = None
        if value is None or value.tzinfo is None:
            from bigledger_customers.errors import ValidationError

            raise ValidationError("cursor is not one this library issued", field="cursor", value=query.cursor)
    if dialect in ("sqlite", "postgresql"):  # row values walk the (sort, id) index directly
        pair = sa.tuple_(sort_column, _c.id)
        bound = sa.tuple_(sa.literal(value, sort_column.type), sa.literal(last_id, _c.id.type))
        return pair < bound if query.descending else pair > bound
    if query.descending:
        return sa.or_(sort_column < value, sa.and_(sort_column == value, _c.id < last_id))
    return sa.or_(sort_column > value, sa.and_(sort_column == value, _c.id > last_id))


class _Candidates:
    """Where a selective term's candidates come from: a subquery of customer keys, or None (scan)."""

    def __init__(self, conn: sa.Connection, terms: Sequence[str]) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name
        self.long_terms = [term for term in terms if len(term) >= 3]
        self.gram_tokens = [tok for tok in (gram_term(term) for term in terms) if tok is not None]

    def _sources(self) -> list[sa.Select[Any]]:
        sources: list[sa.Select[Any]] = []
        if self.dialect == "sqlite":
            if self.long_terms:
                match = " AND ".join(_trigram_match(term) for term in self.long_terms)
                sources.append(sa.select(_SQLITE_TEXT.c.rowid).where(_SQLITE_TEXT.c.customer_text.op("MATCH")(match)))
            if self.gram_tokens:
                match = " AND ".join(self.gram_tokens)
                sources.append(
                    sa.select(_SQLITE_GRAMS.c.rowid).where(_SQLITE_GRAMS.c.customer_grams.op("MATCH")(match))
                )
        elif self.dialect == "postgresql":
            if self.long_terms:
                sources.append(
                    sa.select(_c.id).where(
                        *(_c.search_text.contains(term, autoescape=True) for term in self.long_terms)
                    )
                )
            if self.gram_tokens:
                grams = sa.func.string_to_array(_c.search_grams, sa.literal_column("' '"))
                wanted = sa.literal(self.gram_tokens, postgresql.ARRAY(sa.Text()))
                sources.append(sa.select(_c.id).where(grams.op("@>")(wanted)))
        return sources

    def best(self) -> tuple[sa.Select[Any] | None, int | None]:
        """The most selective index source holding at most CANDIDATE_CAP keys, with its size."""
        best: tuple[sa.Select[Any] | None, int | None] = (None, None)
        for source in self._sources():
            probe = sa.select(sa.func.count()).select_from(source.limit(CANDIDATE_CAP + 1).subquery())
            size = int(self.conn.execute(probe).scalar_one())
            if size <= CANDIDATE_CAP and (best[1] is None or size < best[1]):
                best = (source, size)
        return best


def search(
    conn: sa.Connection, query: CustomerQuery, load: Callable[[Sequence[Any]], list[Customer]]
) -> Page[Customer]:
    """One page of customers matching ``query`` (see the module docstring for the plan)."""
    dialect = conn.dialect.name
    terms = query.terms
    sort_column = _sort_column(query)
    conditions = _filter_conditions(query)
    conditions.extend(_term_condition(dialect, term) for term in terms)
    source, _size = _Candidates(conn, terms).best() if terms else (None, None)

    base: sa.FromClause = t.customers
    order_column = sort_column
    if source is not None:
        if dialect == "sqlite":
            # rowid IN (candidates), and a sort key the sort index cannot serve ("+column"), so SQLite
            # loops over the few candidates and sorts them rather than walking the whole sort index.
            conditions.append(_ROWID.in_(source))
            order_column = sa.literal_column(f"+customers.{sort_column.key}")
        else:
            cand = source.cte("cand").prefix_with("MATERIALIZED")
            base = sa.join(cand, t.customers, _c.id == cand.c[0])

    total: int | None = None
    if query.counts:
        counted = sa.select(sa.literal(1)).select_from(base).where(*conditions).limit(query.count_limit + 1)
        total = int(conn.execute(sa.select(sa.func.count()).select_from(counted.subquery())).scalar_one())

    keyset = _keyset(dialect, query, sort_column)
    where = [*conditions, keyset] if keyset is not None else conditions
    direction = sa.desc if query.descending else sa.asc
    order = [direction(order_column), direction(_c.id)]
    stmt = sa.select(_c.id, sort_column.label("sort_value"), _c.doc).select_from(base).where(*where)
    stmt = stmt.order_by(*order).limit(query.limit + 1)
    rows = conn.execute(stmt).all()
    items = load([row.doc for row in rows[: query.limit]])
    next_cursor = None
    if len(rows) > query.limit:
        last = rows[query.limit - 1]
        # created times as UTC ISO text, as the in-memory adapter writes them
        value = last.sort_value
        if isinstance(value, dt.datetime):
            value = value.astimezone(dt.UTC).isoformat()
        next_cursor = encode_cursor([value, last.id])
    shown_total, estimate = page_total(query, total)
    return Page(items=items, next_cursor=next_cursor, total=shown_total, total_is_estimate=estimate)
