"""Fixtures for the real database servers the SQL tests use (load from conftest via ``pytest_plugins``).

Each fixture creates a fresh database for the test session and drops it at the end. When a server
is unreachable the tests that need it are skipped, except with ``CI=true``, where a missing server
is a failure (it must never skip silently in CI).
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_HOST = os.environ.get("BLC_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("BLC_PG_PORT", "5432"))
PG_USER = os.environ.get("BLC_PG_USER", "postgres")
MARIADB_HOST = os.environ.get("BLC_MARIADB_HOST", "127.0.0.1")
MARIADB_PORT = int(os.environ.get("BLC_MARIADB_PORT", "3306"))
MARIADB_USER = os.environ.get("BLC_MARIADB_USER", "root")


def _unavailable(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    """URL of a fresh PostgreSQL database (``postgresql+psycopg://``), dropped after the session."""
    try:
        import psycopg
    except ImportError as error:  # pragma: no cover - psycopg is a test dependency
        _unavailable(f"psycopg is not installed: {error}")
        raise
    admin = f"host={PG_HOST} port={PG_PORT} user={PG_USER} dbname=postgres connect_timeout=5"
    name = f"blc_test_{secrets.token_hex(6)}"
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        _unavailable(f"PostgreSQL not reachable at {PG_HOST}:{PG_PORT}: {error}")
    yield f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def mariadb_url() -> Iterator[str]:
    """URL of a fresh MariaDB database (``mysql+pymysql://``), dropped after the session."""
    try:
        import pymysql
    except ImportError as error:  # pragma: no cover - PyMySQL is a test dependency
        _unavailable(f"PyMySQL is not installed: {error}")
        raise
    name = f"blc_test_{secrets.token_hex(6)}"

    def admin() -> pymysql.Connection:  # type: ignore[type-arg]
        return pymysql.connect(
            host=MARIADB_HOST, port=MARIADB_PORT, user=MARIADB_USER, password="", connect_timeout=5, autocommit=True
        )

    try:
        conn = admin()
    except pymysql.MySQLError as error:
        _unavailable(f"MariaDB not reachable at {MARIADB_HOST}:{MARIADB_PORT}: {error}")
        raise
    with conn, conn.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    yield f"mysql+pymysql://{MARIADB_USER}@{MARIADB_HOST}:{MARIADB_PORT}/{name}?charset=utf8mb4"
    conn = admin()
    with conn, conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")


#: URLs whose schema this session already brought to the latest migration.
_MIGRATED: set[str] = set()


def reset_database(url: str) -> None:
    """Empty every table of the library's schema (creating it first if needed), restarting counters.

    Server databases are created once per session; contract tests start each test from this state.
    Migrations run once per database and session; later calls only empty the tables.
    """
    import sqlalchemy as sa

    from bigledger_customers.adapters.sql import metadata, open_sql

    store = open_sql(url, create=url not in _MIGRATED)
    _MIGRATED.add(url)
    tables = [t for t in reversed(metadata.sorted_tables) if t.name != "outbox_lock"]
    try:
        with store.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"TRUNCATE {', '.join(t.name for t in tables)} RESTART IDENTITY CASCADE")
            elif conn.dialect.name in ("mysql", "mariadb"):
                conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 0")
                for table in tables:
                    conn.exec_driver_sql(f"TRUNCATE TABLE `{table.name}`")
                conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 1")
            else:
                for table in tables:
                    conn.execute(sa.delete(table))
                conn.exec_driver_sql("DELETE FROM sqlite_sequence")
    finally:
        store.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to the latest schema once per session; tests copy it (much faster)."""
    from bigledger_customers.adapters.sql import open_sql

    path = tmp_path_factory.mktemp("template") / "template.db"
    open_sql(f"sqlite:///{path}").dispose()  # the last connection to close checkpoints the WAL
    return path


def fresh_sqlite(template: Path, directory: Path) -> str:
    """URL of a new SQLite database in ``directory`` holding the empty, migrated schema."""
    target = directory / "book.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.postgresql),
        pytest.param("mariadb", marks=pytest.mark.mariadb),
    ]
)
def sql_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A URL of an empty, migrated database on each SQL backend in turn (SQLite: a new file per test)."""
    if request.param == "sqlite":
        return fresh_sqlite(request.getfixturevalue("sqlite_template"), tmp_path_factory.mktemp("sql"))
    url: str = request.getfixturevalue(f"{request.param}_url")
    reset_database(url)
    return url
