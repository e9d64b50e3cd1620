"""The composition root: :func:`connect` builds a :class:`Book` from a URL (DESIGN.md section 1)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from bigledger_customers.errors import ValidationError
from bigledger_customers.ports import Clock, IdGenerator, SystemClock, UnitOfWork, new_id
from bigledger_customers.services._base import Services, Settings
from bigledger_customers.services.access import AccessService
from bigledger_customers.services.accounts import AccountService
from bigledger_customers.services.approvals import ApprovalService
from bigledger_customers.services.checkout import CheckoutService
from bigledger_customers.services.credit import CreditService
from bigledger_customers.services.customers import CustomerService
from bigledger_customers.services.duplicates import DuplicateService
from bigledger_customers.services.events import EventService
from bigledger_customers.services.hierarchy import HierarchyService
from bigledger_customers.services.integrations import IntegrationService
from bigledger_customers.services.merge import AccountsMergeHook, CreditMergeHook
from bigledger_customers.services.privacy import AccountsPrivacyHook, PrivacyService
from bigledger_customers.services.reference import ReferenceService

if TYPE_CHECKING:
    import sqlalchemy

__all__ = ["Book", "connect"]


class _Store(Protocol):
    def unit_of_work(self, *, write: bool = True) -> UnitOfWork: ...


class Book:
    """Every service of one customer book, sharing one store. Build it with :func:`connect`.

    Attributes are the services: :attr:`customers`, :attr:`reference`, :attr:`events`.
    """

    def __init__(
        self,
        store: _Store,
        *,
        clock: Clock | None = None,
        ids: IdGenerator | None = None,
        settings: Settings | None = None,
        close: Any = None,
    ) -> None:
        self.store = store
        self.services = Services(
            uow=store.unit_of_work, clock=clock or SystemClock(), new_id=ids or new_id, settings=settings or Settings()
        )
        self.customers = CustomerService(self.services)
        self.access = AccessService(self.services)
        self.integrations = IntegrationService(self.services)
        self.reference = ReferenceService(self.services)
        self.events = EventService(self.services)
        self.approvals = ApprovalService(self.services)
        self.accounts = AccountService(self.services, approvals=self.approvals)
        self.credit = CreditService(self.services)
        self.checkout = CheckoutService(self.services, self.accounts, self.credit)
        self.duplicates = DuplicateService(self.services)
        self.duplicates.merge_hooks.append(AccountsMergeHook(self.services))
        self.duplicates.merge_hooks.append(CreditMergeHook())
        self.privacy = PrivacyService(self.services)
        self.privacy.hooks.append(AccountsPrivacyHook())
        self.hierarchy = HierarchyService(self.services)
        self._close = close

    def unit_of_work(self, *, write: bool = True) -> UnitOfWork:
        """A unit of work on this book's store, for hosts composing their own commands."""
        return self.store.unit_of_work(write=write)

    def close(self) -> None:
        """Release connections (a no-op in memory)."""
        if self._close is not None:
            self._close()

    def __enter__(self) -> Book:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(
    target: str | sqlalchemy.Engine | sqlalchemy.Connection = "memory://",
    *,
    clock: Clock | None = None,
    ids: IdGenerator | None = None,
    settings: Settings | None = None,
    create: bool = True,
    pool_size: int | None = None,
    max_overflow: int | None = None,
) -> Book:
    """Build a book on ``target``: ``"memory://"``, ``"sqlite:///path.db"``, ``"postgresql+psycopg://..."``,
    a SQLAlchemy Engine, or a host's open Connection (our units of work then join its transaction).

    With ``create`` (the default) an SQL database is brought to the latest schema first.
    ``pool_size`` and ``max_overflow`` size the connection pool built from a URL (PostgreSQL and
    MariaDB; defaults 10 and 20): give at least one connection per thread that uses the book at once.

    >>> book = connect("memory://")
    >>> book.customers.search().items
    []
    """
    if isinstance(target, str) and target.startswith("memory:"):
        from bigledger_customers.adapters.memory import MemoryStore

        return Book(MemoryStore(), clock=clock, ids=ids, settings=settings)
    if isinstance(target, str) and "://" not in target:
        raise ValidationError(
            "expected a URL such as memory://, sqlite:///customers.db or postgresql+psycopg://host/db",
            code="invalid_url",
            field="url",
            value=target,
        )
    from bigledger_customers.adapters.sql import open_sql

    sql = open_sql(target, create=create, pool_size=pool_size, max_overflow=max_overflow)
    return Book(sql, clock=clock, ids=ids, settings=settings, close=sql.dispose)
