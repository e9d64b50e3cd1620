"""Ports: what the services need from storage and the outside world.

Adapters implement these Protocols (``adapters/memory.py`` is the reference; ``adapters/sql`` the
SQL ones) and every implementation passes :mod:`bigledger_customers.testing.contract`.

A unit of work is the only way services touch storage::

    with uow_factory() as uow:
        customer = uow.customers.get_by_code("CUS-001")
        ...
        uow.commit()          # leaving without commit rolls everything back
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from types import TracebackType
from typing import Any, NamedTuple, Protocol, Self

from bigledger_customers.domain.access import DataScope
from bigledger_customers.domain.accounts import (
    Account,
    Balance,
    ExpenseRecord,
    Hold,
    IncomeRecord,
    LedgerEntry,
    Move,
    SettlementMethod,
    TopUpRecord,
)
from bigledger_customers.domain.approvals import ApprovalRequest
from bigledger_customers.domain.credit import CreditHold, CreditProfile, DocumentKind, OpenItem, ReceivableRecord
from bigledger_customers.domain.customer import Customer
from bigledger_customers.domain.idempotency import IdempotencyRecord, Outcome
from bigledger_customers.domain.merge import MergeRecord
from bigledger_customers.domain.privacy import Consent
from bigledger_customers.domain.rebates import GrantStatus, RebateGrant
from bigledger_customers.domain.records import AuditEntry, Event, Interaction
from bigledger_customers.domain.reference import CustomFieldDefinition, NumberingScheme, ReferenceEntry
from bigledger_customers.domain.search import CustomerQuery, Page
from bigledger_customers.domain.terms import PaymentTerms
from bigledger_customers.money import Money

__all__ = [
    "AccountRecords",
    "AccountRepository",
    "AccountState",
    "ApprovalRepository",
    "AuditLog",
    "BalanceRepository",
    "Clock",
    "ConfigStore",
    "CreditRepository",
    "CustomerRepository",
    "GovernanceRepository",
    "GrantRepository",
    "HoldRepository",
    "IdGenerator",
    "IdempotencyStore",
    "Interactions",
    "Ledger",
    "Outbox",
    "ReferenceRepository",
    "SystemClock",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "new_id",
]


class Clock(Protocol):
    """Where time comes from; domain code never reads the system clock itself."""

    def now(self) -> dt.datetime:
        """The current time, timezone-aware."""
        ...


class SystemClock:
    """The real clock, in UTC."""

    def now(self) -> dt.datetime:
        """The current UTC time."""
        return dt.datetime.now(dt.UTC)


IdGenerator = Callable[[], str]


def new_id() -> str:
    """A new random id (32 hex digits); ids are opaque strings to callers."""
    return uuid.uuid4().hex


class CustomerRepository(Protocol):
    """Customers, by id and by code (case-insensitive), with optimistic locking on ``version``."""

    def get(self, customer_id: str) -> Customer | None:
        """The customer with this id, or None."""
        ...

    def get_by_code(self, code: str) -> Customer | None:
        """The customer whose code equals ``code`` ignoring case, or None."""
        ...

    def add(self, customer: Customer) -> None:
        """Insert a new customer (its version is 1). A code taken ignoring case raises Conflict."""
        ...

    def update(self, customer: Customer, expected_version: int) -> None:
        """Replace the stored customer if its version is still ``expected_version``.

        ``customer.version`` must be ``expected_version + 1``; otherwise, or when the stored version
        differs, raise ConcurrencyError and write nothing.
        """
        ...

    def remove(self, customer_id: str, expected_version: int) -> None:
        """Delete the customer if its version is still ``expected_version`` (else ConcurrencyError)."""
        ...

    def children(self, customer_id: str) -> Sequence[str]:
        """Ids of the direct children of ``customer_id``."""
        ...

    def has_financial_history(self, customer_id: str) -> bool:
        """True when account entries, receivables or grants reference the customer."""
        ...

    def search(self, query: CustomerQuery) -> Page[Customer]:
        """Customers matching ``query`` in its order, one page at a time (keyset pagination)."""
        ...

    def count(self) -> int:
        """How many customers are stored."""
        ...

    def match_candidates(
        self, keys: Sequence[str], limit: int, *, scope: DataScope | None = None
    ) -> Sequence[Customer]:
        """Up to ``limit`` customers stored under any of ``keys`` (see ``domain.duplicates.index_keys``).

        The repository files every customer it saves under ``index_keys(customer)``. With ``scope``
        only customers inside it count, filtered in the query (before the limit).
        """
        ...


class ReferenceRepository(Protocol):
    """Reference entries, custom-field definitions and numbering sequences."""

    def add(self, entry: ReferenceEntry) -> None:
        """Insert; a (kind, code) already present ignoring case raises Conflict."""
        ...

    def get(self, kind: str, code: str) -> ReferenceEntry | None:
        """The entry, matched ignoring case, or None."""
        ...

    def list(self, kind: str) -> Sequence[ReferenceEntry]:
        """Every entry of ``kind``, by code."""
        ...

    def field_definitions(self) -> Mapping[str, CustomFieldDefinition]:
        """Custom-field definitions by name."""
        ...

    def save_field_definition(self, definition: CustomFieldDefinition) -> None:
        """Insert or replace a custom-field definition."""
        ...

    def numbering(self, name: str) -> NumberingScheme | None:
        """The numbering scheme called ``name``, or None when it was never configured."""
        ...

    def save_numbering(self, scheme: NumberingScheme) -> None:
        """Insert or replace a numbering scheme, keeping its sequence position."""
        ...

    def next_number(self, name: str) -> int:
        """Atomically take the next number of the sequence ``name`` (first is 1).

        Two concurrent units of work never get the same number.
        """
        ...


class AuditLog(Protocol):
    """Append-only audit trail."""

    def add(self, entry: AuditEntry) -> None:
        """Record one entry."""
        ...

    def for_entity(self, entity_type: str, entity_id: str) -> Sequence[AuditEntry]:
        """Entries of one entity, oldest first."""
        ...


class Outbox(Protocol):
    """Domain events, written in the same transaction as the change they describe."""

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
        """Queue one event; it gets its position when the unit of work commits."""
        ...

    def read(self, after: int, limit: int) -> Sequence[Event]:
        """Committed events with position greater than ``after``, in order."""
        ...


class Interactions(Protocol):
    """Communication history per customer."""

    def add(self, interaction: Interaction) -> None:
        """Record one interaction."""
        ...

    def for_customer(self, customer_id: str, limit: int) -> Sequence[Interaction]:
        """The latest ``limit`` interactions, newest first."""
        ...


class GovernanceRepository(Protocol):
    """Merge records, consent records, and the storage-wide edits merges and erasures need (issue 7)."""

    def add_merge(self, record: MergeRecord) -> None:
        """Store a new merge record."""
        ...

    def get_merge(self, merge_id: str) -> MergeRecord | None:
        """The merge record, or None."""
        ...

    def update_merge(self, record: MergeRecord) -> None:
        """Replace a stored merge record (unmerged, or its snapshots anonymised)."""
        ...

    def merges_for(self, customer_id: str) -> Sequence[MergeRecord]:
        """Merge records naming the customer as survivor or duplicate, oldest first."""
        ...

    def interaction_ids(self, customer_id: str) -> Sequence[str]:
        """Ids of every interaction of the customer, sorted."""
        ...

    def move_interactions(self, ids: Sequence[str], to_customer_id: str) -> None:
        """Give the interactions with these ids to another customer."""
        ...

    def erase_interactions(self, customer_id: str, *, contact_id: str | None, text: str) -> int:
        """Overwrite the summaries (and contact link) of the customer's interactions, or of one contact's."""
        ...

    def rewrite_audit(self, entry: AuditEntry, changes: Mapping[str, Any]) -> None:
        """Replace the changes of one audit entry (erasure only: personal values are scrubbed)."""
        ...

    def add_consent(self, consent: Consent) -> None:
        """Record consent given or withdrawn."""
        ...

    def consents(self, customer_id: str) -> Sequence[Consent]:
        """Consent records of the customer (and its contacts), oldest first."""
        ...

    def erase_consent_evidence(self, customer_id: str, *, contact_id: str | None, text: str) -> int:
        """Overwrite the free-text evidence of the customer's (or one contact's) consent records."""
        ...


class UnitOfWork(Protocol):
    """One transaction over every repository. Leaving without :meth:`commit` rolls back."""

    @property
    def customers(self) -> CustomerRepository: ...

    @property
    def reference(self) -> ReferenceRepository: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def events(self) -> Outbox: ...

    @property
    def interactions(self) -> Interactions: ...

    @property
    def governance(self) -> GovernanceRepository: ...

    @property
    def accounts(self) -> AccountRepository: ...

    @property
    def balances(self) -> BalanceRepository: ...

    @property
    def grants(self) -> GrantRepository: ...

    @property
    def holds(self) -> HoldRepository: ...

    @property
    def account_records(self) -> AccountRecords: ...

    @property
    def ledger(self) -> Ledger: ...

    @property
    def idempotency(self) -> IdempotencyStore: ...

    @property
    def approvals(self) -> ApprovalRepository: ...

    @property
    def config(self) -> ConfigStore: ...

    @property
    def credit(self) -> CreditRepository: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def commit(self) -> None:
        """Make every change of this unit of work durable, atomically."""
        ...

    def rollback(self) -> None:
        """Discard every change of this unit of work."""
        ...


class UnitOfWorkFactory(Protocol):
    """Builds a new unit of work; ``write=False`` lets an adapter take a cheaper read transaction."""

    def __call__(self, *, write: bool = True) -> UnitOfWork: ...


# -- customer accounts (DESIGN.md section 5) ------------------------------------------------------


class AccountState(NamedTuple):
    """What a money command reads right after locking its account, in one statement on SQL."""

    #: The prepayment balance in the command's currency (None when nothing ever moved in it).
    balance: Balance | None
    #: True when a hold of the account may be overdue or an approved grant past its validity as of
    #: the time asked, i.e. the command's housekeeping (DESIGN.md section 2) has something to do.
    housekeeping: bool


class AccountRepository(Protocol):
    """One account per customer; its id is the customer's id."""

    def get(self, account_id: str) -> Account | None:
        """The account, or None."""
        ...

    def lock(self, account_id: str) -> Account | None:
        """The account, locked against other writers until the unit of work ends (None when missing).

        Every money command locks the one account it touches before any write, so commands on one
        account run one after another and never deadlock (one row, one order).
        """
        ...

    def state(self, account_id: str, *, currency: str | None, now: dt.datetime) -> AccountState:
        """The balance in ``currency`` and whether housekeeping is due, read after :meth:`lock`
        (so a fresh read of what the previous holder of the lock committed)."""
        ...

    def add(self, account: Account) -> None:
        """Insert; a customer that already has an account raises Conflict."""
        ...

    def update(self, account: Account, expected_version: int) -> None:
        """Replace if the stored version is still ``expected_version`` (else ConcurrencyError)."""
        ...

    def create_missing(
        self, *, after: str, limit: int, settlement_method: SettlementMethod, now: dt.datetime
    ) -> tuple[int, str | None]:
        """Create the accounts of up to ``limit`` customers without one whose id is above ``after``,
        in id order; return how many were created and the last customer id looked at (None when none)."""
        ...

    def count(self) -> int:
        """How many accounts exist."""
        ...


class BalanceRepository(Protocol):
    """Prepayment balances per (account, currency). Moves are atomic and never leave a part negative."""

    def get(self, account_id: str, currency: str) -> Balance | None:
        """The balance, or None when nothing ever moved in that currency."""
        ...

    def for_account(self, account_id: str) -> Mapping[str, Balance]:
        """Every balance of the account by currency."""
        ...

    def move(self, account_id: str, move: Move) -> Balance:
        """Apply ``move`` atomically (creating the balance on a first deposit) and return the balance after it.

        When it would leave a part negative nothing is written and InsufficientFunds is raised.
        """
        ...


class GrantRepository(Protocol):
    """Rebate grants; ``move`` is atomic like :meth:`BalanceRepository.move`."""

    def get(self, grant_id: str) -> RebateGrant | None:
        """The grant, or None."""
        ...

    def add(self, grant: RebateGrant) -> None:
        """Insert a new grant; a second order-rule grant for the same (rule, order) raises Conflict."""
        ...

    def for_account(self, account_id: str) -> Sequence[RebateGrant]:
        """The account's grants by id."""
        ...

    def for_order(self, rule_id: str, order_number: str) -> RebateGrant | None:
        """The grant a rule gave for an order, if any."""
        ...

    def move(self, grant_id: str, move: Move) -> RebateGrant:
        """Apply ``move`` atomically (exhausted when nothing remains); InsufficientFunds when it does not fit."""
        ...

    def set_status(self, grant: RebateGrant, status: GrantStatus) -> RebateGrant:
        """Change the status (approve, reject, expire) of a grant whose version is ``grant.version``."""
        ...

    def expired(self, as_of: dt.datetime, limit: int) -> Sequence[RebateGrant]:
        """Approved grants whose validity ended by ``as_of``."""
        ...

    def has_any(self, customer_id: str) -> bool:
        """True when the customer has any grant."""
        ...

    def erase_reasons(self, customer_id: str, text: str) -> Sequence[str]:
        """Overwrite the non-empty reasons of the customer's grants with ``text`` (an erasure; amounts
        untouched); the distinct values overwritten."""
        ...


class HoldRepository(Protocol):
    """Two-phase holds."""

    def add(self, hold: Hold) -> None:
        """Insert a new hold."""
        ...

    def get(self, hold_id: str) -> Hold | None:
        """The hold, or None."""
        ...

    def update(self, hold: Hold, expected_version: int) -> None:
        """Replace if the stored version is still ``expected_version`` (else ConcurrencyError)."""
        ...

    def overdue(self, now: dt.datetime, *, account_id: str | None = None, limit: int = 1000) -> Sequence[Hold]:
        """Open holds whose expiry has come, of one account or of all, oldest first."""
        ...

    def erase_reasons(self, customer_id: str, text: str) -> Sequence[str]:
        """Overwrite the non-empty reasons of the customer's holds with ``text``; the distinct values overwritten."""
        ...


class AccountRecords(Protocol):
    """Top-ups, offline income and expense records."""

    def add_top_up(self, record: TopUpRecord) -> None: ...

    def add_income(self, record: IncomeRecord) -> None: ...

    def get_income(self, income_id: str) -> IncomeRecord | None: ...

    def update_income(self, record: IncomeRecord) -> None:
        """Replace a pending income by its decided form (ConcurrencyError when no longer pending)."""
        ...

    def add_expense(self, record: ExpenseRecord) -> None: ...

    def top_ups(self, account_id: str) -> Sequence[TopUpRecord]: ...

    def incomes(self, account_id: str) -> Sequence[IncomeRecord]: ...

    def expenses(self, account_id: str) -> Sequence[ExpenseRecord]: ...

    def erase_text(self, customer_id: str, text: str) -> Sequence[str]:
        """Overwrite the non-empty top-up and income references and expense reasons of the customer
        with ``text`` (an erasure; amounts untouched); the distinct values overwritten."""
        ...


class Ledger(Protocol):
    """Append-only ledger entries; ``seq`` is given on insert and orders the entries of a balance."""

    def add(self, entry: LedgerEntry) -> None: ...

    def for_account(self, account_id: str) -> Sequence[LedgerEntry]:
        """Entries of one account in ``seq`` order."""
        ...

    def all(self, *, after: int = 0, limit: int = 10_000) -> Sequence[LedgerEntry]:
        """Entries with ``seq`` above ``after`` in order."""
        ...

    def has_entries(self, customer_id: str) -> bool: ...

    def erase_reasons(self, customer_id: str, values: Collection[str], text: str) -> int:
        """Overwrite the reasons of the customer's entries that are one of ``values`` with ``text``; how many."""
        ...


class IdempotencyStore(Protocol):
    """Claimed idempotency keys and their first outcome, written in the command's transaction."""

    def claim(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        """Claim ``record.key`` (its outcome still None) or return the record that already holds it.

        A concurrent claim of the same key waits until the first transaction ends (SQL: the unique
        index), so a replay always sees the first outcome.
        """
        ...

    def finish(self, key: str, outcome: Outcome) -> None:
        """Store the outcome of a key claimed in this unit of work."""
        ...

    def erase_text(self, customer_id: str, values: Collection[str], text: str) -> int:
        """In stored outcomes naming the customer, overwrite free-text fields (``reason``,
        ``reference``) that are one of ``values`` with ``text``; how many outcomes changed."""
        ...


class ApprovalRepository(Protocol):
    """Approval requests (DESIGN.md section 3)."""

    def add(self, request: ApprovalRequest) -> None: ...

    def get(self, request_id: str) -> ApprovalRequest | None: ...

    def update(self, request: ApprovalRequest, expected_version: int) -> None:
        """Replace if the stored version is still ``expected_version`` (else ConcurrencyError)."""
        ...

    def pending(self, *, command: str | None = None, limit: int = 100) -> Sequence[ApprovalRequest]: ...

    def erase_text(self, customer_id: str, values: Collection[str], text: str) -> int:
        """In the customer's requests, overwrite free-text fields (``reason``, ``reference``) that are
        one of ``values`` with ``text``; how many requests changed."""
        ...


class ConfigStore(Protocol):
    """Named JSON documents a host configures (usage rules, order rules, fees, approval policy)."""

    def get(self, name: str) -> Any: ...

    def put(self, name: str, value: Any) -> None: ...


# -- credit (DESIGN.md section 4) -----------------------------------------------------------------


class CreditRepository(Protocol):
    """Credit profiles, payment terms, receivables (documents, open items, allocations) and credit holds."""

    def get_profile(self, customer_id: str, currency: str) -> CreditProfile | None:
        """The customer's profile in ``currency``, or None."""
        ...

    def lock_profile(self, customer_id: str, currency: str) -> CreditProfile | None:
        """Like :meth:`get_profile`, and locks the row until the unit of work ends (serialises holds)."""
        ...

    def profiles(self, customer_id: str) -> Sequence[CreditProfile]:
        """Every profile of the customer, by currency."""
        ...

    def save_profile(self, profile: CreditProfile, expected_version: int) -> None:
        """Insert (``expected_version`` 0) or replace if the stored version still matches (else ConcurrencyError)."""
        ...

    def get_terms(self, code: str) -> PaymentTerms | None:
        """Payment terms by code (ignoring case), or None."""
        ...

    def save_terms(self, terms: PaymentTerms) -> None:
        """Insert or replace payment terms."""
        ...

    def list_terms(self) -> Sequence[PaymentTerms]:
        """Every stored payment terms, by code."""
        ...

    def get_document(self, kind: DocumentKind, number: str) -> ReceivableRecord | None:
        """The posted document of ``kind`` numbered ``number`` (ignoring case), or None."""
        ...

    def add_document(self, record: ReceivableRecord) -> None:
        """Record a posted document; the same (kind, number) twice raises Conflict."""
        ...

    def add_item(self, item: OpenItem) -> None:
        """Insert an open item."""
        ...

    def set_open(self, item: OpenItem, open_after: OpenItem) -> None:
        """Replace ``item`` by ``open_after`` if its open amount is still ``item.open`` (else ConcurrencyError)."""
        ...

    def items(
        self, customer_ids: Sequence[str], *, currency: str | None = None, open_only: bool = True
    ) -> Sequence[OpenItem]:
        """Items of the customers (only those with something open unless ``open_only`` is False)."""
        ...

    def all_open_items(self, currency: str | None = None) -> Sequence[OpenItem]:
        """Every item with something open, of every customer."""
        ...

    def reassign_open(self, customer_from: str, customer_to: str) -> Sequence[OpenItem]:
        """Give every item of ``customer_from`` with something open to ``customer_to`` (a merge).

        Returns the items as moved; the amounts and the documents' own records stay as they were.
        """
        ...

    def reassign_items(self, item_ids: Sequence[str], customer_from: str, customer_to: str) -> int:
        """Give the named items still held by ``customer_from`` to ``customer_to`` (an unmerge); how many moved."""
        ...

    def open_total(self, customer_ids: Sequence[str], currency: str) -> Money:
        """Open invoice amounts less unapplied credit of the customers, in ``currency``."""
        ...

    def invoiced(self, customer_ids: Sequence[str] | None, currency: str, start: dt.date, end: dt.date) -> Money:
        """Invoice lines issued in ``[start, end]`` (of these customers, or all with None)."""
        ...

    def add_hold(self, hold: CreditHold) -> None:
        """Insert a new credit hold."""
        ...

    def get_hold(self, hold_id: str) -> CreditHold | None:
        """The hold, or None."""
        ...

    def close_hold(self, hold: CreditHold) -> None:
        """Store the closed form of a hold that is still open (else ConcurrencyError)."""
        ...

    def held_total(self, customer_ids: Sequence[str], currency: str, now: dt.datetime) -> Money:
        """Open, unexpired credit holds of the customers in ``currency``."""
        ...

    def held_totals(self, customer_ids: Sequence[str], now: dt.datetime) -> Mapping[str, Money]:
        """Open, unexpired credit holds of the customers per currency (currencies without any left out)."""
        ...

    def has_history(self, customer_id: str) -> bool:
        """True when the customer has receivables or credit holds (so it is voided, not deleted)."""
        ...
