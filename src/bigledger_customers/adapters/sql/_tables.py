"""The SQL schema as SQLAlchemy Core metadata (DESIGN.md section 2, persistence rules).

The schema is created only through the Alembic migrations in ``migrations/``; a test checks that the
migrated database equals this metadata. Every column filtered or sorted on is a scalar column; the
whole aggregate is kept as a JSON document next to them.
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa

from bigledger_customers.adapters.sql._types import UtcDateTime, json_type, key_string, key_text

__all__ = [
    "FINANCIAL_HISTORY",
    "audit",
    "custom_fields",
    "customer_contacts",
    "customer_match_keys",
    "customer_search_keys",
    "customer_tags",
    "customers",
    "interactions",
    "metadata",
    "numbering",
    "outbox",
    "outbox_lock",
    "reference_entries",
]

ID_LENGTH: Final = 64
CODE_LENGTH: Final = 50
#: name_key is truncated to this many characters (sorting past 500 characters of a name is moot).
NAME_KEY_LENGTH: Final = 500

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# An auto-incrementing 64-bit key; SQLite only auto-increments an INTEGER PRIMARY KEY.
_BIGSERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _id(
    name: str = "id", *args: sa.schema.SchemaItem, primary_key: bool = False, nullable: bool = False
) -> sa.Column[str]:
    return sa.Column(name, key_string(ID_LENGTH), *args, primary_key=primary_key, nullable=nullable)


customers = sa.Table(
    "customers",
    metadata,
    _id(primary_key=True),
    sa.Column("code", sa.String(CODE_LENGTH), nullable=False),
    sa.Column("code_key", key_string(CODE_LENGTH), nullable=False),
    sa.Column("name_key", key_string(NAME_KEY_LENGTH), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("customer_type", sa.String(20), nullable=False),
    sa.Column("category", sa.String(CODE_LENGTH), nullable=True),
    sa.Column("level", sa.String(CODE_LENGTH), nullable=True),
    sa.Column("region", sa.String(CODE_LENGTH), nullable=True),
    sa.Column("sales_rep", sa.String(CODE_LENGTH), nullable=True),
    sa.Column("branch", sa.String(CODE_LENGTH), nullable=True),
    _id("parent_id", nullable=True),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("search_text", key_text(), nullable=False),
    # Bigram tokens for two-character queries (domain.search.search_grams); migration 0003_search.
    sa.Column("search_grams", sa.Text(), nullable=False, server_default=""),
    sa.Column("doc", json_type(), nullable=False),
    sa.CheckConstraint("version >= 1", name="version_positive"),
    sa.Index(None, "code_key", unique=True),
    sa.Index(None, "name_key", "id"),
    sa.Index(None, "created_at", "id"),
    sa.Index(None, "parent_id"),
    sa.Index(None, "status"),
    sa.Index(None, "category"),
    # Filter indexes for search (0003_search); text indexes are engine-specific, see _search.py.
    sa.Index(None, "region"),
    sa.Index(None, "sales_rep"),
    sa.Index(None, "branch"),  # the branch data scope (0006_access)
    sa.Index(None, "status", "name_key", "id"),
)

#: One row per contact, rewritten on every save, so e-mail and phone look-ups can use an index.
customer_contacts = sa.Table(
    "customer_contacts",
    metadata,
    _id("customer_id", sa.ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Column("contact_id", sa.String(ID_LENGTH), nullable=False),
    sa.Column("email", key_string(320), nullable=True),
    sa.Column("phone", key_string(32), nullable=True),
    sa.Column("mobile", key_string(32), nullable=True),
    sa.PrimaryKeyConstraint("customer_id", "position"),
    sa.Index(None, "email"),
    sa.Index(None, "phone"),
    sa.Index(None, "mobile"),
)

#: Search keys (domain.search.search_keys: identifier words, E.164 phones), rewritten on every save;
#: identifier and phone queries are range look-ups here (adapters/sql/_search.py); migration 0007_search.
customer_search_keys = sa.Table(
    "customer_search_keys",
    metadata,
    _id("customer_id", sa.ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    sa.Column("search_key", key_string(200), nullable=False),
    sa.PrimaryKeyConstraint("customer_id", "search_key"),
    sa.Index(None, "search_key", "customer_id"),
)

#: Duplicate-check keys (domain.duplicates.index_keys), rewritten on every save; migration 0004_governance.
customer_match_keys = sa.Table(
    "customer_match_keys",
    metadata,
    sa.Column("match_key", key_string(200), nullable=False),
    _id("customer_id", sa.ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    sa.PrimaryKeyConstraint("match_key", "customer_id"),
    sa.Index(None, "customer_id"),
)

#: One row per tag, rewritten on every save; a search for tags needs every tag present.
customer_tags = sa.Table(
    "customer_tags",
    metadata,
    _id("customer_id", sa.ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    sa.Column("tag", key_string(100), nullable=False),
    sa.PrimaryKeyConstraint("customer_id", "tag"),
    sa.Index(None, "tag", "customer_id"),
)

reference_entries = sa.Table(
    "reference_entries",
    metadata,
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("code_key", key_string(CODE_LENGTH), nullable=False),
    sa.Column("code", sa.String(CODE_LENGTH), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("active", sa.Boolean(create_constraint=False), nullable=False),
    sa.Column("attributes", json_type(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint("kind", "code_key"),
    sa.CheckConstraint("version >= 0", name="version_not_negative"),
)

custom_fields = sa.Table(
    "custom_fields",
    metadata,
    sa.Column("name", sa.String(CODE_LENGTH), primary_key=True),
    sa.Column("doc", json_type(), nullable=False),
)

numbering = sa.Table(
    "numbering",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    # NULL prefix and width: a sequence next_number created but nobody configured.
    sa.Column("prefix", sa.String(40), nullable=True),
    sa.Column("width", sa.Integer(), nullable=True),
    #: The number the next call to next_number hands out.
    sa.Column("next_value", sa.BigInteger(), nullable=False),
    sa.CheckConstraint("width BETWEEN 1 AND 18", name="width_range"),
    sa.CheckConstraint("next_value >= 1", name="next_value_positive"),
)

audit = sa.Table(
    "audit",
    metadata,
    # position keeps insertion order for entries with the same timestamp.
    sa.Column("position", _BIGSERIAL, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(ID_LENGTH), nullable=False, unique=True),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("actor_id", sa.String(100), nullable=False),
    sa.Column("action", sa.String(100), nullable=False),
    sa.Column("entity_type", sa.String(50), nullable=False),
    sa.Column("entity_id", key_string(ID_LENGTH), nullable=False),
    sa.Column("changes", json_type(), nullable=False),
    sa.Index(None, "entity_type", "entity_id", "position"),
    sqlite_autoincrement=True,
)

outbox = sa.Table(
    "outbox",
    metadata,
    # AUTOINCREMENT on SQLite: a position is never reused, even after the newest row is deleted.
    sa.Column("position", _BIGSERIAL, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(ID_LENGTH), nullable=False, unique=True),
    sa.Column("type", sa.String(100), nullable=False),
    sa.Column("aggregate_type", sa.String(50), nullable=False),
    sa.Column("aggregate_id", sa.String(ID_LENGTH), nullable=False),
    sa.Column("occurred_at", UtcDateTime(), nullable=False),
    sa.Column("payload", json_type(), nullable=False),
    sa.Column("schema_version", sa.Integer(), nullable=False),
    sa.CheckConstraint("schema_version >= 1", name="schema_version_positive"),
    sqlite_autoincrement=True,
)

#: One row (id = 1), locked by every transaction that writes to the outbox, so positions become
#: visible in commit order on PostgreSQL and MariaDB (see ``_repositories.SqlOutbox``).
outbox_lock = sa.Table(
    "outbox_lock",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.CheckConstraint("id = 1", name="single_row"),
)

interactions = sa.Table(
    "interactions",
    metadata,
    sa.Column("position", _BIGSERIAL, primary_key=True, autoincrement=True),
    sa.Column("id", key_string(ID_LENGTH), nullable=False, unique=True),
    sa.Column("customer_id", key_string(ID_LENGTH), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("by", sa.String(100), nullable=False),
    sa.Column("summary", sa.Text(), nullable=False),
    sa.Column("contact_id", sa.String(ID_LENGTH), nullable=True),
    sa.Index(None, "customer_id", "at"),
    sqlite_autoincrement=True,
)

#: (table, customer-id column) pairs whose rows count as financial history (DESIGN.md section 3,
#: Delete). Empty until the account, receivable and grant tables exist; later issues add theirs here.
FINANCIAL_HISTORY: Final[list[tuple[sa.Table, str]]] = []
