"""Search queries and pages: the one shape every adapter answers (DESIGN.md section 3, Search).

Text matching rules live here so that every adapter matches alike: :func:`fold` turns text into the
form compared (case-folded, accents removed, full-width forms made half-width).
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import json
import unicodedata
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

import attrs

from bigledger_customers.errors import ValidationError

__all__ = ["CustomerQuery", "Page", "SortKey", "fold"]

T = TypeVar("T")


def fold(text: str) -> str:
    """The comparable form of text: NFKC (full-width to half-width), accents dropped, case-folded.

    >>> fold("Müller ＡＢＣ")
    'muller abc'
    """
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped).casefold()


class SortKey(enum.StrEnum):
    """Orders a search can be sorted by; ties are broken by id so pages never overlap."""

    NAME = "name"
    CODE = "code"
    CREATED = "created"


@attrs.frozen(kw_only=True)
class CustomerQuery:
    """Text plus filters, a sort and a page size; ``cursor`` continues from a previous page."""

    text: str | None = None
    status: str | None = None
    customer_type: str | None = None
    category: str | None = None
    level: str | None = None
    region: str | None = None
    sales_rep: str | None = None
    branch: str | None = None
    tags: frozenset[str] = frozenset()
    created_from: dt.datetime | None = None
    created_to: dt.datetime | None = None
    sort: SortKey = SortKey.CODE
    descending: bool = False
    limit: int = attrs.field(default=50, validator=attrs.validators.in_(range(1, 1001)))
    cursor: str | None = None


@attrs.frozen
class Page(Generic[T]):
    """One page of results; ``next_cursor`` is None on the last page."""

    items: Sequence[T]
    next_cursor: str | None = None


def encode_cursor(values: Sequence[Any]) -> str:
    """An opaque cursor holding the last row's sort key and id."""
    return base64.urlsafe_b64encode(json.dumps(list(values), separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str) -> list[Any]:
    """Read back :func:`encode_cursor`; a damaged cursor is a ValidationError."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError:
        raise ValidationError("cursor is not one this library issued", field="cursor", value=cursor) from None
    if not isinstance(values, list) or len(values) != 2:
        raise ValidationError("cursor is not one this library issued", field="cursor", value=cursor)
    return values


def search_text(customer: Any) -> str:
    """Everything free text matches against, folded: code, names, e-mails, phones, tax numbers."""
    parts = [customer.code, customer.legal_name, *customer.names.values(), *customer.tax_numbers.values()]
    for contact in customer.contacts:
        parts.extend(p for p in (contact.email, contact.phone, contact.mobile) if p)
    return fold(" ".join(parts))


def matches_text(haystack: str, text: str | None) -> bool:
    """True when every word of ``text`` (folded) occurs in ``haystack`` (already folded)."""
    return all(word in haystack for word in fold(text or "").split())


def name_key(customer: Any) -> str:
    """The value sorted on for :attr:`SortKey.NAME`."""
    return fold(customer.name)
