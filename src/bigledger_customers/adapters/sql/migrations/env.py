"""Alembic environment: runs on the connection passed in ``config.attributes["connection"]``.

Used through :func:`bigledger_customers.adapters.sql.init_schema`; offline (SQL script) mode is
not supported because the migrations are meant to be run by the library itself.
"""

from __future__ import annotations

from alembic import context
from alembic.config import Config

from bigledger_customers.adapters.sql._migrate import VERSION_TABLE, include_object
from bigledger_customers.adapters.sql._tables import metadata


def run_migrations(config: Config) -> None:
    """Run the pending migrations on the connection the library handed to Alembic."""
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run the migrations through bigledger_customers.adapters.sql.init_schema")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        include_object=include_object,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


try:
    _config: Config | None = context.config
except AttributeError:  # imported outside an Alembic run (e.g. by pytest's doctest collection)
    _config = None
if _config is not None:
    run_migrations(_config)
