"""The SQL unit of work: one transaction over every repository.

Two modes (DESIGN.md section 2):

- **owned**: the unit of work takes a connection from the store's engine and begins its own
  transaction (``BEGIN IMMEDIATE`` on SQLite for writes); commit commits, leaving without commit
  rolls back, and the connection goes back to the pool.
- **joined**: the store was opened on a host's :class:`sqlalchemy.Connection`; the unit of work
  opens a SAVEPOINT on it. Commit releases the savepoint, rollback (or leaving without commit) rolls
  back to it; the host commits or rolls back the outer transaction, ours included.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Final, Self

import sqlalchemy as sa

from bigledger_customers.adapters.sql._accounts import (
    SqlAccountRecords,
    SqlAccounts,
    SqlApprovals,
    SqlBalances,
    SqlConfig,
    SqlGrants,
    SqlHolds,
    SqlIdempotency,
    SqlLedger,
)
from bigledger_customers.adapters.sql._credit import SqlCredit
from bigledger_customers.adapters.sql._engine import WRITE_OPTION
from bigledger_customers.adapters.sql._governance import SqlGovernance
from bigledger_customers.adapters.sql._repositories import (
    SqlAuditLog,
    SqlCustomerRepository,
    SqlInteractions,
    SqlOutbox,
    SqlReferenceRepository,
)
from bigledger_customers.ports import (
    AuditLog,
    CustomerRepository,
    GovernanceRepository,
    Interactions,
    Outbox,
    ReferenceRepository,
)

__all__ = ["SqlUnitOfWork"]

#: Attempts at beginning a SQLite write transaction while another process holds the lock past the
#: busy timeout (DESIGN.md section 2: a bounded retry).
_LOCKED_ATTEMPTS: Final = 5


def _is_locked(error: sa.exc.OperationalError) -> bool:
    return "database is locked" in str(error.orig)


class SqlUnitOfWork:
    """A unit of work on SQL; use as a context manager and call :meth:`commit` to keep the changes."""

    def __init__(self, *, engine: sa.Engine | None = None, connection: sa.Connection | None = None, write: bool = True):
        if (engine is None) == (connection is None):
            raise ValueError("give exactly one of engine (owned mode) or connection (joined mode)")
        self._engine = engine
        self._host = connection
        self._write = write
        self._conn: sa.Connection | None = None
        self._tx: sa.Transaction | None = None
        self.customers: CustomerRepository = SqlCustomerRepository(self._connection)
        self.reference: ReferenceRepository = SqlReferenceRepository(self._connection)
        self.audit: AuditLog = SqlAuditLog(self._connection)
        self.events: Outbox = SqlOutbox(self._connection)
        self.interactions: Interactions = SqlInteractions(self._connection)
        self.governance: GovernanceRepository = SqlGovernance(self._connection)
        self.accounts = SqlAccounts(self._connection)
        self.balances = SqlBalances(self._connection)
        self.grants = SqlGrants(self._connection)
        self.holds = SqlHolds(self._connection)
        self.account_records = SqlAccountRecords(self._connection)
        self.ledger = SqlLedger(self._connection)
        self.idempotency = SqlIdempotency(self._connection)
        self.approvals = SqlApprovals(self._connection)
        self.config = SqlConfig(self._connection)
        self.credit = SqlCredit(self._connection)

    # -- transaction handling ----------------------------------------------------------------------

    def _begin(self) -> None:
        assert self._conn is not None
        if self._host is not None:
            self._tx = self._conn.begin_nested()
            return
        for attempt in range(_LOCKED_ATTEMPTS):
            try:
                self._tx = self._conn.begin()  # the "begin" event emits BEGIN [IMMEDIATE] here
                return
            except sa.exc.OperationalError as error:
                if self._tx is not None:
                    self._tx.rollback()
                    self._tx = None
                if not _is_locked(error) or attempt == _LOCKED_ATTEMPTS - 1:
                    raise
                time.sleep(0.05 * 2**attempt)

    def _connection(self) -> sa.Connection:
        """The connection, inside a transaction (a new one after a commit or rollback)."""
        if self._conn is None:
            raise RuntimeError("use the unit of work inside a with block")
        if self._tx is None or not self._tx.is_active:
            self._begin()
        return self._conn

    def __enter__(self) -> Self:
        if self._conn is not None:
            raise RuntimeError("a unit of work cannot be entered twice")
        if self._host is not None:
            self._conn = self._host
        else:
            assert self._engine is not None
            self._conn = self._engine.connect()
            if self._write:
                self._conn.execution_options(**{WRITE_OPTION: True})
            elif self._conn.dialect.name == "postgresql":
                # Reads run in autocommit: under READ COMMITTED each statement takes its own snapshot
                # inside a transaction too, so this sees the same data without the BEGIN and ROLLBACK
                # round trips; and psycopg forgets its prepared statements on every ROLLBACK.
                self._conn.execution_options(isolation_level="AUTOCOMMIT")
        try:
            self._begin()
        except BaseException:
            self._close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.rollback()
        finally:
            self._close()

    def _close(self) -> None:
        if self._host is None and self._conn is not None:
            self._conn.close()
        self._conn = None
        self._tx = None

    def commit(self) -> None:
        """Make every change durable (owned) or release the savepoint into the host's transaction (joined)."""
        if self._tx is not None and self._tx.is_active:
            self._tx.commit()
        self._tx = None

    def rollback(self) -> None:
        """Discard every change since the last commit."""
        if self._tx is not None and self._tx.is_active:
            self._tx.rollback()
        self._tx = None

    @property
    def connection(self) -> sa.Connection:
        """The SQLAlchemy connection of this unit of work, for host code that shares the transaction."""
        return self._connection()
