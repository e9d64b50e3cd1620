"""Engines configured the way the library needs them (DESIGN.md section 2).

SQLite: WAL, a 30 s busy timeout, foreign keys on, and transactions begun by us (SQLAlchemy's
documented recipe for pysqlite: the driver's own transaction handling is switched off with
``isolation_level = None`` and a ``begin`` event emits ``BEGIN IMMEDIATE`` for write units of work,
plain ``BEGIN`` otherwise). Without the recipe, SAVEPOINT and transactional DDL do not work.

PostgreSQL and MariaDB: READ COMMITTED (the conditional updates make it enough), a modest pool.
"""

from __future__ import annotations

from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.pool import StaticPool

__all__ = ["BUSY_TIMEOUT_MS", "WRITE_OPTION", "create_engine", "is_prepared", "prepare_sqlite_engine"]

BUSY_TIMEOUT_MS: Final = 30_000
#: Execution option set on a connection before ``begin()`` to ask for ``BEGIN IMMEDIATE`` on SQLite.
WRITE_OPTION: Final = "bigledger_write"
_MARK: Final = "_bigledger_sqlite_prepared"


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see _on_begin)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")  # ignored (stays "memory") for in-memory databases
    finally:
        cursor.close()


def _on_begin(connection: sa.Connection) -> None:
    write = connection.get_execution_options().get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def is_prepared(engine: sa.Engine) -> bool:
    """True when :func:`prepare_sqlite_engine` was applied to ``engine``."""
    return bool(getattr(engine, _MARK, False))


def prepare_sqlite_engine(engine: sa.Engine) -> sa.Engine:
    """Install the pysqlite transaction recipe on ``engine`` (once); other dialects are left alone.

    Call it on a host engine before its first connection when the host wants to join its own
    transactions with ours on SQLite (savepoints need it).
    """
    if engine.dialect.name != "sqlite" or getattr(engine, _MARK, False):
        return engine
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    setattr(engine, _MARK, True)
    return engine


def create_engine(url: str | sa.URL, *, pool_size: int | None = None, max_overflow: int | None = None) -> sa.Engine:
    """A new engine for ``url`` with the library's settings for its dialect.

    ``pool_size`` and ``max_overflow`` (PostgreSQL, MariaDB) size the connection pool: one
    connection per concurrent unit of work (defaults 10 and 20).
    """
    pool = {
        "pool_size": 10 if pool_size is None else pool_size,
        "max_overflow": 20 if max_overflow is None else max_overflow,
    }
    parsed = sa.make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            # One shared connection: each new connection to :memory: would be a new, empty database.
            engine = sa.create_engine(parsed, poolclass=StaticPool, connect_args={"check_same_thread": False})
        else:
            engine = sa.create_engine(parsed)
        return prepare_sqlite_engine(engine)
    if backend == "postgresql":
        return sa.create_engine(parsed, isolation_level="READ COMMITTED", pool_pre_ping=True, **pool)
    if backend in ("mysql", "mariadb"):
        return sa.create_engine(
            parsed,
            isolation_level="READ COMMITTED",
            pool_pre_ping=True,
            **pool,
            pool_recycle=3600,
        )
    return sa.create_engine(parsed)
