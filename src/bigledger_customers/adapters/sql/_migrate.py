"""Running the Alembic migrations shipped inside the package, programmatically.

The schema is created only by migrations (DESIGN.md section 2). The version table is called
``bigledger_alembic_version`` so a host that runs its own Alembic history on the same database
does not collide with ours.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext

from bigledger_customers.adapters.sql._tables import metadata

__all__ = ["VERSION_TABLE", "alembic_config", "check_schema", "include_object", "init_schema"]

VERSION_TABLE: Final = "bigledger_alembic_version"
_SCRIPTS: Final = Path(__file__).parent / "migrations"


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """An Alembic configuration pointing at the packaged migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    config.attributes["connection"] = connection
    return config


def init_schema(connection: sa.Connection, revision: str = "heads") -> None:
    """Upgrade the database behind ``connection`` to ``revision``; the caller commits.

    The default is every head: feature areas (accounts, search, governance) each add their own
    migration branch off the foundation's revision, and a fresh database gets all of them.
    """
    command.upgrade(alembic_config(connection), revision)


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Compare only our own tables: a host's tables in the same database are none of our business."""
    if type_ == "table" and reflected and compare_to is None:
        return name in metadata.tables
    if type_ == "index" and reflected and compare_to is None:
        from bigledger_customers.adapters.sql._search import SEARCH_INDEXES

        return name not in SEARCH_INDEXES  # engine-specific text indexes (migration 0003_search)
    return True


def check_schema(connection: sa.Connection) -> list[Any]:
    """Differences between the live schema and :data:`metadata` (empty when they agree)."""
    context = MigrationContext.configure(
        connection,
        opts={
            "include_object": include_object,
            "compare_type": True,
            "compare_server_default": False,
            "version_table": VERSION_TABLE,
        },
    )
    return list(compare_metadata(context, metadata))
