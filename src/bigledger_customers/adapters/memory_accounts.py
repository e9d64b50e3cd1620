"""In-memory repositories of customer accounts (DESIGN.md section 5), the reference implementation.

The tables live in :class:`AccountTables` on the :class:`~bigledger_customers.adapters.memory.MemoryStore`;
every write goes through the unit of work's journal so a rollback undoes it. Units of work on one
store run one at a time, so "locking" a row is a no-op here.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar, overload

import attrs

from bigledger_customers.domain.accounts import (
    Account,
    Balance,
    ExpenseRecord,
    Hold,
    HoldStatus,
    IncomeRecord,
    LedgerEntry,
    Move,
    RecordStatus,
    SettlementMethod,
    TopUpRecord,
)
from bigledger_customers.domain.approvals import ApprovalRequest, ApprovalStatus
from bigledger_customers.domain.convert import converter
from bigledger_customers.domain.idempotency import IdempotencyRecord, Outcome
from bigledger_customers.domain.privacy import erase_free_text
from bigledger_customers.domain.rebates import GrantStatus, RebateGrant
from bigledger_customers.errors import ConcurrencyError, Conflict
from bigledger_customers.ports import AccountState

if TYPE_CHECKING:
    from bigledger_customers.adapters.memory import MemoryStore, _Journal

__all__ = ["AccountTables", "MemoryAccountRepositories", "per_unit"]

_T = TypeVar("_T")


class per_unit(Generic[_T]):  # noqa: N801 - used as a decorator, like functools.cached_property
    """A repository of a unit of work, built on first use and then kept in the instance ``__dict__``.

    ``functools.cached_property`` without its lock (Python 3.11 takes one on every first use): a unit
    of work is used by one thread, and a quote builds six repositories.
    """

    def __init__(self, build: Callable[[Any], _T]) -> None:
        self._build = build
        self._name = build.__name__
        self.__doc__ = build.__doc__

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Self: ...

    @overload
    def __get__(self, obj: object, owner: type | None = None) -> _T: ...

    def __get__(self, obj: object | None, owner: type | None = None) -> _T | Self:
        if obj is None:
            return self
        value = obj.__dict__[self._name] = self._build(obj)
        return value


class AccountTables:
    """The account state of one memory store."""

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.balances: dict[tuple[str, str], Balance] = {}
        self.grants: dict[str, RebateGrant] = {}
        self.grants_by_account: dict[str, set[str]] = {}
        self.grant_orders: dict[tuple[str, str], str] = {}
        self.holds: dict[str, Hold] = {}
        self.top_ups: dict[str, list[TopUpRecord]] = {}
        self.incomes: dict[str, IncomeRecord] = {}
        self.expenses: dict[str, list[ExpenseRecord]] = {}
        self.ledger: list[LedgerEntry] = []
        self.ledger_by_account: dict[str, list[LedgerEntry]] = {}
        self.idempotency: dict[str, IdempotencyRecord] = {}
        self.approvals: dict[str, ApprovalRequest] = {}
        self.config: dict[str, Any] = {}

    def has_financial_history(self, customer_id: str) -> bool:
        """Probe for customer deletion: ledger entries or grants (an account is one per customer)."""
        return bool(self.ledger_by_account.get(customer_id)) or bool(self.grants_by_account.get(customer_id))


class _Repo:
    def __init__(self, tables: AccountTables, store: MemoryStore, journal: _Journal) -> None:
        self._t = tables
        self._s = store
        self._j = journal


class _Accounts(_Repo):
    def get(self, account_id: str) -> Account | None:
        return self._t.accounts.get(account_id)

    def lock(self, account_id: str) -> Account | None:
        return self._t.accounts.get(account_id)

    def state(self, account_id: str, *, currency: str | None, now: dt.datetime) -> AccountState:
        # Housekeeping is cheap here (dict scans): always let the command run it.
        balance = self._t.balances.get((account_id, currency)) if currency is not None else None
        return AccountState(balance=balance, housekeeping=True)

    def add(self, account: Account) -> None:
        if account.id in self._t.accounts:
            raise Conflict("the customer already has an account", code="duplicate_account", field="customer")
        self._j.put(self._t.accounts, account.id, account)

    def update(self, account: Account, expected_version: int) -> None:
        stored = self._t.accounts.get(account.id)
        if stored is None or stored.version != expected_version:
            raise ConcurrencyError("account was changed since it was read", field="version", value=expected_version)
        self._j.put(self._t.accounts, account.id, account)

    def create_missing(
        self, *, after: str, limit: int, settlement_method: SettlementMethod, now: dt.datetime
    ) -> tuple[int, str | None]:
        ids = sorted(i for i in self._s.customers if i > after)[:limit]
        created = 0
        for customer_id in ids:
            if customer_id not in self._t.accounts:
                account = Account(
                    id=customer_id,
                    customer_id=customer_id,
                    settlement_method=settlement_method,
                    created_at=now,
                    updated_at=now,
                )
                self._j.put(self._t.accounts, customer_id, account)
                created += 1
        return created, (ids[-1] if ids else None)

    def count(self) -> int:
        return len(self._t.accounts)


class _Balances(_Repo):
    def get(self, account_id: str, currency: str) -> Balance | None:
        return self._t.balances.get((account_id, currency))

    def for_account(self, account_id: str) -> Mapping[str, Balance]:
        return {c: b for (a, c), b in sorted(self._t.balances.items()) if a == account_id}

    def move(self, account_id: str, move: Move) -> Balance:
        before = self._t.balances.get((account_id, move.currency)) or Balance.zero(move.currency)
        after = before.apply(move)
        self._j.put(self._t.balances, (account_id, move.currency), after)
        return after


class _Grants(_Repo):
    def get(self, grant_id: str) -> RebateGrant | None:
        return self._t.grants.get(grant_id)

    def add(self, grant: RebateGrant) -> None:
        if grant.id in self._t.grants:
            raise Conflict("grant id is taken", code="duplicate_grant", field="grant")
        if grant.rule_id and grant.order_number:
            key = (grant.rule_id, grant.order_number)
            if key in self._t.grant_orders:
                raise Conflict("the rule already gave a grant for this order", code="duplicate_order_grant")
            self._j.put(self._t.grant_orders, key, grant.id)
        self._j.put(self._t.grants, grant.id, grant)
        self._j.add_to_set(self._t.grants_by_account, grant.account_id, grant.id)

    def for_account(self, account_id: str) -> Sequence[RebateGrant]:
        return [self._t.grants[i] for i in sorted(self._t.grants_by_account.get(account_id, ()))]

    def for_order(self, rule_id: str, order_number: str) -> RebateGrant | None:
        grant_id = self._t.grant_orders.get((rule_id, order_number))
        return self._t.grants.get(grant_id) if grant_id else None

    def move(self, grant_id: str, move: Move) -> RebateGrant:
        after = self._t.grants[grant_id].apply(move)
        self._j.put(self._t.grants, grant_id, after)
        return after

    def set_status(self, grant: RebateGrant, status: GrantStatus) -> RebateGrant:
        stored = self._t.grants.get(grant.id)
        if stored is None or stored.version != grant.version:
            raise ConcurrencyError("grant was changed since it was read", field="version")
        after = attrs.evolve(stored, status=status, version=stored.version + 1)
        self._j.put(self._t.grants, grant.id, after)
        return after

    def expired(self, as_of: dt.datetime, limit: int) -> Sequence[RebateGrant]:
        found = [g for g in self._t.grants.values() if g.status is GrantStatus.APPROVED and g.is_past(as_of)]
        return sorted(found, key=lambda g: g.id)[:limit]

    def has_any(self, customer_id: str) -> bool:
        return bool(self._t.grants_by_account.get(customer_id))

    def erase_reasons(self, customer_id: str, text: str) -> Sequence[str]:
        erased: set[str] = set()
        for grant in list(self._t.grants.values()):
            if grant.customer_id == customer_id and grant.reason and grant.reason != text:
                erased.add(grant.reason)
                self._j.put(self._t.grants, grant.id, attrs.evolve(grant, reason=text))
        return sorted(erased)


class _Holds(_Repo):
    def add(self, hold: Hold) -> None:
        if hold.id in self._t.holds:
            raise Conflict("hold id is taken", code="duplicate_hold", field="hold")
        self._j.put(self._t.holds, hold.id, hold)

    def get(self, hold_id: str) -> Hold | None:
        return self._t.holds.get(hold_id)

    def update(self, hold: Hold, expected_version: int) -> None:
        stored = self._t.holds.get(hold.id)
        if stored is None or stored.version != expected_version:
            raise ConcurrencyError("hold was changed since it was read", field="version")
        self._j.put(self._t.holds, hold.id, hold)

    def overdue(self, now: dt.datetime, *, account_id: str | None = None, limit: int = 1000) -> Sequence[Hold]:
        found = [
            h
            for h in self._t.holds.values()
            if h.status is HoldStatus.OPEN and h.is_overdue(now) and (account_id is None or h.account_id == account_id)
        ]
        return sorted(found, key=lambda h: (h.expires_at or now, h.id))[:limit]

    def erase_reasons(self, customer_id: str, text: str) -> Sequence[str]:
        erased: set[str] = set()
        for hold in list(self._t.holds.values()):
            if hold.customer_id == customer_id and hold.reason and hold.reason != text:
                erased.add(hold.reason)
                self._j.put(self._t.holds, hold.id, attrs.evolve(hold, reason=text))
        return sorted(erased)


class _Records(_Repo):
    def add_top_up(self, record: TopUpRecord) -> None:
        self._j.append(self._t.top_ups.setdefault(record.account_id, []), record)

    def add_income(self, record: IncomeRecord) -> None:
        self._j.put(self._t.incomes, record.id, record)

    def get_income(self, income_id: str) -> IncomeRecord | None:
        return self._t.incomes.get(income_id)

    def update_income(self, record: IncomeRecord) -> None:
        stored = self._t.incomes.get(record.id)
        if stored is None or stored.status is not RecordStatus.PENDING:
            raise ConcurrencyError("income is no longer pending", field="status")
        self._j.put(self._t.incomes, record.id, record)

    def add_expense(self, record: ExpenseRecord) -> None:
        self._j.append(self._t.expenses.setdefault(record.account_id, []), record)

    def top_ups(self, account_id: str) -> Sequence[TopUpRecord]:
        return list(self._t.top_ups.get(account_id, ()))

    def incomes(self, account_id: str) -> Sequence[IncomeRecord]:
        return sorted(
            (r for r in self._t.incomes.values() if r.account_id == account_id), key=lambda r: (r.requested_at, r.id)
        )

    def expenses(self, account_id: str) -> Sequence[ExpenseRecord]:
        return list(self._t.expenses.get(account_id, ()))

    def erase_text(self, customer_id: str, text: str) -> Sequence[str]:
        erased: set[str] = set()
        for income in list(self._t.incomes.values()):
            if income.customer_id == customer_id and income.reference and income.reference != text:
                erased.add(income.reference)
                self._j.put(self._t.incomes, income.id, attrs.evolve(income, reference=text))
        lists: list[tuple[dict[str, Any], str]] = [(self._t.top_ups, "reference"), (self._t.expenses, "reason")]
        for table, field in lists:
            for account_id, records in list(table.items()):
                found = {getattr(r, field) for r in records if r.customer_id == customer_id} - {"", text}
                if found:
                    erased |= found
                    changes = {field: text}
                    blanked = [attrs.evolve(r, **changes) if r.customer_id == customer_id else r for r in records]
                    self._j.put(table, account_id, blanked)
        return sorted(erased)


class _Ledger(_Repo):
    def add(self, entry: LedgerEntry) -> None:
        entry = attrs.evolve(entry, seq=len(self._t.ledger) + 1)
        self._j.append(self._t.ledger, entry)
        self._j.append(self._t.ledger_by_account.setdefault(entry.account_id, []), entry)

    def for_account(self, account_id: str) -> Sequence[LedgerEntry]:
        return list(self._t.ledger_by_account.get(account_id, ()))

    def all(self, *, after: int = 0, limit: int = 10_000) -> Sequence[LedgerEntry]:
        return self._t.ledger[max(after, 0) : max(after, 0) + limit]

    def has_entries(self, customer_id: str) -> bool:
        return bool(self._t.ledger_by_account.get(customer_id))

    def erase_reasons(self, customer_id: str, values: Collection[str], text: str) -> int:
        def blank(entries: list[LedgerEntry]) -> int:
            count = 0
            for i, entry in enumerate(entries):
                if entry.customer_id == customer_id and entry.reason in values:
                    entries[i] = attrs.evolve(entry, reason=text)
                    self._j.undo.append(functools.partial(entries.__setitem__, i, entry))
                    count += 1
            return count

        for entries in self._t.ledger_by_account.values():
            blank(entries)
        return blank(self._t.ledger)


class _Idempotency(_Repo):
    def claim(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        found = self._t.idempotency.get(record.key)
        if found is not None:
            return found
        self._j.put(self._t.idempotency, record.key, record)
        return None

    def finish(self, key: str, outcome: Outcome) -> None:
        self._j.put(self._t.idempotency, key, attrs.evolve(self._t.idempotency[key], outcome=outcome))

    def erase_text(self, customer_id: str, values: Collection[str], text: str) -> int:
        count = 0
        for key, record in list(self._t.idempotency.items()):
            if record.outcome is None or customer_id not in repr(record.outcome.result):
                continue
            result = erase_free_text(record.outcome.result, values, text)
            if result != record.outcome.result:
                outcome = attrs.evolve(record.outcome, result=result)
                self._j.put(self._t.idempotency, key, attrs.evolve(record, outcome=outcome))
                count += 1
        return count


class _Approvals(_Repo):
    def add(self, request: ApprovalRequest) -> None:
        self._j.put(self._t.approvals, request.id, request)

    def get(self, request_id: str) -> ApprovalRequest | None:
        return self._t.approvals.get(request_id)

    def update(self, request: ApprovalRequest, expected_version: int) -> None:
        stored = self._t.approvals.get(request.id)
        if stored is None or stored.version != expected_version:
            raise ConcurrencyError("approval request was changed since it was read", field="version")
        self._j.put(self._t.approvals, request.id, request)

    def pending(self, *, command: str | None = None, limit: int = 100) -> Sequence[ApprovalRequest]:
        found = [
            r
            for r in self._t.approvals.values()
            if r.status is ApprovalStatus.PENDING and (command is None or r.command == command)
        ]
        return sorted(found, key=lambda r: (r.requested_at, r.id))[:limit]

    def erase_text(self, customer_id: str, values: Collection[str], text: str) -> int:
        count = 0
        for request in list(self._t.approvals.values()):
            if request.customer_id != customer_id:
                continue
            doc = converter.unstructure(request)
            scrubbed = erase_free_text(doc, values, text)
            if scrubbed != doc:
                self._j.put(self._t.approvals, request.id, converter.structure(scrubbed, ApprovalRequest))
                count += 1
        return count


class _Config(_Repo):
    def get(self, name: str) -> Any:
        return self._t.config.get(name)

    def put(self, name: str, value: Any) -> None:
        self._j.put(self._t.config, name, value)


class MemoryAccountRepositories:
    """Mixin for the memory unit of work: the account repositories over ``store.account_tables``.

    Each is built on first use and kept for the unit of work (the class using the mixin has a ``__dict__``).
    """

    store: MemoryStore
    _journal: _Journal

    @per_unit
    def accounts(self) -> _Accounts:
        return _Accounts(self.store.account_tables, self.store, self._journal)

    @per_unit
    def balances(self) -> _Balances:
        return _Balances(self.store.account_tables, self.store, self._journal)

    @per_unit
    def grants(self) -> _Grants:
        return _Grants(self.store.account_tables, self.store, self._journal)

    @per_unit
    def holds(self) -> _Holds:
        return _Holds(self.store.account_tables, self.store, self._journal)

    @per_unit
    def account_records(self) -> _Records:
        return _Records(self.store.account_tables, self.store, self._journal)

    @per_unit
    def ledger(self) -> _Ledger:
        return _Ledger(self.store.account_tables, self.store, self._journal)

    @per_unit
    def idempotency(self) -> _Idempotency:
        return _Idempotency(self.store.account_tables, self.store, self._journal)

    @per_unit
    def approvals(self) -> _Approvals:
        return _Approvals(self.store.account_tables, self.store, self._journal)

    @per_unit
    def config(self) -> _Config:
        return _Config(self.store.account_tables, self.store, self._journal)
