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
- An *identifier* term (:func:`is_identifier`: 8+ characters with 4+ digits and a letter, such as a
  tax number ``W10-1808-32000001`` or a code ``GEN-0000042``) matches from the start of a word of the
  document (the word begins with it), not anywhere inside one: identifiers are typed from their start,
  and that is what lets every adapter answer them from an equality index
  (:func:`search_keys`) instead of a substring scan.

Adapters may use indexes to find candidates faster (:func:`search_grams` feeds a two-character index
for scripts without spaces, :func:`search_keys` the identifier and phone keys), but the answer is
always the one :func:`matches_text` gives.

Credit limits: ``credit_limit_min`` / ``credit_limit_max`` (inclusive, Money) keep the customers whose
credit profile in that currency has a limit in the range; :attr:`SortKey.CREDIT_LIMIT` sorts by the
limit in ``credit_currency`` (or the range's currency), customers without a limit in it first
(:func:`credit_sort_value`).
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import functools
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any, Final, Generic, TypeVar

import attrs

from bigledger_customers.domain.access import DataScope
from bigledger_customers.domain.validation import normalise_phone
from bigledger_customers.errors import ValidationError
from bigledger_customers.money import Money, validate_currency

__all__ = [
    "MAX_TEXT_LENGTH",
    "CustomerQuery",
    "Page",
    "SortKey",
    "credit_sort_value",
    "fold",
    "gram_token",
    "is_identifier",
    "matches_text",
    "query_terms",
    "search_grams",
    "search_keys",
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
#: An identifier term has at least this many characters, of which this many ASCII digits (and a letter).
IDENTIFIER_MIN_LENGTH: Final = 8
IDENTIFIER_MIN_DIGITS: Final = 4
#: Search keys are cut to this many characters (a query is at most MAX_TEXT_LENGTH long).
SEARCH_KEY_LENGTH: Final = MAX_TEXT_LENGTH
#: The sort value of a customer without a credit limit in the sorted currency (below any limit).
NO_CREDIT_LIMIT: Final = -1


def fold(text: str) -> str:
    """The comparable form of text: NFKC (full-width to half-width), case-folded, accents dropped.

    >>> fold("Müller ＡＢＣ Straße")
    'muller abc strasse'
    """
    if text.isascii():
        # Every ASCII character is unchanged by NFKC, NFKD and NFC and none is combining, and on
        # ASCII casefold() is lower(): the full path below returns exactly this (tested).
        return text.lower()
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    # The combining characters of the Basic Multilingual Plane by one compiled character set (a
    # bitmap: ~15x faster than the table on CJK text), those beyond it by the table, when any is there.
    folded = _combining_bmp().sub("", folded)
    if _BEYOND_BMP.search(folded) is not None:
        folded = folded.translate(_combining_table())
    return unicodedata.normalize("NFC", folded)


def _fold_full(text: str) -> str:
    """:func:`fold` spelled out character by character, without its fast paths (the reference the
    tests hold :func:`fold` to)."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    return unicodedata.normalize("NFC", "".join(ch for ch in folded if not unicodedata.combining(ch)))


#: The code points that can be combining (canonical combining class > 0): Unicode has none below
#: U+0300 nor beyond the Supplementary Multilingual Plane (tests/test_fold_fast.py checks every code
#: point, so a Unicode version that adds one elsewhere fails the tests).
_COMBINING_RANGE: Final = range(0x300, 0x20000)


@functools.cache
def _combining_table() -> dict[int, None]:
    """``str.translate`` table deleting every combining character, built once per process on the
    first non-ASCII text (~10 ms)."""
    return {cp: None for cp in _COMBINING_RANGE if unicodedata.combining(chr(cp))}


_BEYOND_BMP: Final = re.compile("[\U00010000-\U0010ffff]")


@functools.cache
def _combining_bmp() -> re.Pattern[str]:
    """A pattern matching the combining characters of :func:`_combining_table` below U+10000."""
    ranges: list[list[int]] = []
    for cp in sorted(cp for cp in _combining_table() if cp < 0x10000):
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return re.compile("[" + "".join(f"\\u{low:04x}-\\u{high:04x}" for low, high in ranges) + "]+")


class SortKey(enum.StrEnum):
    """Orders a search can be sorted by; ties are broken by id so pages never overlap."""

    NAME = "name"
    CODE = "code"
    CREATED = "created"
    #: The credit limit in the query's credit currency (:attr:`CustomerQuery.sort_currency`).
    CREDIT_LIMIT = "credit_limit"


def _credit_currency(value: str | None) -> str | None:
    return None if value is None else validate_currency(value, field="credit_currency")


@attrs.frozen(kw_only=True)
class CustomerQuery:
    """Text plus filters, a sort and a page size; ``cursor`` continues from a previous page.

    ``phone_region`` is the region a national phone number in ``text`` is read in (e.g. ``"MY"``).
    ``count_limit`` bounds the count returned with the first page: up to it the total is exact,
    beyond it the page says "at least ``count_limit``" (``total_is_estimate``); 0 skips counting.
    ``credit_limit_min`` / ``credit_limit_max`` (inclusive) keep the customers whose credit limit in
    that currency lies in the range (a customer without a limit in it never does); sorting by
    :attr:`SortKey.CREDIT_LIMIT` reads the limit in ``credit_currency``, which defaults to the range's.
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
    credit_limit_min: Money | None = None
    credit_limit_max: Money | None = None
    credit_currency: str | None = attrs.field(default=None, converter=_credit_currency)

    def __attrs_post_init__(self) -> None:
        currencies = {m.currency for m in (self.credit_limit_min, self.credit_limit_max) if m is not None}
        if self.credit_currency is not None:
            currencies.add(self.credit_currency)
        if len(currencies) > 1:
            raise ValidationError(
                "credit limit range and credit currency must be in one currency",
                code="currency_mismatch",
                field="credit_currency",
                value=", ".join(sorted(currencies)),
            )
        if self.sort is SortKey.CREDIT_LIMIT and not currencies:
            raise ValidationError(
                "sorting by credit limit needs credit_currency (or a credit limit range)",
                code="credit_currency_required",
                field="credit_currency",
            )

    @property
    def sort_currency(self) -> str | None:
        """The currency credit limits are filtered and sorted in (None when neither is asked for)."""
        for money in (self.credit_limit_min, self.credit_limit_max):
            if money is not None:
                return money.currency
        return self.credit_currency

    @property
    def credit_range(self) -> tuple[int | None, int | None]:
        """The credit-limit range in minor units of :attr:`sort_currency` (None = open end)."""
        low, high = self.credit_limit_min, self.credit_limit_max
        return (None if low is None else low.minor, None if high is None else high.minor)

    @property
    def filters_credit(self) -> bool:
        """True when a credit-limit range is asked for."""
        return self.credit_limit_min is not None or self.credit_limit_max is not None

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


def decode_credit_cursor(cursor: str) -> tuple[int, str]:
    """A :attr:`SortKey.CREDIT_LIMIT` cursor: (limit in minor units, id); the limit is kept as text."""
    raw, last_id = decode_cursor(cursor)
    if not re.fullmatch(r"-?[0-9]{1,19}", raw):
        raise ValidationError("cursor is not one this library issued", field="cursor", value=cursor)
    return int(raw), last_id


def credit_sort_value(limit: Money | None) -> int:
    """The value :attr:`SortKey.CREDIT_LIMIT` sorts by: minor units, :data:`NO_CREDIT_LIMIT` without one."""
    return NO_CREDIT_LIMIT if limit is None else limit.minor


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
    """True when every term occurs in ``haystack`` (already folded); an identifier term
    (:func:`is_identifier`) must begin a word of it.

    ``terms`` is a tuple from :func:`query_terms`; a plain string is split into terms first.

    >>> matches_text("tax corp w10-1808-32000001", "W10-1808")
    True
    >>> matches_text("tax corp w10-1808-32000001", "10-1808-3200")
    True
    >>> matches_text("tax corp w10-1808-32000001", "10-1808-320000x")
    False
    """
    if terms is None or isinstance(terms, str):
        terms = query_terms(terms)
    for term in terms:
        if term not in haystack:
            return False
        if is_identifier(term) and not any(word.startswith(term) for word in haystack.split()):
            return False
    return True


def is_identifier(term: str) -> bool:
    """True for a folded term that looks like an identifier (tax number, code, reference): at least
    8 characters, 4 ASCII digits and one ASCII letter, not starting with ``+``. Such a term matches
    from the start of a word (see :func:`matches_text`).

    >>> is_identifier("w10-1808-32000001"), is_identifier("201912345k"), is_identifier("trading")
    (True, True, False)
    >>> is_identifier("+60123456789"), is_identifier("123456789")
    (False, False)
    """
    return (
        len(term) >= IDENTIFIER_MIN_LENGTH
        and not term.startswith("+")
        and _ENOUGH_DIGITS.match(term) is not None
        and _ASCII_LOWER.search(term) is not None
    )


#: Matches from the start of a text holding at least IDENTIFIER_MIN_DIGITS ASCII digits (possessive:
#: no backtracking; one pass instead of a count per digit).
_ENOUGH_DIGITS: Final = re.compile(f"(?:[^0-9]*+[0-9]){{{IDENTIFIER_MIN_DIGITS}}}")
_ASCII_LOWER: Final = re.compile("[a-z]")


def search_keys(folded: str) -> frozenset[str]:
    """The keys an equality index holds for a search document (``folded``, from :func:`search_text`):
    every word that is an identifier (:func:`is_identifier`), and every part of a word that starts
    at a ``+`` (E.164 phone numbers), each cut to :data:`SEARCH_KEY_LENGTH` characters.

    A term that is an identifier, or starts with ``+``, occurs in the document exactly when some key
    starts with it, so a range look-up (``key >= term AND key < term + U+10FFFF``) finds every
    candidate; the text rule is then checked as usual.

    >>> sorted(search_keys("gen-0000042 acme +60123456789 w10-1808-32000001"))
    ['+60123456789', 'gen-0000042', 'w10-1808-32000001']
    """
    keys: set[str] = set()
    for word in folded.split():
        if len(word) >= IDENTIFIER_MIN_LENGTH and is_identifier(word):  # most words are shorter: no call
            keys.add(word[:SEARCH_KEY_LENGTH])
        if "+" not in word:
            continue
        start = word.find("+")
        while start != -1:
            keys.add(word[start : start + SEARCH_KEY_LENGTH])
            start = word.find("+", start + 1)
    return frozenset(keys)


def key_term(term: str) -> bool:
    """True when ``term`` is answered from :func:`search_keys` (an identifier, or starts with ``+``)."""
    return term.startswith("+") or is_identifier(term)


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
    if folded.isascii():  # no character of ASCII text passes is_gram_char
        return ""
    tokens: dict[str, None] = {}
    for run in _GRAM_RUNS.findall(folded):
        # gram_token of each pair, with each character's hex spelled once
        hexes = [f"{ord(ch):x}" for ch in run]
        for i in range(len(hexes) - 1):
            tokens[f"{hexes[i]}x{hexes[i + 1]}"] = None
    return " ".join(tokens)


#: Runs of two or more non-ASCII letters or digits (``\w`` is str.isalnum() plus "_", which is ASCII).
_GRAM_RUNS: Final = re.compile(r"[^\W\x00-\x7f]{2,}")


def gram_term(term: str) -> str | None:
    """The bigram token that finds ``term``, when ``term`` is two :func:`is_gram_char` characters."""
    if len(term) == 2 and is_gram_char(term[0]) and is_gram_char(term[1]):
        return gram_token(term)
    return None
