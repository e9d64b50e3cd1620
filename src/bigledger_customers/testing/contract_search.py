"""Search contract: a fixed multilingual dataset gives the same matches, order and pages on every adapter.

Expected answers are written out by hand (not computed with the library's own matching), so every
adapter is held to the same explicit text rules (DESIGN.md section 3, Search):

- names match by the prefix of any word and by substring, two-character Chinese included;
- case, accents and full-width forms are ignored;
- a whole phone number is normalised to E.164 first; e-mail matches ignoring case;
- every typed character is literal: quotes, ``%``, ``_``, ``*``, ``-``, parentheses, AND/OR/NEAR;
- an identifier (8+ characters, 4+ digits and a letter: a tax number, a code) matches from the start
  of a word;
- a credit-limit range keeps the customers whose limit in that currency is inside it, and a sort by
  credit limit puts customers without one first.
"""

from __future__ import annotations

from typing import Any

import pytest

from bigledger_customers._book import Book
from bigledger_customers.domain.records import Actor
from bigledger_customers.domain.search import fold
from bigledger_customers.errors import ValidationError
from bigledger_customers.money import Money

__all__ = ["DATASET", "SearchContract", "seed"]

ADMIN = Actor(id="admin", roles=frozenset({"sales_admin"}))

#: (code, data) of the fixed dataset; created in this order, one minute apart.
DATASET: list[tuple[str, dict[str, Any]]] = [
    (
        "SZ-001",
        {
            "name": {"zh": "深圳市前海科技有限公司", "en": "Shenzhen Qianhai Technology"},
            "category": "WHOLESALE",
            "region": "SEL",
        },
    ),
    ("GZ-002", {"name": {"zh": "广州贸易有限公司"}, "category": "RETAIL", "region": "KUL"}),
    ("MU-003", {"name": {"en": "Müller GmbH"}, "country": "DE", "tags": ["vip"]}),
    ("MU-004", {"name": {"en": "MULLER Trading"}, "category": "WHOLESALE", "region": "SEL", "tags": ["vip", "north"]}),
    ("AB-005", {"name": {"en": "ＡＢＣ Manufacturing Sdn Bhd"}, "category": "WHOLESALE", "region": "KUL"}),
    ("AB-006", {"name": {"en": "abc trading"}, "category": "WHOLESALE", "region": "SEL"}),
    ("PC-007", {"name": {"en": "50% Off Store"}}),
    ("UN-008", {"name": {"en": "a_b Holdings"}}),
    ("QU-009", {"name": {"en": 'The "Quoted" (Store)'}}),
    ("OP-010", {"name": {"en": "Salt AND Pepper OR Spice"}}),
    ("NE-011", {"name": {"en": "Near East Foods"}}),
    ("ST-012", {"name": {"en": "Straße Motors", "ms": "Motor Jalan"}, "country": "DE"}),
    (
        "KL-013",
        {
            "name": {"ms": "Syarikat Kuala Lumpur Berhad"},
            "contacts": [{"name": "Ali", "phone": "012-345 6789", "email": "Ali@Example.COM"}],
        },
    ),
    ("TX-014", {"name": {"en": "Tax Corp"}, "tax_numbers": {"sst": "W10-1808-32000001"}}),
    ("SR-015", {"name": {"en": "Star*Mart"}}),
    ("DA-016", {"name": {"en": "Pre-Owned Cars"}}),
    (
        "SG-017",
        {"name": {"en": "Lim Pte Ltd"}, "country": "SG", "contacts": [{"name": "Lim", "mobile": "+65 9123 4567"}]},
    ),
    ("TN-018", {"name": {"zh": "陈氏贸易", "en": "Tan Trading"}, "category": "RETAIL", "region": "SEL"}),
    ("CF-019", {"name": {"en": "Café Olé"}, "category": "RETAIL"}),
    ("IN-020", {"name": {"en": "Idle Trading"}, "category": "WHOLESALE", "region": "SEL"}),
]
ALL_CODES = frozenset(code for code, _ in DATASET)
TRADING = {"MU-004", "AB-006", "TN-018", "IN-020"}

#: (text, phone_region, expected codes): the text rules, adapter by adapter the same.
TEXT_CASES: list[tuple[str, str | None, set[str]]] = [
    ("深圳", None, {"SZ-001"}),
    ("前海科技", None, {"SZ-001"}),
    ("贸易", None, {"GZ-002", "TN-018"}),
    ("有限公司", None, {"SZ-001", "GZ-002"}),
    ("陈", None, {"TN-018"}),
    ("muller", None, {"MU-003", "MU-004"}),
    ("MÜLLER", None, {"MU-003", "MU-004"}),
    ("abc", None, {"AB-005", "AB-006"}),
    ("ＡＢＣ", None, {"AB-005", "AB-006"}),
    ("trad", None, TRADING),
    ("rading", None, TRADING),
    ("Trading tan", None, {"TN-018"}),
    ("cafe ole", None, {"CF-019"}),
    ("CAFÉ", None, {"CF-019"}),
    ("strasse", None, {"ST-012"}),
    ("syarikat lumpur", None, {"KL-013"}),
    ("jalan", None, {"ST-012"}),
    ("50%", None, {"PC-007"}),
    ("%", None, {"PC-007"}),
    ("_", None, {"UN-008"}),
    ("a_b", None, {"UN-008"}),
    ('"quoted"', None, {"QU-009"}),
    ('"', None, {"QU-009"}),
    ("(store)", None, {"QU-009"}),
    ("store)", None, {"QU-009"}),
    ("*", None, {"SR-015"}),
    ("star*", None, {"SR-015"}),
    ("-owned", None, {"DA-016"}),
    ("-", None, set(ALL_CODES)),
    ("pepper OR spice", None, {"OP-010"}),
    ("salt AND", None, {"OP-010"}),
    ("NEAR", None, {"NE-011"}),
    ('NEAR("salt" pepper)', None, set()),
    ("012-345 6789", "MY", {"KL-013"}),
    ("+60 12-345 6789", None, {"KL-013"}),
    ("+60123456789", None, {"KL-013"}),
    ("9123 4567", "SG", {"SG-017"}),
    ("ALI@EXAMPLE.COM", None, {"KL-013"}),
    ("ali@example", None, {"KL-013"}),
    ("w10-1808-32000001", None, {"TX-014"}),
    ("W10-1808", None, {"TX-014"}),
    ("1808-32000001", None, {"TX-014"}),
    ("10-1808-32000001", None, {"TX-014"}),
    ("x10-1808-32000001", None, set()),
    ("0-1808-32000001x", None, set()),
    ("+6012345", None, {"KL-013"}),
    ("+60123456789 ali", None, {"KL-013"}),
    ("sz-0", None, {"SZ-001"}),
    ("nothing-like-this", None, set()),
    ("   ", None, set(ALL_CODES)),
]


def seed(book: Book) -> None:
    """Reference data and the :data:`DATASET` customers, created a minute apart when the clock can move."""
    for kind, code in [("category", "WHOLESALE"), ("category", "RETAIL"), ("region", "SEL"), ("region", "KUL")]:
        book.reference.add(kind, code, actor=ADMIN)
    advance = getattr(book.services.clock, "advance", None)
    for code, data in DATASET:
        book.customers.create({"code": code, "country": "MY", **data}, actor=ADMIN)
        if advance is not None:
            advance(minutes=1)


def _codes(book: Book, text: str | None = None, **filters: Any) -> set[str]:
    page = book.customers.search(text, limit=1000, **filters)
    assert page.next_cursor is None
    return {c.code for c in page.items}


def _id_of(book: Book) -> Any:
    return lambda code: book.customers.get(code).id


def _all_pages(book: Book, text: str | None = None, **options: Any) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        page = book.customers.search(text, cursor=cursor, **options)
        pages.append([c.code for c in page.items])
        cursor = page.next_cursor
        if cursor is None:
            return pages
        assert len(pages) < 100, "paging does not end"


class SearchContract:
    """Search answers every adapter must give alike."""

    @pytest.fixture
    def seeded(self, book: Book) -> Book:
        seed(book)
        return book

    def test_text_rules_give_the_written_answers(self, seeded: Book) -> None:
        wrong = {}
        for text, region, expected in TEXT_CASES:
            found = _codes(seeded, text, phone_region=region)
            if found != expected:
                wrong[text] = (sorted(found), sorted(expected))
        assert wrong == {}

    def test_filters_combine_with_text(self, seeded: Book) -> None:
        assert _codes(seeded, "trading", category="WHOLESALE", region="SEL") == {"MU-004", "AB-006", "IN-020"}
        assert _codes(seeded, None, category="RETAIL") == {"GZ-002", "TN-018", "CF-019"}
        assert _codes(seeded, "trading", tags=["vip"]) == {"MU-004"}
        assert _codes(seeded, None, tags=["VIP", "north"]) == {"MU-004"}
        seeded.customers.set_status("IN-020", "inactive", actor=ADMIN)
        assert _codes(seeded, "trading", status="inactive") == {"IN-020"}
        assert _codes(seeded, "trading", status="active") == TRADING - {"IN-020"}

    def test_created_range_is_inclusive_exclusive(self, seeded: Book) -> None:
        created = {c.code: c.created_at for c in seeded.customers.search(limit=1000).items}
        start, end = created["MU-003"], created["PC-007"]
        expected = {code for code, at in created.items() if start <= at < end}
        assert _codes(seeded, None, created_from=start, created_to=end) == expected
        assert "MU-003" in expected

    @pytest.mark.parametrize("sort", ["name", "code", "created"])
    @pytest.mark.parametrize("descending", [False, True])
    def test_pages_cover_every_match_once_in_order(self, seeded: Book, sort: str, descending: bool) -> None:
        everything = seeded.customers.search(sort=sort, descending=descending, limit=1000).items
        keys = {
            "name": lambda c: (fold(c.name), c.id),
            "code": lambda c: (c.code.casefold(), c.id),
            "created": lambda c: (c.created_at, c.id),
        }[sort]
        expected = [c.code for c in sorted(everything, key=keys, reverse=descending)]
        assert [c.code for c in everything] == expected
        pages = _all_pages(seeded, sort=sort, descending=descending, limit=3)
        assert [code for page in pages for code in page] == expected
        assert [len(p) for p in pages] == [3] * 6 + [2]

    def test_name_order_is_folded(self, seeded: Book) -> None:
        codes = [c.code for c in seeded.customers.search("trading", sort="name", limit=10).items]
        assert codes == ["AB-006", "IN-020", "MU-004", "TN-018"]
        codes = [c.code for c in seeded.customers.search("muller", sort="name", descending=True).items]
        assert codes == ["MU-004", "MU-003"]

    def test_text_pages_follow_the_cursor(self, seeded: Book) -> None:
        pages = _all_pages(seeded, "trad", sort="name", limit=1)
        assert pages == [["AB-006"], ["IN-020"], ["MU-004"], ["TN-018"]]
        pages = _all_pages(seeded, "贸易", sort="code", descending=True, limit=1)
        assert pages == [["TN-018"], ["GZ-002"]]

    def test_first_page_carries_an_exact_or_flagged_total(self, seeded: Book) -> None:
        first = seeded.customers.search("trad", limit=2)
        assert (first.total, first.total_is_estimate) == (4, False)
        second = seeded.customers.search("trad", limit=2, cursor=first.next_cursor)
        assert second.total is None
        capped = seeded.customers.search(None, limit=2, count_limit=5)
        assert (capped.total, capped.total_is_estimate) == (5, True)
        assert seeded.customers.search("nothing-like-this").total == 0
        assert seeded.customers.search(None, count_limit=0).total is None

    def test_a_damaged_cursor_is_refused(self, seeded: Book) -> None:
        for cursor in ["not-a-cursor", "W10=", "WyJhIl0="]:
            with pytest.raises(ValidationError):
                seeded.customers.search(cursor=cursor)

    def test_too_long_text_is_refused(self, book: Book) -> None:
        with pytest.raises(ValidationError) as caught:
            book.customers.search("x" * 201)
        assert caught.value.code == "text_too_long"

    def test_credit_limit_range_and_sort(self, seeded: Book) -> None:
        credit_admin = Actor(id="admin", roles=frozenset({"admin"}))
        limits = {"MU-003": "5000", "MU-004": "12000.50", "AB-005": "0", "AB-006": "12000.50", "CF-019": "900"}
        for code, limit in limits.items():
            seeded.credit.set_profile(code, "MYR", limit=Money(limit, "MYR"), actor=credit_admin)
        seeded.credit.set_profile("TN-018", "MYR", limit=None, actor=credit_admin)  # a profile without credit
        seeded.credit.set_profile("IN-020", "USD", limit=Money("99999", "USD"), actor=credit_admin)
        low, high = Money("900", "MYR"), Money("12000.50", "MYR")
        assert _codes(seeded, None, credit_limit_min=low, credit_limit_max=high) == {
            "MU-003", "MU-004", "AB-006", "CF-019"
        }  # fmt: skip
        assert _codes(seeded, None, credit_limit_min=Money("0", "MYR"), credit_limit_max=Money("899.99", "MYR")) == {
            "AB-005"
        }
        assert _codes(seeded, "trading", credit_limit_min=Money("1", "MYR")) == {"MU-004", "AB-006"}
        assert _codes(seeded, None, credit_limit_max=Money("1000", "USD")) == set()
        by_limit = [
            c.code for c in seeded.customers.search(sort="credit_limit", credit_currency="MYR", limit=1000).items
        ]
        without = sorted(ALL_CODES - set(limits))  # no limit in MYR: first, in id order among themselves
        assert by_limit[len(without) :] == [
            "AB-005",
            "CF-019",
            "MU-003",
            *sorted(["MU-004", "AB-006"], key=_id_of(seeded)),
        ]
        assert sorted(by_limit[: len(without)]) == without
        for descending in (False, True):
            pages = _all_pages(seeded, sort="credit_limit", credit_currency="MYR", descending=descending, limit=4)
            flat = [code for page in pages for code in page]
            assert flat == (by_limit[::-1] if descending else by_limit)
        ranged = _all_pages(seeded, sort="credit_limit", credit_limit_min=low, limit=1, descending=True)
        assert [code for page in ranged for code in page][-2:] == ["MU-003", "CF-019"]
        with pytest.raises(ValidationError) as caught:
            seeded.customers.search(sort="credit_limit")
        assert caught.value.code == "credit_currency_required"
        with pytest.raises(ValidationError) as caught:
            seeded.customers.search(credit_limit_min=low, credit_currency="USD")
        assert caught.value.code == "currency_mismatch"

    def test_search_sees_updates_and_deletes(self, seeded: Book) -> None:
        seeded.customers.update("GZ-002", {"name": {"zh": "广州电子有限公司"}}, actor=ADMIN)
        assert _codes(seeded, "贸易") == {"TN-018"}
        seeded.customers.update("TX-014", {"tax_numbers": {"sst": "W10-1808-32000002"}}, actor=ADMIN)
        assert _codes(seeded, "W10-1808-32000001") == set()
        assert _codes(seeded, "W10-1808-32000002") == {"TX-014"}
        assert _codes(seeded, "电子") == {"GZ-002"}
        assert _codes(seeded, "州电子") == {"GZ-002"}
        assert seeded.customers.delete("SZ-001", actor=ADMIN) == "deleted"
        assert _codes(seeded, "深圳") == set()
        assert _codes(seeded, "有限公司") == {"GZ-002"}
