"""The schema comes from the Alembic migrations and equals the library's table metadata."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from bigledger_customers.adapters.sql import metadata, open_sql
from bigledger_customers.adapters.sql._migrate import alembic_config


def test_migrated_schema_equals_the_metadata(sql_url: str) -> None:
    store = open_sql(sql_url)
    try:
        assert store.check_schema() == []
        with store.engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
        assert set(metadata.tables) <= tables
        assert "bigledger_alembic_version" in tables
    finally:
        store.dispose()


def test_init_schema_is_idempotent(sql_url: str) -> None:
    store = open_sql(sql_url)
    try:
        store.init_schema()
        with store.engine.connect() as conn:
            found = conn.execute(sa.text("SELECT version_num FROM bigledger_alembic_version")).scalars().all()
        # one row per head: every feature branch (accounts, search...) is applied side by side
        assert sorted(found) == sorted(ScriptDirectory.from_config(alembic_config()).get_heads())
    finally:
        store.dispose()


def test_check_constraints_refuse_impossible_rows(sql_url: str) -> None:
    store = open_sql(sql_url)
    try:
        with store.engine.connect() as conn:
            try:
                conn.execute(sa.text("INSERT INTO numbering (name, prefix, width, next_value) VALUES ('x', 'X', 4, 0)"))
            except sa.exc.IntegrityError:
                refused = True
            except sa.exc.OperationalError:  # MariaDB reports some CHECK failures this way
                refused = True
            else:
                refused = False
            conn.rollback()
        assert refused
    finally:
        store.dispose()
