"""Search queries and pages: the one shape every adapter answers (DESIGN.md section 3, Search).

The text rules live here so that every adapter matches alike:

- :func:`fold` turns text into the form compared: NFKC (full-width to half-width), case-folded,
  accents removed. The stored search document (:func:`search_text`) and the query are both folded.
- :func:`query_terms` splits the query into terms; a customer matches when *every* term is a
  substring of its search document (so a name matches by the prefix of any word and by any
  substring, including two-character Chinese queries). Every character is literal: quotes, ``%``,
  ``_``, ``*``, ``-``, parentheses and words such as AND/OR/NEAR carry no meaning.
- A query that is a whole phone number is normalised to E.164 first (``phone_region`` reads
  national numbers), so ``012-345 6789`` finds ``+60123456789``.

Adapters may use indexes to find candidates faster (:func:`search_grams` feeds a two-character index
for scripts without spaces), but the answer is always the one :func:`matches_text` gives.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any, Final, Generic, TypeVar

import attrs

from bigledger_customers.domain.access import DataScope
from bigledger_customers.domain.validation import normalise_phone
from bigledger_customers.errors import ValidationError

__all__ = [
    "MAX_TEXT_LENGTH",
    "CustomerQuery",
    "Page",
    "SortKey",
    "fold",
    "gram_token",
    "matches_text",
    "query_terms",
    "search_grams",
    "search_text",
]

T = TypeVar("T")

#: Longest free-text query accepted (a search box, not a document).
MAX_TEXT_LENGTH: Final = 200
#: Sort keys for names are cut to this many characters (stored in an indexed column).
NAME_KEY_LENGTH: Final = 500
#: Default bound of the count returned with the first page (see :attr:`CustomerQuery.count_limit`).
DEFAULT_COUNT_LIMIT: Final = 200

_PHONE_CHARS: Final = re.compile(r"\+?[0-9 \-().]+")
_MIN_PHONE_DIGITS: Final = 7


def fold(text: str) -> str:
    """The comparable form of text: NFKC (full-width to half-width), case-folded, accents dropped.

    >>> fold("Müller ＡＢＣ Straße")
    'muller abc strasse'
    """
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    return unicodedata.normalize("NFC", "".join(ch for ch in folded if not unicodedata.combining(ch)))


class SortKey(enum.StrEnum):
    """Orders a search can be sorted by; ties are broken by id so pages never overlap."""

    NAME = "name"
    CODE = "code"
    CREATED = "created"


@attrs.frozen(kw_only=True)
class CustomerQuery:
    """Text plus filters, a sort and a page size; ``cursor`` continues from a previous page.

    ``phone_region`` is the region a national phone number in ``text`` is read in (e.g. ``"MY"``).
    ``count_limit`` bounds the count returned with the first page: up to it the total is exact,
    beyond it the page says "at least ``count_limit``" (``total_is_estimate``); 0 skips counting.
    """

    text: str | None = attrs.field(default=None)
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
    phone_region: str | None = None
    count_limit: int = attrs.field(default=DEFAULT_COUNT_LIMIT, validator=attrs.validators.ge(0))
    #: The acting user's data scope (issue 8): only customers it covers match; None = every customer.
    scope: DataScope | None = None

    @text.validator
    def _check_text(self, _: Any, value: str | None) -> None:
        if value is not None and len(value) > MAX_TEXT_LENGTH:
            raise ValidationError(
                f"search text may be at most {MAX_TEXT_LENGTH} characters", code="text_too_long", field="text"
            )

    @property
    def terms(self) -> tuple[str, ...]:
        """The folded terms every match must contain (see :func:`query_terms`)."""
        return query_terms(self.text, phone_region=self.phone_region)

    @property
    def counts(self) -> bool:
        """True when this page carries a total: the first page, with counting on."""
        return self.cursor is None and self.count_limit > 0


@attrs.frozen
class Page(Generic[T]):
    """One page of results; ``next_cursor`` is None on the last page.

    ``total`` (first page only, else None) is the number of matches; when ``total_is_estimate`` is
    true there are at least that many (the count stopped at the query's ``count_limit``).
    """

    items: Sequence[T]
    next_cursor: str | None = None
    total: int | None = None
    total_is_estimate: bool = False


def page_total(query: CustomerQuery, counted: int | None) -> tuple[int | None, bool]:
    """``(total, total_is_estimate)`` from a count that stopped at ``count_limit + 1``."""
    if counted is None or not query.counts:
        return None, False
    if counted > query.count_limit:
        return query.count_limit, True
    return counted, False


def encode_cursor(values: Sequence[Any]) -> str:
    """An opaque cursor holding the last row's sort key and id."""
    return base64.urlsafe_b64encode(json.dumps(list(values), separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str) -> list[Any]:
    """Read back :func:`encode_cursor`; a damaged cursor is a ValidationError."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError):
        raise ValidationError("cursor is not one this library issued", field="cursor", value=cursor) from None
    if not isinstance(values, list) or len(values) != 2 or not all(isinstance(v, str) for v in values):
        raise ValidationError("cursor is not one this library issued", field="cursor", value=cursor)
    return values


def _phone_term(text: str, region: str | None) -> str | None:
    candidate = unicodedata.normalize("NFKC", text).strip()
    if not _PHONE_CHARS.fullmatch(candidate) or sum(ch.isdigit() for ch in candidate) < _MIN_PHONE_DIGITS:
        return None
    try:
        return normalise_phone(candidate, region=None if candidate.startswith("+") else region)
    except ValidationError:
        return None


def query_terms(text: str | None, *, phone_region: str | None = None) -> tuple[str, ...]:
    """The folded terms of a query: its words, or the E.164 form when the whole text is a phone number.

    >>> query_terms('Müller "AND" 50%')
    ('muller', '"and"', '50%')
    >>> query_terms("012-345 6789", phone_region="MY")
    ('+60123456789',)
    """
    if text is None or not text.strip():
        return ()
    phone = _phone_term(text, phone_region)
    if phone is not None:
        return (phone,)
    return tuple(dict.fromkeys(fold(text).split()))


def search_text(customer: Any) -> str:
    """Everything free text matches against, folded: code, names, tax numbers, e-mails, phones."""
    parts = [customer.code, customer.legal_name, *customer.names.values(), *customer.tax_numbers.values()]
    for contact in customer.contacts:
        parts.extend(p for p in (contact.email, contact.phone, contact.mobile) if p)
    return fold(" ".join(dict.fromkeys(p for p in parts if p)))


def matches_text(haystack: str, terms: Iterable[str] | str | None) -> bool:
    """True when every term occurs in ``haystack`` (already folded).

    ``terms`` is a tuple from :func:`query_terms`; a plain string is split into terms first.
    """
    if terms is None or isinstance(terms, str):
        terms = query_terms(terms)
    return all(term in haystack for term in terms)


def name_key(customer: Any) -> str:
    """The value sorted on for :attr:`SortKey.NAME`."""
    return fold(customer.name)[:NAME_KEY_LENGTH]


def is_gram_char(ch: str) -> bool:
    """Characters of scripts written without spaces (Chinese, Japanese, Thai...) or otherwise non-ASCII
    letters and digits: two-character queries over them are answered from the bigram index."""
    return ch.isalnum() and not ch.isascii()


def gram_token(pair: str) -> str:
    """The index token of a two-character string, spelled in ASCII letters and digits so every
    tokenizer keeps it whole (``"深圳"`` -> ``"6df1x5733"``)."""
    return "x".join(f"{ord(ch):x}" for ch in pair)


def search_grams(folded: str) -> str:
    """The distinct bigram tokens of ``folded`` whose characters both pass :func:`is_gram_char`,
    space separated (the input of the two-character index).

    >>> search_grams("深圳市 abc 深圳")
    '6df1x5733 5733x5e02'
    """
    tokens: dict[str, None] = {}
    for run in _GRAM_RUNS.findall(folded):
        for i in range(len(run) - 1):
            tokens[gram_token(run[i : i + 2])] = None
    return " ".join(tokens)


#: Runs of two or more non-ASCII letters or digits (``\w`` is str.isalnum() plus "_", which is ASCII).
_GRAM_RUNS: Final = re.compile(r"[^\W\x00-\x7f]{2,}")


def gram_term(term: str) -> str | None:
    """The bigram token that finds ``term``, when ``term`` is two :func:`is_gram_char` characters."""
    if len(term) == 2 and is_gram_char(term[0]) and is_gram_char(term[1]):
        return gram_token(term)
    return None
