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
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Protocol, Self

from bigledger_customers.domain.customer import Customer
from bigledger_customers.domain.records import AuditEntry, Event, Interaction
from bigledger_customers.domain.reference import CustomFieldDefinition, NumberingScheme, ReferenceEntry
from bigledger_customers.domain.search import CustomerQuery, Page

__all__ = [
    "AuditLog",
    "Clock",
    "CustomerRepository",
    "IdGenerator",
    "Interactions",
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
