"""In-memory credit repository (DESIGN.md section 4), the reference implementation.

The tables live in :class:`CreditTables` on the :class:`~bigledger_customers.adapters.memory.MemoryStore`;
every write goes through the unit of work's journal so a rollback undoes it. Units of work on one
store run one at a time, so locking a profile is a no-op here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs

from bigledger_customers.domain.credit import (
    CreditHold,
    CreditProfile,
    DocumentKind,
    HoldState,
    ItemKind,
    OpenItem,
    ReceivableRecord,
)
from bigledger_customers.domain.terms import PaymentTerms
from bigledger_customers.domain.validation import code_key
from bigledger_customers.errors import ConcurrencyError, Conflict
from bigledger_customers.money import Money

if TYPE_CHECKING:
    from bigledger_customers.adapters.memory import _Journal

__all__ = ["CreditTables", "MemoryCredit"]


class CreditTables:
    """The credit state of one memory store."""

    def __init__(self) -> None:
        self.profiles: dict[tuple[str, str], CreditProfile] = {}
        self.terms: dict[str, PaymentTerms] = {}
        self.documents: dict[tuple[str, str], ReceivableRecord] = {}
        self.items: dict[str, OpenItem] = {}
        #: customer id -> ids of its items, in insertion order (dict as an ordered set)
        self.items_of: dict[str, dict[str, None]] = {}
        self.holds: dict[str, CreditHold] = {}
        self.holds_of: dict[str, dict[str, None]] = {}
        #: Only the items with something open and the holds still open, so exposure reads stay small.
        self.open_items_of: dict[str, dict[str, None]] = {}
        self.open_holds_of: dict[str, dict[str, None]] = {}

    def has_financial_history(self, customer_id: str) -> bool:
        """Probe for customer deletion: receivables or credit holds."""
        return bool(self.items_of.get(customer_id)) or bool(self.holds_of.get(customer_id))


class MemoryCredit:
    """:class:`~bigledger_customers.ports.CreditRepository` on dicts."""

    def __init__(self, tables: CreditTables, journal: _Journal) -> None:
        self._t = tables
        self._j = journal

    # -- profiles --------------------------------------------------------------------------------

    def get_profile(self, customer_id: str, currency: str) -> CreditProfile | None:
        return self._t.profiles.get((customer_id, currency))

    lock_profile = get_profile

    def profiles(self, customer_id: str) -> Sequence[CreditProfile]:
        return sorted((p for (c, _), p in self._t.profiles.items() if c == customer_id), key=lambda p: p.currency)

    def save_profile(self, profile: CreditProfile, expected_version: int) -> None:
        key = (profile.customer_id, profile.currency)
        stored = self._t.profiles.get(key)
        if (stored.version if stored else 0) != expected_version or profile.version != expected_version + 1:
            raise ConcurrencyError("credit profile was changed since it was read", field="version")
        self._j.put(self._t.profiles, key, profile)

    # -- terms -----------------------------------------------------------------------------------

    def get_terms(self, code: str) -> PaymentTerms | None:
        return self._t.terms.get(code_key(code))

    def save_terms(self, terms: PaymentTerms) -> None:
        self._j.put(self._t.terms, code_key(terms.code), terms)

    def list_terms(self) -> Sequence[PaymentTerms]:
        return [self._t.terms[k] for k in sorted(self._t.terms)]

    # -- receivables -----------------------------------------------------------------------------

    def get_document(self, kind: DocumentKind, number: str) -> ReceivableRecord | None:
        return self._t.documents.get((kind.value, code_key(number)))

    def add_document(self, record: ReceivableRecord) -> None:
        key = (record.kind.value, code_key(record.number))
        if key in self._t.documents:
            raise Conflict(f"{record.kind} {record.number!r} exists", code="duplicate_document", field="number")
        self._j.put(self._t.documents, key, record)

    def add_item(self, item: OpenItem) -> None:
        self._j.put(self._t.items, item.id, item)
        self._j.put(self._t.items_of.setdefault(item.customer_id, {}), item.id, None)
        if not item.open.is_zero():
            self._j.put(self._t.open_items_of.setdefault(item.customer_id, {}), item.id, None)

    def set_open(self, item: OpenItem, open_after: OpenItem) -> None:
        stored = self._t.items.get(item.id)
        if stored is None or stored.open != item.open:
            raise ConcurrencyError("open item changed since it was read", field="open")
        self._j.put(self._t.items, item.id, open_after)
        if open_after.open.is_zero():
            self._j.delete(self._t.open_items_of.setdefault(item.customer_id, {}), item.id)

    def items(
        self, customer_ids: Sequence[str], *, currency: str | None = None, open_only: bool = True
    ) -> Sequence[OpenItem]:
        found = []
        for customer_id in customer_ids:
            index = self._t.open_items_of if open_only else self._t.items_of
            for item_id in index.get(customer_id, ()):
                item = self._t.items[item_id]
                if (currency is None or item.currency == currency) and not (open_only and item.open.is_zero()):
                    found.append(item)
        return found

    def all_open_items(self, currency: str | None = None) -> Sequence[OpenItem]:
        return [
            i for i in self._t.items.values() if not i.open.is_zero() and (currency is None or i.currency == currency)
        ]

    def reassign_open(self, customer_from: str, customer_to: str) -> Sequence[OpenItem]:
        ids = [i for i in self._t.open_items_of.get(customer_from, ()) if not self._t.items[i].open.is_zero()]
        return [self._reassign(item_id, customer_to) for item_id in ids]

    def reassign_items(self, item_ids: Sequence[str], customer_from: str, customer_to: str) -> int:
        held = [i for i in item_ids if i in self._t.items and self._t.items[i].customer_id == customer_from]
        for item_id in held:
            self._reassign(item_id, customer_to)
        return len(held)

    def _reassign(self, item_id: str, customer_to: str) -> OpenItem:
        item = self._t.items[item_id]
        moved = attrs.evolve(item, customer_id=customer_to)
        self._j.put(self._t.items, item_id, moved)
        self._j.delete(self._t.items_of.setdefault(item.customer_id, {}), item_id)
        self._j.put(self._t.items_of.setdefault(customer_to, {}), item_id, None)
        self._j.delete(self._t.open_items_of.setdefault(item.customer_id, {}), item_id)
        if not item.open.is_zero():
            self._j.put(self._t.open_items_of.setdefault(customer_to, {}), item_id, None)
        return moved

    def open_total(self, customer_ids: Sequence[str], currency: str) -> Money:
        total = 0
        for item in self.items(customer_ids, currency=currency):
            total += item.open.minor if item.kind is ItemKind.INVOICE else -item.open.minor
        return Money.from_minor(total, currency)

    def invoiced(self, customer_ids: Sequence[str] | None, currency: str, start: dt.date, end: dt.date) -> Money:
        source = self._t.items.values() if customer_ids is None else self.items(customer_ids, open_only=False)
        total = sum(
            i.amount.minor
            for i in source
            if i.kind is ItemKind.INVOICE and i.currency == currency and start <= i.issued <= end
        )
        return Money.from_minor(total, currency)

    # -- holds -----------------------------------------------------------------------------------

    def add_hold(self, hold: CreditHold) -> None:
        self._j.put(self._t.holds, hold.id, hold)
        self._j.put(self._t.holds_of.setdefault(hold.customer_id, {}), hold.id, None)
        self._j.put(self._t.open_holds_of.setdefault(hold.customer_id, {}), hold.id, None)

    def get_hold(self, hold_id: str) -> CreditHold | None:
        return self._t.holds.get(hold_id)

    def close_hold(self, hold: CreditHold) -> None:
        stored = self._t.holds.get(hold.id)
        if stored is None or stored.state is not HoldState.OPEN:
            raise ConcurrencyError("credit hold is no longer open", field="hold")
        self._j.put(self._t.holds, hold.id, hold)
        self._j.delete(self._t.open_holds_of.setdefault(hold.customer_id, {}), hold.id)

    def held_total(self, customer_ids: Sequence[str], currency: str, now: dt.datetime) -> Money:
        total = 0
        for customer_id in customer_ids:
            for hold_id in self._t.open_holds_of.get(customer_id, ()):
                hold = self._t.holds[hold_id]
                if hold.amount.currency == currency and hold.counts(now):
                    total += hold.amount.minor
        return Money.from_minor(total, currency)

    def held_totals(self, customer_ids: Sequence[str], now: dt.datetime) -> dict[str, Money]:
        totals: dict[str, int] = {}
        for customer_id in customer_ids:
            for hold_id in self._t.open_holds_of.get(customer_id, ()):
                hold = self._t.holds[hold_id]
                if hold.counts(now):
                    totals[hold.amount.currency] = totals.get(hold.amount.currency, 0) + hold.amount.minor
        return {currency: Money.from_minor(minor, currency) for currency, minor in totals.items()}

    def has_history(self, customer_id: str) -> bool:
        return self._t.has_financial_history(customer_id)
