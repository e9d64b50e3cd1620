"""SQL persistence on SQLAlchemy Core: SQLite (embedded default), PostgreSQL (psycopg 3), MariaDB.

>>> store = open_sql("sqlite://")
>>> with store.unit_of_work(write=False) as uow:
...     uow.customers.count()
0
>>> store.dispose()

:func:`open_sql` takes a URL or an Engine (units of work own their transactions) or a host's open
Connection (units of work join the host's transaction through a SAVEPOINT; the host commits).
"""

from __future__ import annotations

import sqlalchemy as sa

from bigledger_customers.adapters.sql._engine import create_engine, is_prepared, prepare_sqlite_engine
from bigledger_customers.adapters.sql._migrate import check_schema, init_schema
from bigledger_customers.adapters.sql._tables import metadata
from bigledger_customers.adapters.sql._uow import SqlUnitOfWork

__all__ = ["SqlStore", "SqlUnitOfWork", "create_engine", "metadata", "open_sql", "prepare_sqlite_engine"]


class SqlStore:
    """One database: an engine the store owns or was given, or a host connection it joins.

    Two stores on two URLs share nothing (one engine each).
    """

    def __init__(
        self,
        target: str | sa.URL | sa.Engine | sa.Connection,
        *,
        pool_size: int | None = None,
        max_overflow: int | None = None,
    ) -> None:
        self._owns_engine = isinstance(target, str | sa.URL)
        self._connection: sa.Connection | None = None
        if isinstance(target, sa.Connection):
            if target.dialect.name == "sqlite" and not is_prepared(target.engine):
                # Without the recipe pysqlite ignores SAVEPOINTs, so joining could not roll back.
                raise ValueError(
                    "to join a SQLite connection, create its engine with bigledger_customers.adapters.sql."
                    "create_engine() or call prepare_sqlite_engine() on it before connecting"
                )
            self._connection = target
            self.engine = target.engine
        elif isinstance(target, sa.Engine):
            self.engine = prepare_sqlite_engine(target)
        else:
            self.engine = create_engine(target, pool_size=pool_size, max_overflow=max_overflow)

    @property
    def joined(self) -> bool:
        """True when units of work join a host's connection instead of owning their transactions."""
        return self._connection is not None

    def unit_of_work(self, *, write: bool = True) -> SqlUnitOfWork:
        """A new unit of work; ``write=False`` takes a cheaper read transaction (deferred BEGIN on SQLite)."""
        if self._connection is not None:
            return SqlUnitOfWork(connection=self._connection, write=write)
        return SqlUnitOfWork(engine=self.engine, write=write)

    __call__ = unit_of_work  # a SqlStore is a UnitOfWorkFactory

    def init_schema(self) -> None:
        """Bring the schema to the latest migration (``alembic upgrade head``); safe to repeat."""
        if self._connection is not None:
            init_schema(self._connection)
        else:
            with self.engine.connect() as conn:
                init_schema(conn)
                conn.commit()

    def check_schema(self) -> list[object]:
        """Differences between the database and the library's metadata (empty when up to date)."""
        if self._connection is not None:
            return check_schema(self._connection)
        with self.engine.connect() as conn:
            return check_schema(conn)

    def dispose(self) -> None:
        """Close the pooled connections of an engine the store created (a given engine or connection is the host's)."""
        if self._owns_engine:
            self.engine.dispose()


def open_sql(
    target: str | sa.URL | sa.Engine | sa.Connection,
    *,
    create: bool = True,
    pool_size: int | None = None,
    max_overflow: int | None = None,
) -> SqlStore:
    """Open a SQL store on a URL, an Engine or a host's open Connection.

    With ``create`` the schema is brought up to date first (Alembic ``upgrade head``). ``pool_size``
    and ``max_overflow`` size the pool of an engine built from a URL (see ``create_engine``).
    """
    store = SqlStore(target, pool_size=pool_size, max_overflow=max_overflow)
    if create:
        store.init_schema()
    return store
