"""Properties: instalments always add up to the invoice; aging buckets always add up to open receivables."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from bigledger_customers.domain.aging import AgingBuckets, aging_report
from bigledger_customers.domain.credit import DocumentKind, ItemKind, OpenItem
from bigledger_customers.domain.terms import PaymentTerms
from bigledger_customers.money import Money

CURRENCIES = st.sampled_from(["USD", "JPY", "BHD", "MYR"])


@st.composite
def shares(draw: st.DrawFn) -> list[Decimal]:
    """Positive percentages with two decimals adding up to exactly 100."""
    count = draw(st.integers(1, 8))
    cuts = sorted(draw(st.lists(st.integers(1, 9999), min_size=count - 1, max_size=count - 1, unique=True)))
    bounds = [0, *cuts, 10000]
    return [Decimal(b - a) / 100 for a, b in itertools.pairwise(bounds)]


@given(shares(), st.integers(0, 10**12), CURRENCIES, st.dates(dt.date(2000, 1, 1), dt.date(2100, 1, 1)))
def test_instalment_amounts_add_up_to_the_invoice(
    parts: list[Decimal], minor: int, currency: str, day: dt.date
) -> None:
    terms = PaymentTerms.in_instalments([(share, 10 * i) for i, share in enumerate(parts)])
    amount = Money.from_minor(minor, currency)
    plan = terms.schedule(day, amount)
    assert sum(p.amount.minor for p in plan) == minor
    assert all(not p.amount.is_negative() for p in plan)
    for part, share in zip(plan, parts, strict=True):  # each within one minor unit of its exact share
        assert abs(Decimal(part.amount.minor) - Decimal(minor) * share / 100) <= 1


@st.composite
def items(draw: st.DrawFn) -> list[OpenItem]:
    found = []
    for n in range(draw(st.integers(0, 30))):
        amount = draw(st.integers(1, 10**9))
        open_ = draw(st.integers(0, amount))
        issued = draw(st.dates(dt.date(2025, 1, 1), dt.date(2026, 6, 30)))
        due = issued + dt.timedelta(days=draw(st.integers(0, 400)))
        kind = draw(st.sampled_from(ItemKind))
        found.append(
            OpenItem(
                id=f"i{n}",
                customer_id=draw(st.sampled_from(["a", "b", "c"])),
                kind=kind,
                document=f"D{n}",
                document_kind=DocumentKind.INVOICE if kind is ItemKind.INVOICE else DocumentKind.PAYMENT,
                issued=issued,
                due=due,
                amount=Money.from_minor(amount, "MYR"),
                open=Money.from_minor(open_, "MYR"),
            )
        )
    return found


@given(
    items(),
    st.dates(dt.date(2025, 1, 1), dt.date(2027, 12, 31)),
    st.lists(st.integers(1, 400), min_size=1, max_size=6, unique=True).map(sorted),
)
def test_aging_buckets_add_up_to_open_receivables(found: list[OpenItem], as_of: dt.date, bounds: list[int]) -> None:
    report = aging_report(found, as_of, AgingBuckets(bounds))
    counted = [i for i in found if i.issued <= as_of]
    owed = sum(i.open.minor for i in counted if i.kind is ItemKind.INVOICE)
    unapplied = sum(i.open.minor for i in counted if i.kind is ItemKind.UNAPPLIED)
    total_minor = sum(row.total.minor for row in report.totals)
    assert total_minor == owed
    assert sum(row.unapplied.minor for row in report.totals) == unapplied
    assert sum(row.total.minor for row in report.rows) == owed
    for row in report.rows:
        assert set(row.buckets) == set(report.bucket_names)
