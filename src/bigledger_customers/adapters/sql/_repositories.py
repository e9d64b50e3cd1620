"""Repositories of :mod:`bigledger_customers.ports` on SQLAlchemy Core.

Each repository works on the connection of its unit of work and never commits.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite

from bigledger_customers.adapters.sql import _search
from bigledger_customers.adapters.sql import _tables as t
from bigledger_customers.adapters.sql._types import UtcDateTime
from bigledger_customers.domain.access import DataScope
from bigledger_customers.domain.convert import load_stored, structure, unstructure
from bigledger_customers.domain.customer import Customer
from bigledger_customers.domain.duplicates import index_keys
from bigledger_customers.domain.records import AuditEntry, Channel, Event, Interaction
from bigledger_customers.domain.reference import CustomFieldDefinition, NumberingScheme, ReferenceEntry, ReferenceKind
from bigledger_customers.domain.search import (
    CustomerQuery,
    Page,
    name_key,
    search_grams,
    search_keys,
    search_text,
)
from bigledger_customers.domain.validation import code_key
from bigledger_customers.errors import ConcurrencyError, Conflict

__all__ = [
    "SqlAuditLog",
    "SqlCustomerRepository",
    "SqlInteractions",
    "SqlOutbox",
    "SqlReferenceRepository",
]

ConnectionSource = Callable[[], sa.Connection]

_MYSQL = ("mysql", "mariadb")


def _is_unique_violation(conn: sa.Connection, error: sa.exc.IntegrityError) -> bool:
    """True for a duplicate key (not a CHECK or foreign-key failure)."""
    name = conn.dialect.name
    orig = error.orig
    if name == "postgresql":
        return getattr(orig, "sqlstate", None) == "23505"
    if name in _MYSQL:
        args: tuple[Any, ...] = getattr(orig, "args", ())
        return bool(args) and args[0] == 1062
    return "UNIQUE constraint failed" in str(orig) or "PRIMARY KEY" in str(orig)


@contextmanager
def _savepoint(conn: sa.Connection) -> Iterator[None]:
    """Run a statement that may fail inside a SAVEPOINT, so a failure (which aborts a PostgreSQL
    transaction) leaves the unit of work usable."""
    nested = conn.begin_nested()
    try:
        yield
    except BaseException:
        nested.rollback()
        raise
    nested.commit()


def _upsert(
    conn: sa.Connection, table: sa.Table, keys: Sequence[str], values: Mapping[str, Any], update: Sequence[str]
) -> None:
    """Insert ``values`` or, when the key exists, overwrite the columns in ``update``."""
    name = conn.dialect.name
    if name in _MYSQL:
        mstmt = mysql.insert(table).values(**values)
        conn.execute(mstmt.on_duplicate_key_update({c: mstmt.inserted[c] for c in update}))
        return
    dialect_insert = postgresql.insert if name == "postgresql" else sqlite.insert
    stmt = dialect_insert(table).values(**values)
    conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_={c: stmt.excluded[c] for c in update}))


def _typed(definition: CustomFieldDefinition | None, value: Any) -> Any:
    return value if definition is None or value is None else definition.clean(value)


def _duplicate_code(code: str) -> Conflict:
    return Conflict(f"code {code!r} is already taken", code="duplicate_code", field="code", value=code)


def _field_definitions(conn: sa.Connection) -> dict[str, CustomFieldDefinition]:
    rows = conn.execute(sa.select(t.custom_fields.c.doc).order_by(t.custom_fields.c.name)).scalars()
    definitions = [structure(doc, CustomFieldDefinition) for doc in rows]
    return {d.name: d for d in definitions}


#: A new customer as :meth:`SqlCustomerRepository.add_encoded` writes it: its ``customers`` row (the
#: document already JSON text) and the rows of the tables of :data:`_CHILD_COLUMNS`, as tuples.
EncodedCustomer = tuple[dict[str, Any], dict[str, list[tuple[Any, ...]]]]
#: The tables :meth:`SqlCustomerRepository.add_many` writes besides ``customers``, with the columns
#: :func:`encode_new_customer` gives (tests/test_bulk_encoded.py holds the two paths to the same rows).
_CHILD_COLUMNS: dict[str, tuple[str, ...]] = {
    "customer_search_keys": ("customer_id", "search_key"),
    "customer_contacts": ("customer_id", "position", "contact_id", "email", "phone", "mobile"),
    "customer_tags": ("customer_id", "tag"),
    "customer_match_keys": ("match_key", "customer_id"),
}


#: ``json.dumps`` with its defaults (the JSON column type's serializer, so the same text) without the
#: circular-reference check, needless for unstructured data, and the per-call keyword handling.
_JSON_TEXT = json.JSONEncoder(check_circular=False).encode


_SCALARS = frozenset({str, int, bool, type(None)})


def _plain_json(value: Any) -> bool:
    """True when ``value`` is made of str/int/bool/None, lists and str-keyed dicts only: then
    :func:`unstructure` returns it unchanged, and it can go to JSON as it is."""
    kind = type(value)
    if kind in _SCALARS:
        return True
    if kind is list:
        return all(type(x) in _SCALARS or _plain_json(x) for x in value)
    if kind is dict:
        return all(type(k) is str and (type(x) in _SCALARS or _plain_json(x)) for k, x in value.items())
    return False


def _json_of(value: Mapping[str, Any]) -> str:
    """The JSON text of an audit change set or event payload, as ``json.dumps(unstructure(dict(value)))``."""
    plain = dict(value)
    return _JSON_TEXT(plain if _plain_json(plain) else unstructure(plain))


def _time_binder(dialect: sa.Dialect) -> Callable[[Any], Any]:
    """:class:`UtcDateTime`'s bind for driver-level inserts, memoised per value: the rows of a batch
    share one clock reading, and equal instants bind alike."""
    memo: dict[Any, Any] = {}

    def bind(value: Any) -> Any:
        if value in memo:
            return memo[value]
        memo[value] = bound = _UTC.process_bind_param(value, dialect)
        return bound

    return bind


def encode_new_customer(customer: Customer) -> EncodedCustomer:
    """The rows of a new customer for :meth:`SqlCustomerRepository.add_encoded` (pure: no connection)."""
    row = SqlCustomerRepository._row(customer)
    row["doc"] = _JSON_TEXT(row["doc"])  # what the JSON column type sends (its default serializer)
    cid = customer.id
    return row, {
        # the rows of _search.search_key_rows, as tuples
        "customer_search_keys": [(cid, key) for key in sorted(search_keys(row["search_text"]))],
        "customer_contacts": [(cid, i, k.id, k.email, k.phone, k.mobile) for i, k in enumerate(customer.contacts)],
        "customer_tags": [(cid, tag) for tag in sorted(customer.tags)],
        "customer_match_keys": [(key, cid) for key in sorted(index_keys(customer))],
    }


def _insert_rows(conn: sa.Connection, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """Insert plain value tuples with the driver's bulk path (``COPY`` on PostgreSQL, else one
    prepared INSERT run by ``executemany``), in the connection's transaction."""
    if not rows:
        return
    quote = conn.dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in columns)
    if conn.dialect.name == "postgresql":
        driver: Any = conn.connection.driver_connection
        with driver.cursor() as cursor, cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    statement = f"INSERT INTO {quote(table)} ({names}) VALUES ({', '.join(mark for _ in columns)})"  # noqa: S608
    conn.exec_driver_sql(statement, rows)


#: ``INSERT INTO <fts>(<columns>) VALUES (new.<column>, ...)``: a statement of the FTS insert trigger.
_TRIGGER_INSERT = re.compile(r"\s*INSERT INTO (\w+)\s*\(([\w ,]+)\)\s*VALUES\s*\(((?:\s*new\.\w+\s*,?)+)\)\s*", re.I)
_FTS_TRIGGER = "customers_search_ai"
_UTC = UtcDateTime()  # binds datetimes for the driver-level inserts as the column type would
_SQLITE_DEFAULT_CACHE = -2000  # KiB
_BULK_CACHE = -262_144  # KiB: 256 MiB
#: The tables a bulk import grows, analyzed by :meth:`SqlCustomerRepository.refresh_statistics`.
_BULK_TABLES = (
    t.customers,
    t.customer_search_keys,
    t.customer_match_keys,
    t.customer_contacts,
    t.customer_tags,
    t.audit,
    t.outbox,
)
#: Those of ``names`` (quoted table names) holding at least twice the pages of their statistics
#: (and 16 pages or more: the plan of a smaller table hardly matters).
_STALE_STATISTICS = sa.text(
    "SELECT n.name FROM unnest(CAST(:names AS text[])) AS n(name) JOIN pg_class AS c ON c.oid = to_regclass(n.name)"
    " WHERE pg_relation_size(c.oid) >= 2 * current_setting('block_size')::bigint * greatest(c.relpages, 8)"
)


@contextmanager
def _text_index_deferred(conn: sa.Connection) -> Iterator[None]:
    """SQLite: while a batch of new customers is inserted, drop the AFTER INSERT trigger that feeds
    the FTS5 tables; then feed them the batch with one ``INSERT ... SELECT`` per statement of the
    trigger, and create the trigger again from its own SQL (read from ``sqlite_master``). The index
    ends the same; measured on 20,000 rows, this took the customers insert from 21.7 s to 9.6 s.

    Safe under concurrency: it runs inside the writer's ``BEGIN IMMEDIATE`` transaction (SQLite has
    one writer at a time, so no other insert can happen while the trigger is gone) and DDL is
    transactional, so readers only ever see the schema with the trigger, and a rollback (of the
    transaction or the SAVEPOINT around this) restores it. The batch's rows are those above the
    largest rowid before the insert. Other engines, or a trigger of another shape, keep the trigger.
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    if conn.exec_driver_sql("PRAGMA cache_size").scalar() == _SQLITE_DEFAULT_CACHE:
        # Sixteen indexes and two FTS5 tables take random inserts: with SQLite's default 2 MiB page
        # cache a large import re-reads index pages all the time. The connection keeps the larger
        # cache (pages are allocated only as used).
        conn.exec_driver_sql(f"PRAGMA cache_size = {_BULK_CACHE}")
    found = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (_FTS_TRIGGER,)
    ).scalar()
    _, _, rest = (found or "").partition(" BEGIN")
    body, _, tail = rest.rpartition("END")
    parsed = [_TRIGGER_INSERT.fullmatch(x) for x in body.split(";") if x.strip()]
    if not found or tail.strip() or not parsed or not all(parsed):
        yield
        return
    before = conn.exec_driver_sql("SELECT coalesce(max(rowid), 0) FROM customers").scalar_one()
    conn.exec_driver_sql(f"DROP TRIGGER {_FTS_TRIGGER}")
    yield
    for match in parsed:
        assert match is not None
        target, columns, values = match.groups()
        conn.exec_driver_sql(
            f"INSERT INTO {target} ({columns}) SELECT {values} FROM customers AS new WHERE new.rowid > ?",  # noqa: S608
            (before,),
        )
    conn.exec_driver_sql(str(found))


#: The point reads, built once: SQLAlchemy memoizes a statement's cache key on the object, so a
#: prebuilt statement with a bound parameter skips building and keying it on every call (half of
#: the client CPU of ``execute`` measured, benchmarks/search_cpu.py).
_DOC_BY_ID = sa.select(t.customers.c.doc).where(t.customers.c.id == sa.bindparam("customer_id"))
_DOC_BY_CODE_KEY = sa.select(t.customers.c.doc).where(t.customers.c.code_key == sa.bindparam("code_key"))


class SqlCustomerRepository:
    """Customers: scalar columns for filters and sorting plus the full JSON document."""

    def __init__(self, connection: ConnectionSource) -> None:
        self._conn = connection

    def _load(self, docs: Sequence[Any]) -> list[Customer]:
        """Structure stored documents. JSON has no dates or decimals, so custom values are given their
        types back through their field definitions (a value whose definition is gone stays as stored)."""
        customers = [load_stored(doc, Customer) for doc in docs]
        if not any(c.custom_values for c in customers):
            return customers
        definitions = _field_definitions(self._conn())
        return [
            attrs.evolve(c, custom_values={k: _typed(definitions.get(k), v) for k, v in c.custom_values.items()})
            if c.custom_values
            else c
            for c in customers
        ]

    def _load_one(self, doc: Any) -> Customer | None:
        return None if doc is None else self._load([doc])[0]

    # -- reading -----------------------------------------------------------------------------------

    def get(self, customer_id: str) -> Customer | None:
        """The customer with this id, or None."""
        doc = self._conn().execute(_DOC_BY_ID, {"customer_id": customer_id}).scalar()
        return self._load_one(doc)

    def get_by_code(self, code: str) -> Customer | None:
        """The customer whose code equals ``code`` ignoring case, or None."""
        doc = self._conn().execute(_DOC_BY_CODE_KEY, {"code_key": code_key(code)}).scalar()
        return self._load_one(doc)

    def children(self, customer_id: str) -> Sequence[str]:
        """Ids of the direct children, by id."""
        rows = self._conn().execute(
            sa.select(t.customers.c.id).where(t.customers.c.parent_id == customer_id).order_by(t.customers.c.id)
        )
        return list(rows.scalars())

    def has_financial_history(self, customer_id: str) -> bool:
        """True when a table listed in ``_tables.FINANCIAL_HISTORY`` references the customer."""
        if not t.FINANCIAL_HISTORY:
            return False
        probes = [sa.exists().where(table.c[column] == customer_id) for table, column in t.FINANCIAL_HISTORY]
        return bool(self._conn().execute(sa.select(sa.or_(*probes))).scalar())

    def count(self) -> int:
        """How many customers are stored."""
        return int(self._conn().execute(sa.select(sa.func.count()).select_from(t.customers)).scalar_one())

    def match_candidates(
        self, keys: Sequence[str], limit: int, *, scope: DataScope | None = None
    ) -> Sequence[Customer]:
        """Up to ``limit`` customers filed under any of ``keys`` (by id), from the match-key index;
        with ``scope``, only customers inside it (a join on the customers table, before the limit)."""
        if not keys:
            return []
        k = t.customer_match_keys.c
        # A derived table, not IN (... LIMIT): MariaDB refuses LIMIT inside IN.
        matching = sa.select(k.customer_id.label("id")).where(k.match_key.in_(sorted(set(keys))))
        if scope is not None:
            matching = matching.join_from(t.customer_match_keys, t.customers, t.customers.c.id == k.customer_id).where(
                _search.scope_condition(scope)
            )
        ids = matching.distinct().order_by(k.customer_id).limit(limit).subquery()
        rows = self._conn().execute(
            sa.select(t.customers.c.doc).join_from(t.customers, ids, ids.c.id == t.customers.c.id).order_by(ids.c.id)
        )
        return self._load(list(rows.scalars()))

    # -- writing -----------------------------------------------------------------------------------

    @staticmethod
    def _row(customer: Customer) -> dict[str, Any]:
        return {
            "id": customer.id,
            "code": customer.code,
            "code_key": code_key(customer.code),
            "name_key": name_key(customer)[: t.NAME_KEY_LENGTH],
            "status": customer.status.value,
            "customer_type": customer.customer_type.value,
            "category": customer.category,
            "level": customer.level,
            "region": customer.region,
            "sales_rep": customer.sales_rep,
            "branch": customer.branch,
            "parent_id": customer.parent_id,
            "version": customer.version,
            "created_at": customer.created_at,
            "updated_at": customer.updated_at,
            "search_text": (text := search_text(customer)),
            "search_grams": search_grams(text),
            "doc": unstructure(customer),
        }

    def _write_children(self, customer: Customer, *, replace: bool) -> None:
        conn = self._conn()
        if replace:
            conn.execute(sa.delete(t.customer_contacts).where(t.customer_contacts.c.customer_id == customer.id))
            conn.execute(sa.delete(t.customer_tags).where(t.customer_tags.c.customer_id == customer.id))
            conn.execute(sa.delete(t.customer_match_keys).where(t.customer_match_keys.c.customer_id == customer.id))
            conn.execute(sa.delete(t.customer_search_keys).where(t.customer_search_keys.c.customer_id == customer.id))
        if keys := _search.search_key_rows([(customer.id, search_text(customer))]):
            conn.execute(sa.insert(t.customer_search_keys), keys)
        match_keys = index_keys(customer)
        if match_keys:
            conn.execute(
                sa.insert(t.customer_match_keys),
                [{"match_key": key, "customer_id": customer.id} for key in sorted(match_keys)],
            )
        if customer.contacts:
            conn.execute(
                sa.insert(t.customer_contacts),
                [
                    {
                        "customer_id": customer.id,
                        "position": i,
                        "contact_id": c.id,
                        "email": c.email,
                        "phone": c.phone,
                        "mobile": c.mobile,
                    }
                    for i, c in enumerate(customer.contacts)
                ],
            )
        if customer.tags:
            conn.execute(
                sa.insert(t.customer_tags), [{"customer_id": customer.id, "tag": tag} for tag in sorted(customer.tags)]
            )

    def add(self, customer: Customer) -> None:
        """Insert a new customer; a code taken ignoring case raises Conflict(duplicate_code)."""
        conn = self._conn()
        row = self._row(customer)
        try:
            with _savepoint(conn):
                conn.execute(sa.insert(t.customers).values(**row))
        except sa.exc.IntegrityError as error:
            if not _is_unique_violation(conn, error):
                raise
            taken = conn.execute(sa.select(t.customers.c.id).where(t.customers.c.code_key == row["code_key"])).scalar()
            if taken is not None:
                raise _duplicate_code(customer.code) from None
            raise Conflict(
                f"customer id {customer.id!r} already exists", code="duplicate_id", field="id", value=customer.id
            ) from None
        self._write_children(customer, replace=False)

    def refresh_statistics(self) -> list[str]:
        """PostgreSQL: ``ANALYZE`` each table a bulk import grows (:data:`_BULK_TABLES`) that now holds
        at least twice the pages its planner statistics record; returns the tables analyzed. Other
        engines: nothing (SQLite plans each statement afresh from its indexes).

        Without it a server whose autovacuum is off, or has not caught up, keeps planning against an
        empty table: psycopg prepares a statement after its fifth run, PostgreSQL then keeps a generic
        plan made for "40 rows", and the import's per-batch look-up of taken codes became a sequential
        scan whose cost grew with the table (0.03 s for the first batch, 2.1 s for the sixth, most of
        the server's time). ``ANALYZE`` invalidates such plans. Doubling keeps it to a few runs per
        import (each samples at most 30,000 rows); it sees the transaction's own new rows. A table the
        database user may not analyze is skipped by PostgreSQL with a warning, not an error.
        """
        conn = self._conn()
        if conn.dialect.name != "postgresql":
            return []
        names = [conn.dialect.identifier_preparer.format_table(table) for table in _BULK_TABLES]
        stale = list(conn.execute(_STALE_STATISTICS, {"names": names}).scalars())
        if stale:
            conn.exec_driver_sql(f"ANALYZE {', '.join(stale)}")
        return stale

    def existing_codes(self, keys: Iterable[str]) -> set[str]:
        """Which of the code keys (casefolded codes) are taken (bulk import's upsert check)."""
        found: set[str] = set()
        wanted = sorted(set(keys))
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            found.update(
                self._conn()
                .execute(sa.select(t.customers.c.code_key).where(t.customers.c.code_key.in_(chunk)))
                .scalars()
            )
        return found

    def add_many(self, customers: Sequence[Customer]) -> None:
        """Insert new customers with one multi-row statement per table (bulk import).

        A code or id already taken raises Conflict and, inside a SAVEPOINT, writes none of them.
        """
        if not customers:
            return
        conn = self._conn()
        contacts = [
            {
                "customer_id": c.id,
                "position": i,
                "contact_id": k.id,
                "email": k.email,
                "phone": k.phone,
                "mobile": k.mobile,
            }
            for c in customers
            for i, k in enumerate(c.contacts)
        ]
        tags = [{"customer_id": c.id, "tag": tag} for c in customers for tag in sorted(c.tags)]
        rows = [self._row(c) for c in customers]
        search_keys = _search.search_key_rows((row["id"], row["search_text"]) for row in rows)
        try:
            with _savepoint(conn):
                conn.execute(sa.insert(t.customers), rows)
                if search_keys:
                    conn.execute(sa.insert(t.customer_search_keys), search_keys)
                if contacts:
                    conn.execute(sa.insert(t.customer_contacts), contacts)
                if tags:
                    conn.execute(sa.insert(t.customer_tags), tags)
                if match_keys := [{"match_key": k, "customer_id": c.id} for c in customers for k in index_keys(c)]:
                    conn.execute(sa.insert(t.customer_match_keys), match_keys)
        except sa.exc.IntegrityError as error:
            if _is_unique_violation(conn, error):
                raise Conflict("a customer code or id in the batch is taken", code="duplicate_code") from None
            raise

    #: Bulk import in two halves: :func:`encode_new_customer` (pure and picklable: the import runs it
    #: in its worker processes) turns a checked new customer into rows, :meth:`add_encoded` writes them.
    encode_new = staticmethod(encode_new_customer)

    def add_encoded(self, records: Sequence[EncodedCustomer]) -> None:
        """Insert new customers encoded by :func:`encode_new_customer` into the same tables as
        :meth:`add_many`, with the driver's bulk path: PostgreSQL ``COPY`` into the real tables,
        elsewhere ``executemany`` of one prepared INSERT per table, in the unit of work's transaction
        (under a SAVEPOINT): a code or id already taken raises Conflict and writes none of them.
        On SQLite the FTS5 tables are filled per batch, see :func:`_text_index_deferred`.
        """
        if not records:
            return
        conn = self._conn()
        columns = list(records[0][0])
        times = [i for i, c in enumerate(columns) if isinstance(t.customers.c[c].type, UtcDateTime)]
        bind = _time_binder(conn.dialect)
        rows: list[tuple[Any, ...]] = []
        for record in records:
            values = [record[0][c] for c in columns]
            for i in times:
                values[i] = bind(values[i])
            rows.append(tuple(values))
        try:
            with _savepoint(conn):
                with _text_index_deferred(conn):
                    _insert_rows(conn, t.customers.name, columns, rows)
                for table, child_columns in _CHILD_COLUMNS.items():
                    _insert_rows(conn, table, child_columns, [x for r in records for x in r[1][table]])
        except sa.exc.IntegrityError as error:
            if _is_unique_violation(conn, error):
                raise Conflict("a customer code or id in the batch is taken", code="duplicate_code") from None
            raise
        except sa.exc.DBAPIError:
            raise
        except Exception as error:  # psycopg's own errors from COPY are not wrapped by SQLAlchemy
            if getattr(error, "sqlstate", None) == "23505":
                raise Conflict("a customer code or id in the batch is taken", code="duplicate_code") from None
            raise

    def update(self, customer: Customer, expected_version: int) -> None:
        """Replace the stored customer if its version is still ``expected_version`` (optimistic locking)."""
        if customer.version != expected_version + 1:
            raise ConcurrencyError(
                f"customer {customer.code} must be saved with version {expected_version + 1}, not {customer.version}",
                field="version",
                value=customer.version,
            )
        conn = self._conn()
        row = self._row(customer)
        taken = conn.execute(
            sa.select(t.customers.c.id).where(
                t.customers.c.code_key == row["code_key"], t.customers.c.id != customer.id
            )
        ).scalar()
        if taken is not None:
            raise _duplicate_code(customer.code)
        del row["id"]
        try:
            with _savepoint(conn):
                result = conn.execute(
                    sa.update(t.customers)
                    .where(t.customers.c.id == customer.id, t.customers.c.version == expected_version)
                    .values(**row)
                )
        except sa.exc.IntegrityError as error:
            if _is_unique_violation(conn, error):
                raise _duplicate_code(customer.code) from None
            raise
        if result.rowcount != 1:
            raise ConcurrencyError(
                f"customer {customer.code} was changed or removed since version {expected_version} was read",
                field="version",
                value=expected_version,
            )
        self._write_children(customer, replace=True)

    def remove(self, customer_id: str, expected_version: int) -> None:
        """Delete the customer if its version is still ``expected_version`` (else ConcurrencyError)."""
        conn = self._conn()
        result = conn.execute(
            sa.delete(t.customers).where(t.customers.c.id == customer_id, t.customers.c.version == expected_version)
        )
        if result.rowcount != 1:
            raise ConcurrencyError(
                f"customer {customer_id} was changed or removed since version {expected_version} was read",
                field="version",
                value=expected_version,
            )
        # Children go by ON DELETE CASCADE; deleted explicitly too in case a host connection has
        # SQLite foreign keys off.
        conn.execute(sa.delete(t.customer_contacts).where(t.customer_contacts.c.customer_id == customer_id))
        conn.execute(sa.delete(t.customer_tags).where(t.customer_tags.c.customer_id == customer_id))
        conn.execute(sa.delete(t.customer_match_keys).where(t.customer_match_keys.c.customer_id == customer_id))
        conn.execute(sa.delete(t.customer_search_keys).where(t.customer_search_keys.c.customer_id == customer_id))

    # -- search ------------------------------------------------------------------------------------

    def search(self, query: CustomerQuery) -> Page[Customer]:
        """One page of matches in keyset order; the plan is chosen in :mod:`._search`."""
        return _search.search(self._conn(), query, self._load)


class SqlReferenceRepository:
    """Reference entries, custom-field definitions and numbering sequences."""

    def __init__(self, connection: ConnectionSource) -> None:
        self._conn = connection

    @staticmethod
    def _entry(row: sa.Row[Any]) -> ReferenceEntry:
        return ReferenceEntry(
            kind=ReferenceKind(row.kind),
            code=row.code,
            name=row.name,
            active=bool(row.active),
            attributes=dict(row.attributes),
            version=row.version,
        )

    def add(self, entry: ReferenceEntry) -> None:
        """Insert; a (kind, code) already present ignoring case raises Conflict(duplicate_code)."""
        conn = self._conn()
        try:
            with _savepoint(conn):
                conn.execute(
                    sa.insert(t.reference_entries).values(
                        kind=str(entry.kind),
                        code_key=code_key(entry.code),
                        code=entry.code,
                        name=entry.name,
                        active=entry.active,
                        attributes=dict(entry.attributes),
                        version=entry.version,
                    )
                )
        except sa.exc.IntegrityError as error:
            if _is_unique_violation(conn, error):
                raise _duplicate_code(entry.code) from None
            raise

    def get(self, kind: str, code: str) -> ReferenceEntry | None:
        """The entry, matched ignoring case, or None."""
        row = (
            self._conn()
            .execute(
                sa.select(t.reference_entries).where(
                    t.reference_entries.c.kind == str(kind), t.reference_entries.c.code_key == code_key(code)
                )
            )
            .first()
        )
        return None if row is None else self._entry(row)

    def list(self, kind: str) -> Sequence[ReferenceEntry]:
        """Every entry of ``kind``, by code."""
        rows = self._conn().execute(
            sa.select(t.reference_entries)
            .where(t.reference_entries.c.kind == str(kind))
            .order_by(t.reference_entries.c.code_key)
        )
        return [self._entry(row) for row in rows]

    def field_definitions(self) -> Mapping[str, CustomFieldDefinition]:
        """Custom-field definitions by name."""
        return _field_definitions(self._conn())

    def save_field_definition(self, definition: CustomFieldDefinition) -> None:
        """Insert or replace a custom-field definition."""
        _upsert(
            self._conn(), t.custom_fields, ["name"], {"name": definition.name, "doc": unstructure(definition)}, ["doc"]
        )

    def numbering(self, name: str) -> NumberingScheme | None:
        """The numbering scheme called ``name``, or None."""
        row = self._conn().execute(sa.select(t.numbering).where(t.numbering.c.name == name)).first()
        if row is None or row.prefix is None or row.width is None:
            return None  # a sequence used by next_number but never configured
        return NumberingScheme(name=row.name, prefix=row.prefix, width=row.width)

    def save_numbering(self, scheme: NumberingScheme) -> None:
        """Insert or replace a numbering scheme, keeping its sequence position."""
        values = {"name": scheme.name, "prefix": scheme.prefix, "width": scheme.width, "next_value": 1}
        _upsert(self._conn(), t.numbering, ["name"], values, ["prefix", "width"])

    def next_number(self, name: str) -> int:
        """Atomically take the next number (first is 1), creating the sequence row if needed (prefix and
        width stay NULL: the scheme counts as not configured). One statement on SQLite and PostgreSQL
        (upsert ... RETURNING); MariaDB has no RETURNING on upserts, so there the row is locked with
        SELECT ... FOR UPDATE first."""
        conn = self._conn()
        values = {"name": name, "prefix": None, "width": None, "next_value": 2}
        if conn.dialect.name in _MYSQL:
            mstmt = mysql.insert(t.numbering).values(**{**values, "next_value": 1})
            conn.execute(mstmt.on_duplicate_key_update(next_value=t.numbering.c.next_value))
            taken = conn.execute(
                sa.select(t.numbering.c.next_value).where(t.numbering.c.name == name).with_for_update()
            ).scalar_one()
            conn.execute(
                sa.update(t.numbering).where(t.numbering.c.name == name).values(next_value=t.numbering.c.next_value + 1)
            )
            return int(taken)
        dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        stmt = dialect_insert(t.numbering).values(**values)
        stmt = stmt.on_conflict_do_update(index_elements=["name"], set_={"next_value": t.numbering.c.next_value + 1})
        return int(conn.execute(stmt.returning(t.numbering.c.next_value - 1)).scalar_one())


class SqlAuditLog:
    """Append-only audit trail."""

    def __init__(self, connection: ConnectionSource) -> None:
        self._conn = connection

    def add(self, entry: AuditEntry) -> None:
        """Record one entry."""
        self._conn().execute(
            sa.insert(t.audit).values(
                id=entry.id,
                at=entry.at,
                actor_id=entry.actor_id,
                action=entry.action,
                entity_type=entry.entity_type,
                entity_id=entry.entity_id,
                changes=unstructure(dict(entry.changes)),
            )
        )

    def add_many(self, entries: Sequence[AuditEntry]) -> None:
        """Record several entries with the driver's bulk path (bulk import; see ``_insert_rows``)."""
        if entries:
            conn = self._conn()
            at = _time_binder(conn.dialect)
            columns = ("id", "at", "actor_id", "action", "entity_type", "entity_id", "changes")
            rows = [
                (e.id, at(e.at), e.actor_id, e.action, e.entity_type, e.entity_id, _json_of(e.changes)) for e in entries
            ]
            _insert_rows(conn, t.audit.name, columns, rows)

    def for_entity(self, entity_type: str, entity_id: str) -> Sequence[AuditEntry]:
        """Entries of one entity, in the order they were recorded."""
        rows = self._conn().execute(
            sa.select(t.audit)
            .where(t.audit.c.entity_type == entity_type, t.audit.c.entity_id == entity_id)
            .order_by(t.audit.c.position)
        )
        return [
            AuditEntry(
                id=row.id,
                at=row.at,
                actor_id=row.actor_id,
                action=row.action,
                entity_type=row.entity_type,
                entity_id=row.entity_id,
                changes=dict(row.changes),
            )
            for row in rows
        ]


class SqlOutbox:
    """Domain events in an outbox table, read in position order.

    Positions come from an auto-increment column. On PostgreSQL and MariaDB those are handed out at
    insert time but become visible at commit time, so a reader could pass position 7 before the
    transaction holding position 6 commits, and never see 6. To rule that out, every transaction
    that appends locks the single ``outbox_lock`` row before its first insert and holds it until it
    ends: outbox writers are serialized, and positions become visible in order. SQLite needs no lock
    (write transactions are already serialized by ``BEGIN IMMEDIATE``).
    """

    def __init__(self, connection: ConnectionSource) -> None:
        self._conn = connection
        self._locked_in: object = None

    def _lock(self, conn: sa.Connection) -> None:
        if conn.dialect.name == "sqlite":
            return
        # The innermost transaction: a rolled-back savepoint may have given the lock back.
        marker = conn.get_nested_transaction() or conn.get_transaction()
        if marker is not None and marker is self._locked_in:
            return
        conn.execute(sa.select(t.outbox_lock.c.id).where(t.outbox_lock.c.id == 1).with_for_update())
        self._locked_in = marker

    def append(
        self,
        *,
        id: str,
        type: str,
        aggregate_type: str,
        aggregate_id: str,
        occurred_at: dt.datetime,
        payload: Mapping[str, Any],
    ) -> None:
        """Queue one event; its position is visible to readers once the unit of work commits."""
        conn = self._conn()
        self._lock(conn)
        conn.execute(
            sa.insert(t.outbox).values(
                id=id,
                type=type,
                aggregate_type=aggregate_type,
                aggregate_id=aggregate_id,
                occurred_at=occurred_at,
                payload=unstructure(dict(payload)),
                schema_version=1,
            )
        )

    def append_many(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Queue several events (each a mapping of :meth:`append`'s arguments) in one statement."""
        if not events:
            return
        conn = self._conn()
        self._lock(conn)
        at = _time_binder(conn.dialect)
        columns = ("id", "type", "aggregate_type", "aggregate_id", "occurred_at", "payload", "schema_version")
        rows = [
            (
                e["id"],
                e["type"],
                e["aggregate_type"],
                e["aggregate_id"],
                at(e["occurred_at"]),
                _json_of(e["payload"]),
                1,
            )
            for e in events
        ]
        _insert_rows(conn, t.outbox.name, columns, rows)

    def read(self, after: int, limit: int) -> Sequence[Event]:
        """Committed events with position greater than ``after``, in order, at most ``limit``."""
        rows = self._conn().execute(
            sa.select(t.outbox).where(t.outbox.c.position > after).order_by(t.outbox.c.position).limit(limit)
        )
        return [
            Event(
                position=row.position,
                id=row.id,
                type=row.type,
                aggregate_type=row.aggregate_type,
                aggregate_id=row.aggregate_id,
                occurred_at=row.occurred_at,
                payload=dict(row.payload),
                schema_version=row.schema_version,
            )
            for row in rows
        ]


class SqlInteractions:
    """Communication history per customer."""

    def __init__(self, connection: ConnectionSource) -> None:
        self._conn = connection

    def add(self, interaction: Interaction) -> None:
        """Record one interaction."""
        self._conn().execute(
            sa.insert(t.interactions).values(
                id=interaction.id,
                customer_id=interaction.customer_id,
                at=interaction.at,
                channel=interaction.channel.value,
                by=interaction.by,
                summary=interaction.summary,
                contact_id=interaction.contact_id,
            )
        )

    def for_customer(self, customer_id: str, limit: int) -> Sequence[Interaction]:
        """The latest ``limit`` interactions, newest first (ties: by id, descending)."""
        rows = self._conn().execute(
            sa.select(t.interactions)
            .where(t.interactions.c.customer_id == customer_id)
            .order_by(t.interactions.c.at.desc(), t.interactions.c.id.desc())
            .limit(limit)
        )
        return [
            Interaction(
                id=row.id,
                customer_id=row.customer_id,
                at=row.at,
                channel=Channel(row.channel),
                by=row.by,
                summary=row.summary,
                contact_id=row.contact_id,
            )
            for row in rows
        ]
