"""Dict-backed repositories: the reference implementation every other adapter is compared with.

A unit of work holds the store's lock from start to end, so units of work run one at a time (no
lost update is possible); every write is journaled and undone on rollback. State lives in one
:class:`MemoryStore`, so two books built on two stores never share anything.
"""

from __future__ import annotations

import datetime as dt
import heapq
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Self

from bigledger_customers.adapters.memory_accounts import AccountTables, MemoryAccountRepositories, per_unit
from bigledger_customers.adapters.memory_credit import CreditTables, MemoryCredit
from bigledger_customers.adapters.memory_governance import GovernanceTables, MemoryGovernance
from bigledger_customers.domain.access import DataScope
from bigledger_customers.domain.customer import Customer
from bigledger_customers.domain.duplicates import index_keys
from bigledger_customers.domain.records import AuditEntry, Event, Interaction
from bigledger_customers.domain.reference import CustomFieldDefinition, NumberingScheme, ReferenceEntry
from bigledger_customers.domain.search import (
    CustomerQuery,
    Page,
    SortKey,
    credit_sort_value,
    decode_credit_cursor,
    decode_cursor,
    encode_cursor,
    matches_text,
    name_key,
    page_total,
    search_text,
)
from bigledger_customers.domain.validation import code_key
from bigledger_customers.errors import ConcurrencyError, Conflict

__all__ = ["MemoryStore", "MemoryUnitOfWork"]

_MISSING: Any = object()


class MemoryStore:
    """All the state of one in-memory book."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.customers: dict[str, Customer] = {}
        self.by_code: dict[str, str] = {}
        self.search_text: dict[str, str] = {}
        self.name_keys: dict[str, str] = {}
        #: Duplicate-check keys (domain.duplicates.index_keys): key -> id (a set of ids once two share
        #: it), and id -> its keys. Most keys (a phone, an e-mail) name one customer: a bare id costs
        #: nothing beyond the shared string, a set of one about 200 bytes (5 keys a customer, 1M customers).
        self.match_keys: dict[str, str | set[str]] = {}
        self.match_keys_of: dict[str, tuple[str, ...]] = {}
        self.children: dict[str, set[str]] = {}
        self.reference: dict[tuple[str, str], ReferenceEntry] = {}
        self.fields: dict[str, CustomFieldDefinition] = {}
        self.numbering: dict[str, NumberingScheme] = {}
        self.sequences: dict[str, int] = {}
        self.audit: dict[tuple[str, str], list[AuditEntry]] = {}
        self.events: list[Event] = []
        self.interactions: dict[str, list[Interaction]] = {}
        #: Probes a later module registers to say a customer has financial records.
        self.financial_probes: list[Callable[[str], bool]] = []
        self.account_tables = AccountTables()
        self.governance_tables = GovernanceTables()
        self.financial_probes.append(self.account_tables.has_financial_history)
        self.credit_tables = CreditTables()
        self.financial_probes.append(self.credit_tables.has_financial_history)
        self._reader: MemoryUnitOfWork | None = None

    def unit_of_work(self, *, write: bool = True) -> MemoryUnitOfWork:
        """A unit of work on this store; all run one at a time (each holds the store's lock).

        ``write=False`` gives the store's one read unit of work: it refuses every write
        (RuntimeError), so it has nothing to undo and can be shared, repositories and all, by every
        read (a quote builds none). No adapter may write in a read: PostgreSQL runs it in autocommit.
        """
        if write:
            return MemoryUnitOfWork(self)
        reader = self._reader
        if reader is None:
            reader = self._reader = MemoryUnitOfWork(self, _ReadJournal())
        return reader


class _Journal:
    """Undo log of one unit of work."""

    def __init__(self) -> None:
        self.undo: list[Callable[[], None]] = []

    def put(self, table: dict[Any, Any], key: Any, value: Any) -> None:
        old = table.get(key, _MISSING)
        self.undo.append(lambda: table.__setitem__(key, old) if old is not _MISSING else table.pop(key, None))
        table[key] = value

    def delete(self, table: dict[Any, Any], key: Any) -> None:
        old = table.pop(key, _MISSING)
        if old is not _MISSING:
            self.undo.append(lambda: table.__setitem__(key, old))

    def append(self, items: list[Any], item: Any) -> None:
        items.append(item)
        self.undo.append(items.pop)

    def add_to_set(self, table: dict[str, set[str]], key: str, member: str) -> None:
        members = table.setdefault(key, set())
        if member not in members:
            members.add(member)
            self.undo.append(lambda: members.discard(member))

    def add_member(self, table: dict[str, str | set[str]], key: str, member: str) -> None:
        """Like :meth:`add_to_set` for a table whose single member is stored bare (not in a set)."""
        old = table.get(key)
        if old is None:
            self.put(table, key, member)
        elif isinstance(old, str):
            if old != member:
                self.put(table, key, {old, member})
        elif member not in old:
            old.add(member)
            self.undo.append(lambda: old.discard(member))

    def discard_member(self, table: dict[str, str | set[str]], key: str, member: str) -> None:
        """Undo :meth:`add_member`."""
        old = table.get(key)
        if old == member:
            self.delete(table, key)
        elif isinstance(old, set) and member in old:
            old.discard(member)
            self.undo.append(lambda: old.add(member))

    def discard_from_set(self, table: dict[str, set[str]], key: str, member: str) -> None:
        members = table.get(key)
        if members is not None and member in members:
            members.discard(member)
            self.undo.append(lambda: members.add(member))

    def rollback(self) -> None:
        while self.undo:
            self.undo.pop()()


class _ReadJournal(_Journal):
    """The journal of a read unit of work: a write through it is a programming error."""

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("a unit of work opened with write=False cannot write")

    put = delete = append = add_to_set = add_member = discard_member = discard_from_set = _refuse


class _Customers:
    def __init__(self, store: MemoryStore, journal: _Journal) -> None:
        self._s = store
        self._j = journal

    def get(self, customer_id: str) -> Customer | None:
        return self._s.customers.get(customer_id)

    def get_by_code(self, code: str) -> Customer | None:
        customer_id = self._s.by_code.get(code_key(code))
        return self._s.customers.get(customer_id) if customer_id else None

    def _index(self, customer: Customer) -> None:
        self._j.put(self._s.search_text, customer.id, search_text(customer))
        self._j.put(self._s.name_keys, customer.id, name_key(customer))
        self._file_match_keys(customer.id, index_keys(customer))
        if customer.parent_id:
            self._j.add_to_set(self._s.children, customer.parent_id, customer.id)

    def _file_match_keys(self, customer_id: str, keys: frozenset[str]) -> None:
        for key in set(self._s.match_keys_of.get(customer_id, ())) - keys:
            self._j.discard_member(self._s.match_keys, key, customer_id)
        for key in keys:
            self._j.add_member(self._s.match_keys, key, customer_id)
        self._j.put(self._s.match_keys_of, customer_id, tuple(keys))  # a tuple is a third of a frozenset

    def match_candidates(
        self, keys: Sequence[str], limit: int, *, scope: DataScope | None = None
    ) -> Sequence[Customer]:
        filed = (self._s.match_keys.get(key) for key in keys)
        ids = sorted({i for found in filed if found for i in ((found,) if isinstance(found, str) else found)})
        found = (self._s.customers[i] for i in ids)
        return [c for c in found if scope is None or scope.covers(c)][:limit]

    def add(self, customer: Customer) -> None:
        key = code_key(customer.code)
        if key in self._s.by_code or customer.id in self._s.customers:
            raise Conflict(
                f"customer code {customer.code!r} is taken", code="duplicate_code", field="code", value=customer.code
            )
        self._j.put(self._s.customers, customer.id, customer)
        self._j.put(self._s.by_code, key, customer.id)
        self._index(customer)

    def add_many(self, customers: Sequence[Customer]) -> None:
        for customer in customers:
            self.add(customer)

    def existing_codes(self, keys: Iterable[str]) -> set[str]:
        return {key for key in keys if key in self._s.by_code}

    def update(self, customer: Customer, expected_version: int) -> None:
        stored = self._s.customers.get(customer.id)
        if stored is None or stored.version != expected_version or customer.version != expected_version + 1:
            raise ConcurrencyError(
                f"customer {customer.code} was changed or removed since it was read",
                field="version",
                value=expected_version,
            )
        if code_key(stored.code) != code_key(customer.code):
            if code_key(customer.code) in self._s.by_code:
                raise Conflict(f"customer code {customer.code!r} is taken", code="duplicate_code", field="code")
            self._j.delete(self._s.by_code, code_key(stored.code))
            self._j.put(self._s.by_code, code_key(customer.code), customer.id)
        if stored.parent_id and stored.parent_id != customer.parent_id:
            self._j.discard_from_set(self._s.children, stored.parent_id, customer.id)
        self._j.put(self._s.customers, customer.id, customer)
        self._index(customer)

    def remove(self, customer_id: str, expected_version: int) -> None:
        stored = self._s.customers.get(customer_id)
        if stored is None or stored.version != expected_version:
            raise ConcurrencyError("customer was changed or removed since it was read", field="version")
        self._j.delete(self._s.customers, customer_id)
        self._j.delete(self._s.by_code, code_key(stored.code))
        self._j.delete(self._s.search_text, customer_id)
        self._j.delete(self._s.name_keys, customer_id)
        self._file_match_keys(customer_id, frozenset())
        if stored.parent_id:
            self._j.discard_from_set(self._s.children, stored.parent_id, customer_id)

    def children(self, customer_id: str) -> Sequence[str]:
        return sorted(self._s.children.get(customer_id, ()))

    def has_financial_history(self, customer_id: str) -> bool:
        return any(probe(customer_id) for probe in self._s.financial_probes)

    def count(self) -> int:
        return len(self._s.customers)

    def search(self, query: CustomerQuery) -> Page[Customer]:
        terms = query.terms
        texts = self._s.search_text
        rows = [c for c in self._s.customers.values() if _matches(c, query, texts[c.id], terms)]
        limits = _credit_limits(self._s.credit_tables, query.sort_currency)
        if query.filters_credit:
            low, high = query.credit_range
            rows = [
                c
                for c in rows
                if (v := limits.get(c.id)) is not None and (low is None or v >= low) and (high is None or v <= high)
            ]
        counted = len(rows)
        names = self._s.name_keys
        credit = query.sort is SortKey.CREDIT_LIMIT

        def key(c: Customer) -> tuple[Any, str]:
            if credit:
                return (limits.get(c.id, credit_sort_value(None)), c.id)
            value = names[c.id] if query.sort is SortKey.NAME else sort_value(c, query.sort)
            return (value, c.id)

        if query.cursor is not None:
            after = decode_credit_cursor(query.cursor) if credit else tuple(decode_cursor(query.cursor))
            rows = [c for c in rows if (key(c) < after if query.descending else key(c) > after)]
        pick = heapq.nlargest if query.descending else heapq.nsmallest
        found = pick(query.limit + 1, rows, key=key)
        page = found[: query.limit]
        more = len(found) > query.limit
        cursor = encode_cursor([str(v) for v in key(page[-1])]) if more and page else None
        total, estimate = page_total(query, counted)
        return Page(items=page, next_cursor=cursor, total=total, total_is_estimate=estimate)


def _credit_limits(tables: CreditTables, currency: str | None) -> dict[str, int]:
    """Customer id -> credit limit in minor units of ``currency`` (customers with a limit in it only)."""
    if currency is None:
        return {}
    return {
        cid: credit_sort_value(p.limit)
        for (cid, cur), p in tables.profiles.items()
        if cur == currency and p.limit is not None
    }


def sort_value(customer: Customer, sort: SortKey) -> str:
    """The value a customer sorts by; created times as UTC ISO text so they compare as strings."""
    if sort is SortKey.NAME:
        return name_key(customer)
    if sort is SortKey.CODE:
        return code_key(customer.code)
    return customer.created_at.astimezone(dt.UTC).isoformat()


def _matches(c: Customer, q: CustomerQuery, text: str, terms: tuple[str, ...]) -> bool:
    checks = (
        (q.status, c.status.value),
        (q.customer_type, c.customer_type.value),
        (q.category, c.category),
        (q.level, c.level),
        (q.region, c.region),
        (q.sales_rep, c.sales_rep),
        (q.branch, c.branch),
    )
    if any(want is not None and want != have for want, have in checks):
        return False
    if q.scope is not None and not q.scope.covers(c):
        return False
    if not q.tags <= c.tags:
        return False
    if q.created_from is not None and c.created_at < q.created_from:
        return False
    if q.created_to is not None and c.created_at >= q.created_to:
        return False
    return matches_text(text, terms)


class _Reference:
    def __init__(self, store: MemoryStore, journal: _Journal) -> None:
        self._s = store
        self._j = journal

    def add(self, entry: ReferenceEntry) -> None:
        key = (str(entry.kind), code_key(entry.code))
        if key in self._s.reference:
            raise Conflict(f"{entry.kind} {entry.code!r} already exists", code="duplicate_code", field="code")
        self._j.put(self._s.reference, key, entry)

    def get(self, kind: str, code: str) -> ReferenceEntry | None:
        return self._s.reference.get((str(kind), code_key(code)))

    def list(self, kind: str) -> Sequence[ReferenceEntry]:
        return sorted((e for (k, _), e in self._s.reference.items() if k == kind), key=lambda e: code_key(e.code))

    def field_definitions(self) -> Mapping[str, CustomFieldDefinition]:
        return dict(self._s.fields)

    def save_field_definition(self, definition: CustomFieldDefinition) -> None:
        self._j.put(self._s.fields, definition.name, definition)

    def numbering(self, name: str) -> NumberingScheme | None:
        return self._s.numbering.get(name)

    def save_numbering(self, scheme: NumberingScheme) -> None:
        self._j.put(self._s.numbering, scheme.name, scheme)

    def next_number(self, name: str) -> int:
        value = self._s.sequences.get(name, 0) + 1
        self._j.put(self._s.sequences, name, value)
        return value


class _Audit:
    def __init__(self, store: MemoryStore, journal: _Journal) -> None:
        self._s = store
        self._j = journal

    def add(self, entry: AuditEntry) -> None:
        self._j.append(self._s.audit.setdefault((entry.entity_type, entry.entity_id), []), entry)

    def add_many(self, entries: Sequence[AuditEntry]) -> None:
        for entry in entries:
            self.add(entry)

    def for_entity(self, entity_type: str, entity_id: str) -> Sequence[AuditEntry]:
        return list(self._s.audit.get((entity_type, entity_id), ()))


class _Outbox:
    def __init__(self, store: MemoryStore, journal: _Journal) -> None:
        self._s = store
        self._j = journal

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
        event = Event(
            position=len(self._s.events) + 1,
            id=id,
            type=type,
            aggregate_type=aggregate_type,
            aggregate_id=aggregate_id,
            occurred_at=occurred_at,
            payload=dict(payload),
        )
        self._j.append(self._s.events, event)

    def append_many(self, events: Sequence[Mapping[str, Any]]) -> None:
        for event in events:
            self.append(**event)

    def read(self, after: int, limit: int) -> Sequence[Event]:
        return self._s.events[max(after, 0) : max(after, 0) + limit]


class _Interactions:
    def __init__(self, store: MemoryStore, journal: _Journal) -> None:
        self._s = store
        self._j = journal

    def add(self, interaction: Interaction) -> None:
        self._j.append(self._s.interactions.setdefault(interaction.customer_id, []), interaction)

    def for_customer(self, customer_id: str, limit: int) -> Sequence[Interaction]:
        found = sorted(self._s.interactions.get(customer_id, ()), key=lambda i: (i.at, i.id), reverse=True)
        return found[:limit]


class MemoryUnitOfWork(MemoryAccountRepositories):
    """One transaction on a :class:`MemoryStore`; holds the store's lock while open.

    Each repository is built on first use and kept for the unit of work (a quote touches five of
    the fifteen, so a read does not pay for the rest).
    """

    def __init__(self, store: MemoryStore, journal: _Journal | None = None) -> None:
        self.store = store
        self._journal = journal if journal is not None else _Journal()

    @per_unit
    def customers(self) -> _Customers:
        return _Customers(self.store, self._journal)

    @per_unit
    def reference(self) -> _Reference:
        return _Reference(self.store, self._journal)

    @per_unit
    def audit(self) -> _Audit:
        return _Audit(self.store, self._journal)

    @per_unit
    def events(self) -> _Outbox:
        return _Outbox(self.store, self._journal)

    @per_unit
    def interactions(self) -> _Interactions:
        return _Interactions(self.store, self._journal)

    @per_unit
    def governance(self) -> MemoryGovernance:
        return MemoryGovernance(self.store, self._journal)

    @per_unit
    def credit(self) -> MemoryCredit:
        return MemoryCredit(self.store.credit_tables, self._journal)

    def __enter__(self) -> Self:
        self.store.lock.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self._journal.undo:  # a read wrote nothing: nothing to undo
                self._journal.rollback()
        finally:
            self.store.lock.release()

    def commit(self) -> None:
        """Keep every change made so far."""
        self._journal.undo.clear()

    def rollback(self) -> None:
        """Undo every change not yet committed."""
        self._journal.rollback()
