"""Customer search on SQL: the text rules of :mod:`bigledger_customers.domain.search`, answered fast.

The answer is always "every folded term is a substring of ``search_text``" (checked with ``instr`` on
SQLite and an escaped ``LIKE`` elsewhere), so results equal the in-memory reference on every engine.
What the engine's text index adds is *where the candidates come from* (DESIGN.md section 7):

- SQLite: FTS5 ``customer_text`` (trigram tokenizer, terms of 3+ characters) and ``customer_grams``
  (tokens of :func:`~bigledger_customers.domain.search.search_grams`, two-character terms in
  scripts without spaces), both external-content tables over ``customers`` kept by triggers.
- PostgreSQL: a pg_trgm GIN index on ``search_text`` and a GIN index on the bigram token array
  (candidates only; a common term is checked with ``strpos``, which they cannot serve), and partial
  B-trees carrying ``search_grams`` (0008_search) for index-only scans of common two-character
  terms with a status filter in name order (:func:`_gram_scan_tokens`). SQLite does the same on
  ``ix_customers_search_grams_by_status`` (0009_search_sqlite, :func:`_sqlite_gram_page`).
- MariaDB: no text index; the filters and the sort index narrow the scan.
- Every engine: ``customer_search_keys`` (:func:`~bigledger_customers.domain.search.search_keys`)
  answers a whole phone number (a term starting with ``+``) and an identifier term (a tax number, a
  code) with a B-tree range look-up; it is asked first, and when it holds few enough keys the text
  indexes are not probed at all. ``credit_profiles (currency, limit_minor, customer_id)`` does the
  same for a credit-limit range.

Plan choice by selectivity: the index is probed for at most :data:`CANDIDATE_CAP` candidates. Fewer
(a selective term): the page is sorted from those candidates (a bounded set, fetched once and passed
back as a list of keys, so the text index is not evaluated again for the count and the page). More (a broad word
such as "trading"): the rows are read in sort order from the sort index and the term is checked on
each, which finds a page of a common word after a few hundred rows instead of sorting 100,000.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from bigledger_customers.adapters.sql import _tables as t
from bigledger_customers.adapters.sql._credit import credit_profiles
from bigledger_customers.domain.access import DataScope
from bigledger_customers.domain.customer import Customer
from bigledger_customers.domain.search import (
    CustomerQuery,
    Page,
    SortKey,
    credit_sort_value,
    decode_credit_cursor,
    decode_cursor,
    encode_cursor,
    gram_term,
    is_identifier,
    key_term,
    page_total,
    search_keys,
)

__all__ = ["CANDIDATE_CAP", "SEARCH_INDEXES", "search", "search_key_rows"]

#: Most candidates a text index may hand over for the page to be sorted from them.
CANDIDATE_CAP: Final = 400
#: PostgreSQL: a text source the planner expects to hold more rows than this is not probed.
_COMMON_ESTIMATE: Final = 10 * CANDIDATE_CAP
#: Indexes the search migration creates outside the table metadata (engine-specific operator
#: classes and expressions); the schema comparison leaves them alone.
SEARCH_INDEXES: Final = frozenset(
    {
        "ix_customers_search_text_trgm",
        "ix_customers_search_grams",
        "ix_customers_search_by_name",
        "ix_customers_search_by_status",
        "ix_customers_search_by_filters",
        "ix_credit_profiles_search_limit",  # 0007_search: credit_profiles is another module's table
        "ix_customers_grams_by_status",  # 0008_search: PostgreSQL, partial, INCLUDE
        "ix_customers_grams_long_by_status",
        "ix_customers_grams_by_id",
        "ix_customers_search_grams_by_status",  # 0009_search_sqlite: SQLite only
    }
)
#: PostgreSQL: customers whose bigram list has at most this many bytes are in the index-only
#: ``ix_customers_grams_by_status`` (0008_search, the same literal in its predicate), the rest in
#: ``ix_customers_grams_long_by_status``.
_SHORT_GRAMS: Final = 1000

_c = t.customers.c
_k = t.customer_search_keys.c
_cp = credit_profiles.c
#: Above every character: ``key >= term AND key < term + _TOP`` is "key starts with term".
_TOP: Final = "\U0010ffff"
_SQLITE_TEXT = sa.table("customer_text", sa.column("rowid"), sa.column("customer_text"))
_SQLITE_GRAMS = sa.table("customer_grams", sa.column("rowid"), sa.column("customer_grams"))
_ROWID: sa.ColumnClause[Any] = sa.literal_column("customers.rowid")
#: PostgreSQL: the expression of ix_customers_search_grams (0003_search), whose statistics give the
#: planner the term's frequency: a page of a common term then costs a few index pages, not the whole
#: index. Built once (with the parts below): they hold no values, and each search built them twice
#: or three times (a tenth of ``_gram_halves``' CPU).
_GRAM_ARRAY = sa.func.string_to_array(_c.search_grams, sa.literal_column("' '"))
_TEXT_ARRAY = postgresql.ARRAY(sa.Text())
_GRAM_SIZE = sa.func.octet_length(_c.search_grams)
#: The two 0008_search partial indexes' predicates. The bound is a literal, not a parameter: the
#: planner must see the predicates in the query.
_GRAM_BOUND: sa.ColumnElement[int] = sa.literal_column(str(_SHORT_GRAMS), sa.Integer())
_GRAM_PARTS = (_GRAM_SIZE <= _GRAM_BOUND, _GRAM_SIZE > _GRAM_BOUND)


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


def _key_range(term: str) -> list[sa.ColumnElement[bool]]:
    return [_k.search_key >= term, _k.search_key < term + _TOP]


def _term_condition(dialect: str, term: str) -> sa.ColumnElement[bool]:
    if dialect == "sqlite":
        found = sa.func.instr(_c.search_text, term) > 0
    elif dialect == "postgresql":
        # strpos, not LIKE: the same substring test, but one pg_trgm cannot serve. The trigram index
        # is only asked for a bounded candidate set (_Candidates); a term that reaches this check
        # without one is common, and its page comes from the sort index in order. With LIKE the
        # planner, which underestimates long words (it multiplies their trigrams' selectivities),
        # built a bitmap of every row holding "manufacturing" (62,000 at a million, 72 ms) to AND
        # with the filters' index instead of reading 20 rows in name order from that index.
        found = sa.func.strpos(_c.search_text, term) > 0
    else:
        found = _c.search_text.contains(term, autoescape=True)
    if is_identifier(term):  # an identifier begins a word: one of the customer's search keys starts with it
        return sa.and_(found, sa.exists().where(_k.customer_id == _c.id, *_key_range(term)))
    return found


def _credit_conditions(query: CustomerQuery) -> list[sa.ColumnElement[bool]]:
    currency = query.sort_currency
    low, high = query.credit_range
    if currency is None or not query.filters_credit:
        return []
    limits = [_cp.customer_id == _c.id, _cp.currency == currency, _cp.limit_minor.is_not(None)]
    limits += [_cp.limit_minor >= low] if low is not None else []
    limits += [_cp.limit_minor <= high] if high is not None else []
    return [sa.exists().where(*limits)]


def _credit_sort(currency: str) -> sa.ColumnElement[Any]:
    limit = sa.select(_cp.limit_minor).where(_cp.customer_id == _c.id, _cp.currency == currency).scalar_subquery()
    return sa.func.coalesce(limit, credit_sort_value(None))


def search_key_rows(documents: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """The ``customer_search_keys`` rows of ``(customer id, search text)`` pairs (every save writes them)."""
    return [{"customer_id": cid, "search_key": key} for cid, text in documents for key in sorted(search_keys(text))]


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
    conditions.extend(_credit_conditions(query))
    return conditions


def scope_condition(scope: DataScope) -> sa.ColumnElement[bool]:
    """The SQL condition of an actor's data scope on the customers table (also used by match look-ups)."""
    return _scope_condition(scope)


def _scope_condition(scope: DataScope) -> sa.ColumnElement[bool]:
    parts = [_c.sales_rep == scope.sales_rep] if scope.sales_rep is not None else []
    parts += [_c.branch == scope.branch] if scope.branch is not None else []
    return sa.or_(*parts) if parts else sa.false()


def _sort_column(query: CustomerQuery) -> sa.ColumnElement[Any]:
    if query.sort is SortKey.CREDIT_LIMIT:
        assert query.sort_currency is not None  # CustomerQuery refuses a credit sort without a currency
        return _credit_sort(query.sort_currency)
    return {SortKey.NAME: _c.name_key, SortKey.CODE: _c.code_key, SortKey.CREATED: _c.created_at}[query.sort]


def _keyset(dialect: str, query: CustomerQuery, sort_column: sa.ColumnElement[Any]) -> sa.ColumnElement[bool] | None:
    if query.cursor is None:
        return None
    value: Any
    if query.sort is SortKey.CREDIT_LIMIT:
        value, last_id = decode_credit_cursor(query.cursor)
    else:
        value, last_id = decode_cursor(query.cursor)
    if query.sort is SortKey.CREATED:
        try:
            value = dt.datetime.fromisoformat(value)
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


def _gram_scan_tokens(
    dialect: str, query: CustomerQuery, terms: Sequence[str], found: object | None
) -> list[str] | None:
    """PostgreSQL and SQLite: the bigram tokens of a query whose page comes from index-only scans
    of the 0008_search indexes (PostgreSQL) or of 0009_search_sqlite's index, or None for the plain plan.

    That is a common query (no bounded candidates) of two-character terms only, sorted by name,
    whose only filter is the status: exactly the columns those indexes hold. A two-character term
    of :func:`~bigledger_customers.domain.search.is_gram_char` characters is a substring of the
    search text exactly when its token is in ``search_grams``, so the check needs no heap row.
    """
    if dialect not in ("postgresql", "sqlite") or found is not None or not terms or query.sort is not SortKey.NAME:
        return None
    if query.status is None or len(_filter_conditions(query)) != 1:
        return None
    tokens = [gram_term(term) for term in terms]
    return None if any(token is None for token in tokens) else [token for token in tokens if token is not None]


def _gram_halves(
    query: CustomerQuery,
    tokens: Sequence[str],
    keyset: sa.ColumnElement[bool] | None,
    limit: int,
    *,
    ordered: bool = True,
) -> list[sa.Select[Any]]:
    """The status's customers holding every token, from each 0008_search index (short bigram
    lists: index-only; long ones: the few others), at most ``limit`` of each, in name order when
    ``ordered`` (a page; a count takes them in any order)."""
    wanted = _GRAM_ARRAY.op("@>")(sa.literal(list(tokens), _TEXT_ARRAY))
    status = _c.status == str(query.status)
    direction = sa.desc if query.descending else sa.asc
    halves = []
    for part in _GRAM_PARTS:
        where = [status, part, wanted, *([keyset] if keyset is not None else [])]
        if ordered:
            half = sa.select(_c.id, _c.name_key.label("sort_value")).where(*where)
            half = half.order_by(direction(_c.name_key), direction(_c.id))
        else:  # the id alone, so ix_customers_grams_by_id can answer it (see 0008_search)
            half = sa.select(_c.id).where(*where)
        halves.append(half.limit(limit))
    return halves


def _sqlite_gram_page(
    query: CustomerQuery, tokens: Sequence[str], keyset: sa.ColumnElement[bool] | None, limit: int
) -> sa.Select[Any]:
    """SQLite: the ids and name keys of the status's customers holding every token, in name order,
    from ``ix_customers_search_grams_by_status (status, name_key, id, search_grams) WHERE search_grams <> ''``
    (0009_search_sqlite).

    ``instr(' ' || search_grams || ' ', ' token ')`` is exact (tokens are space separated and hold
    no space), and each entry checked is the short bigram list, not the whole search text that
    ``ix_customers_search_by_status`` carries (often on overflow pages): at a million customers a
    page of "深圳" with status=active checks ~17,600 entries before it has 20 matches.
    """
    spaced = sa.literal(" ") + _c.search_grams + sa.literal(" ")
    # the index's predicate, literally (a literal, not a parameter, so SQLite sees it implied)
    listed = _c.search_grams != sa.literal_column("''")
    where = [_c.status == str(query.status), listed, *(sa.func.instr(spaced, f" {token} ") > 0 for token in tokens)]
    direction = sa.desc if query.descending else sa.asc
    page = sa.select(_c.id, _c.name_key.label("sort_value")).where(*where, *([keyset] if keyset is not None else []))
    return page.order_by(direction(_c.name_key), direction(_c.id)).limit(limit)


class _Candidates:
    """Where a selective query's candidates come from: a bounded list of keys, or None (scan)."""

    def __init__(self, conn: sa.Connection, query: CustomerQuery, terms: Sequence[str]) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name
        self.query = query
        self.key_terms = [term for term in terms if key_term(term)]
        #: SQLite: the FTS5 table and MATCH of the last text source, to drive a count (see count_from)
        self.fts: tuple[Any, sa.ColumnElement[bool]] | None = None
        self.long_terms = [term for term in terms if len(term) >= 3]
        self.gram_tokens = [tok for tok in (gram_term(term) for term in terms) if tok is not None]

    def _exact_sources(self) -> list[tuple[sa.ColumnElement[Any], sa.Select[Any]]]:
        """B-tree sources (search keys, credit limits): asked first, they are cheap and tight."""
        sources: list[tuple[sa.ColumnElement[Any], sa.Select[Any]]] = []
        for term in self.key_terms:
            sources.append((_c.id, sa.select(_k.customer_id).where(*_key_range(term)).distinct()))
        currency, (low, high) = self.query.sort_currency, self.query.credit_range
        if currency is not None and self.query.filters_credit:
            limits = [_cp.currency == currency, _cp.limit_minor.is_not(None)]
            limits += [_cp.limit_minor >= low] if low is not None else []
            limits += [_cp.limit_minor <= high] if high is not None else []
            sources.append((_c.id, sa.select(_cp.customer_id).where(*limits)))
        return sources

    def _text_sources(self) -> list[tuple[sa.ColumnElement[Any], sa.Select[Any]]]:
        sources: list[tuple[sa.ColumnElement[Any], sa.Select[Any]]] = []
        if self.dialect == "sqlite":
            if self.gram_tokens:
                grams = _SQLITE_GRAMS.c.customer_grams.op("MATCH")(" AND ".join(self.gram_tokens))
                sources.append((_ROWID, sa.select(_SQLITE_GRAMS.c.rowid).where(grams)))
                self.fts = (_SQLITE_GRAMS, grams)
            if self.long_terms:
                text = _SQLITE_TEXT.c.customer_text.op("MATCH")(
                    " AND ".join(_trigram_match(term) for term in self.long_terms)
                )
                sources.append((_ROWID, sa.select(_SQLITE_TEXT.c.rowid).where(text)))
                self.fts = (_SQLITE_TEXT, text)
        elif self.dialect == "postgresql":
            if self.long_terms:
                sources.append(
                    (
                        _c.id,
                        sa.select(_c.id).where(
                            *(_c.search_text.contains(term, autoescape=True) for term in self.long_terms)
                        ),
                    )
                )
            if self.gram_tokens:
                wanted = sa.literal(self.gram_tokens, _TEXT_ARRAY)
                sources.append((_c.id, sa.select(_c.id).where(_GRAM_ARRAY.op("@>")(wanted))))
        return sources

    def best(self) -> tuple[sa.ColumnElement[Any], list[Any]] | None:
        """The smallest index source holding at most CANDIDATE_CAP keys: (column, keys), or None.

        The B-tree sources are probed first; when one of them is bounded the text indexes are not
        probed at all (a phone number's common trigrams cost more than its exact look-up).
        """
        best: tuple[sa.ColumnElement[Any], list[Any]] | None = None
        for group in (self._exact_sources, self._text_sources):
            for column, source in group():
                if group == self._text_sources and self._surely_common(source):
                    continue
                # all(): one fetchall; iterating the result fetched the 401 keys of a common term one by one
                keys = list(self.conn.execute(source.limit(CANDIDATE_CAP + 1)).scalars().all())
                if len(keys) <= CANDIDATE_CAP and (best is None or len(keys) < len(best[1])):
                    best = (column, keys)
            if best is not None:
                return best
        return best

    def _surely_common(self, source: sa.Select[Any]) -> bool:
        """PostgreSQL: True when the planner expects the text source to hold far more than
        CANDIDATE_CAP rows (from pg_trgm's and the array's statistics), so it is not probed.

        Probing a common term costs a GIN bitmap of all its rows (40-65 ms measured for "manu" and
        "深圳" at 100,000) only to learn that the page must come from the sort-order scan. The
        planner underestimates terms of several trigrams (it multiplies their selectivities), which
        errs on the safe side: a probe. SQLite's FTS5 probe stops after CANDIDATE_CAP + 1 rowids.
        """
        if self.dialect != "postgresql":
            return False
        compiled = source.compile(dialect=self.conn.dialect)
        plan = self.conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + compiled.string, compiled.params).scalar_one()
        return int(plan[0]["Plan"]["Plan Rows"]) > _COMMON_ESTIMATE

    def count_from(self, query: CustomerQuery) -> tuple[sa.FromClause, list[sa.ColumnElement[bool]]] | None:
        """SQLite, a common term and no filter but status: the FROM and extra condition of a count
        driven by the FTS5 index (its rows in rowid order, each customer looked up by rowid).

        The count stops at ``count_limit + 1`` matches; walking the term's doclist finds them after
        a few hundred look-ups, where a scan of the status index checks every active customer's text
        until it has seen enough (measured on 100,000 customers: 0.3 ms against 60-150 ms for a
        two-character Chinese term with status=active). A selective filter (category, region, a
        sales rep's scope...) is better served by its own index, so it keeps the plain count.
        """
        weak = all(getattr(query, name) is None for name in _STRONG_FILTERS) and not query.tags
        if self.fts is None or not weak or query.scope is not None or query.filters_credit:
            return None
        table, match = self.fts
        return sa.join(table, t.customers, table.c.rowid == _ROWID), [match]


#: Filters selective enough that a count walks their index rather than the text index.
_STRONG_FILTERS: Final = (
    "customer_type",
    "category",
    "level",
    "region",
    "sales_rep",
    "branch",
    "created_from",
    "created_to",
)


def search(
    conn: sa.Connection, query: CustomerQuery, load: Callable[[Sequence[Any]], list[Customer]]
) -> Page[Customer]:
    """One page of customers matching ``query`` (see the module docstring for the plan)."""
    dialect = conn.dialect.name
    terms = query.terms
    sort_column = _sort_column(query)
    conditions = _filter_conditions(query)
    conditions.extend(_term_condition(dialect, term) for term in terms)
    candidates = _Candidates(conn, query, terms) if terms or query.filters_credit else None
    found = candidates.best() if candidates is not None else None

    tokens = _gram_scan_tokens(dialect, query, terms, found)
    order_column = sort_column
    if found is not None:
        column, keys = found
        conditions.append(column.in_(keys))
        if dialect == "sqlite" and query.sort is not SortKey.CREDIT_LIMIT:
            # a sort key the sort index cannot serve ("+column"), so SQLite looks up the few
            # candidates and sorts them rather than walking the whole sort index.
            order_column = sa.literal_column(f"+customers.{sort_column.key}")

    total: int | None = None
    # At most a page of candidates (an exact phone, a tax number): the page query sees every match,
    # so its length is the count and the count query is not needed.
    whole = found is not None and len(found[1]) <= query.limit
    if query.counts and not whole:
        driver = candidates.count_from(query) if candidates is not None and found is None else None
        source, extra = driver if driver is not None else (t.customers, [])
        # SQLite counts a common bigram term on the FTS5 doclist (count_from): 201 matches in rowid
        # order cost ~0.8 ms at a million, where name order meets the Latin names first.
        counted: sa.Select[Any] | sa.CompoundSelect[Any] = (
            sa.select(sa.literal(1)).select_from(source).where(*extra, *conditions)
            if tokens is None or dialect == "sqlite"
            else sa.union_all(*_gram_halves(query, tokens, None, query.count_limit + 1, ordered=False))
        )
        counted = counted.limit(query.count_limit + 1)
        total = int(conn.execute(sa.select(sa.func.count()).select_from(counted.subquery())).scalar_one())

    keyset = _keyset(dialect, query, sort_column)
    direction = sa.desc if query.descending else sa.asc
    if tokens is None:
        where = [*conditions, keyset] if keyset is not None else conditions
        stmt = sa.select(_c.id, sort_column.label("sort_value"), _c.doc).select_from(t.customers).where(*where)
        stmt = stmt.order_by(direction(order_column), direction(_c.id))
    else:  # the page's ids from the index-only scans, then only those rows
        ids = (
            _sqlite_gram_page(query, tokens, keyset, query.limit + 1).subquery("page")
            if dialect == "sqlite"
            else sa.union_all(*_gram_halves(query, tokens, keyset, query.limit + 1)).subquery("page")
        )
        stmt = sa.select(_c.id, ids.c.sort_value, _c.doc).select_from(ids.join(t.customers, _c.id == ids.c.id))
        stmt = stmt.order_by(direction(ids.c.sort_value), direction(ids.c.id))
    rows = conn.execute(stmt.limit(query.limit + 1)).all()
    if query.counts and whole:
        total = len(rows)
    items = load([row.doc for row in rows[: query.limit]])
    next_cursor = None
    if len(rows) > query.limit:
        last = rows[query.limit - 1]
        # created times as UTC ISO text, as the in-memory adapter writes them
        value = last.sort_value
        if isinstance(value, dt.datetime):
            value = value.astimezone(dt.UTC).isoformat()
        elif query.sort is SortKey.CREDIT_LIMIT:
            value = str(value)
        next_cursor = encode_cursor([value, last.id])
    shown_total, estimate = page_total(query, total)
    return Page(items=items, next_cursor=next_cursor, total=shown_total, total_is_estimate=estimate)
