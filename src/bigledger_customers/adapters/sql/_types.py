"""Column types that behave the same on SQLite, PostgreSQL and MariaDB.

- :class:`UtcDateTime`: timezone-aware UTC datetimes in and out. SQLite has no time zones, so it
  stores a fixed-width ISO 8601 string (fixed width keeps text order equal to time order); MariaDB
  stores a naive UTC ``DATETIME(6)``; PostgreSQL a ``timestamptz``.
- :func:`key_string` / :func:`key_text`: strings compared byte by byte (code point order) on every
  database, so ``ORDER BY`` agrees with Python's ``sorted`` and the in-memory adapter.
- :func:`money_columns`: Money is stored as integer minor units plus the currency code (DESIGN.md
  section 2: SQLite's NUMERIC is a float underneath).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.engine import Dialect

from bigledger_customers.money import Money, minor_units

__all__ = ["UtcDateTime", "json_type", "key_string", "key_text", "money_columns", "money_from_minor", "money_to_minor"]

_MYSQL = ("mysql", "mariadb")


class UtcDateTime(sa.types.TypeDecorator[dt.datetime]):
    """A timezone-aware datetime, stored in UTC; naive datetimes are refused."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        """The storage type of each dialect."""
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(32))
        if dialect.name in _MYSQL:
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(postgresql.TIMESTAMP(timezone=True))

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        """Aware datetime -> the dialect's UTC representation."""
        if value is None:
            return None
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            raise ValueError(f"expected a timezone-aware datetime, got {value!r}")
        utc = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return utc.isoformat(timespec="microseconds")
        if dialect.name in _MYSQL:
            return utc.replace(tzinfo=None)
        return utc

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        """The stored value -> an aware UTC datetime."""
        if value is None:
            return None
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)  # type: ignore[no-any-return]
        return value.astimezone(dt.UTC)  # type: ignore[no-any-return]


def key_string(length: int) -> sa.types.TypeEngine[str]:
    """A VARCHAR compared in code point order (PostgreSQL ``C`` collation, MariaDB ``utf8mb4_bin``)."""
    return (
        sa.String(length)
        .with_variant(sa.String(length, collation="C"), "postgresql")
        .with_variant(mysql.VARCHAR(length, charset="utf8mb4", collation="utf8mb4_bin"), *_MYSQL)
    )


def key_text() -> sa.types.TypeEngine[str]:
    """Unbounded text compared in code point order (for LIKE on folded search text)."""
    return (
        sa.Text()
        .with_variant(sa.Text(collation="C"), "postgresql")
        .with_variant(mysql.MEDIUMTEXT(charset="utf8mb4", collation="utf8mb4_bin"), *_MYSQL)
    )


def json_type() -> sa.types.TypeEngine[Any]:
    """JSON kept as text: plain ``json`` on PostgreSQL, not ``jsonb``, so key order survives a round trip

    (a customer's display name is its first name given, which depends on key order).
    """
    return sa.JSON().with_variant(postgresql.JSON(), "postgresql")


def money_columns(prefix: str, *, nullable: bool = False) -> list[sa.Column[Any]]:
    """``<prefix>_minor`` (BIGINT minor units) and ``<prefix>_currency`` (ISO 4217) columns for one amount."""
    return [
        sa.Column(f"{prefix}_minor", sa.BigInteger(), nullable=nullable),
        sa.Column(f"{prefix}_currency", sa.String(3), nullable=nullable),
    ]


def money_to_minor(amount: Money) -> tuple[int, str]:
    """Money -> (minor units, currency); an amount finer than the currency's minor unit is refused."""
    scaled = amount.amount.scaleb(minor_units(amount.currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount!r} has more decimals than {amount.currency} allows")
    return int(scaled), amount.currency


def money_from_minor(minor: int, currency: str) -> Money:
    """(minor units, currency) -> Money."""
    return Money(Decimal(minor).scaleb(-minor_units(currency)), currency)
