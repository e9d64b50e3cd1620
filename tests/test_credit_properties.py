"""Properties: instalments always add up to the invoice; aging buckets always add up to open receivables;
the credit decision (and a quote's) equals the reference computation from repository totals."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from bigledger_customers import Actor, Book, connect
from bigledger_customers.domain.aging import AgingBuckets, DunningLevel, aging_report, dunning_status
from bigledger_customers.domain.checkout import Order
from bigledger_customers.domain.credit import (
    CreditDecision,
    CreditFacts,
    CreditHold,
    DocumentKind,
    Exposure,
    ItemKind,
    OpenItem,
    decide,
)
from bigledger_customers.domain.terms import PaymentTerms
from bigledger_customers.money import Money
from bigledger_customers.services._base import load_customer
from bigledger_customers.services.credit import CreditConfig
from bigledger_customers.testing.clock import FrozenClock

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


# -- the credit decision's fast paths against the reference computation -------------------------

NOW = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
ADMIN = Actor(id="prop-admin", roles={"admin", "finance_approver"})
#: Due dates around the dunning levels and the allowed overdue days (0, 1, 2, 20, 40).
DUE_IN_DAYS = st.sampled_from([-46, -21, -20, -2, -1, 0, 1, 30])
STRICT_DUNNING = [DunningLevel("reminder", 1), DunningLevel("stop", 20, stop_supply=True)]


def _reference_decision(book: Book, code: str, amount: Money, config: CreditConfig) -> CreditDecision:
    """The decision as the rules state it: repository totals, the full dunning status, then ``decide``."""
    now = book.services.clock.now()
    as_of = now.date()
    with book.services.uow(write=False) as uow:
        customer = load_customer(uow, code)
        exposure = Exposure.of(
            open_items=uow.credit.open_total([customer.id], "MYR"),
            held=uow.credit.held_total([customer.id], "MYR", now),
            new_order=amount,
        )
        dunning = dunning_status(customer.id, uow.credit.items([customer.id]), as_of, config.dunning)
        facts = CreditFacts(
            customer_status=customer.status.value,
            oldest_overdue_days=dunning.oldest_overdue_days,
            overdue_amount=dunning.overdue.get("MYR"),
            stop_supply=dunning.stop_supply,
            dunning_level=dunning.level.name if dunning.level else None,
        )
        return decide(
            uow.credit.get_profile(customer.id, "MYR"), exposure, facts=facts, as_of=as_of, customer_id=customer.id
        )


@settings(max_examples=60, deadline=None)
@given(
    invoices=st.lists(
        st.tuples(st.integers(1, 50_000_00), st.sampled_from([-46, -21, -20, -2, -1, 0, 1, 30])), max_size=4
    ),
    payments=st.lists(st.integers(1, 30_000_00), max_size=2),
    holds=st.lists(st.tuples(st.integers(1, 9_000_00), st.integers(-2, 2)), max_size=3),
    order=st.integers(1, 80_000_00),
    limit=st.one_of(st.none(), st.integers(0, 100_000_00)),
    tolerance=st.one_of(st.none(), st.integers(0, 5_000_00)),
    policy=st.sampled_from(["block", "warn"]),
    max_overdue_days=st.sampled_from([0, 1, 2, 20, 40]),
    review=st.one_of(st.none(), st.integers(1, 24)),
    status=st.sampled_from(["active", "suspended"]),
    strict=st.booleans(),
)
def test_credit_decision_and_quote_match_the_reference_computation(
    invoices: list[tuple[int, int]],
    payments: list[int],
    holds: list[tuple[int, int]],
    order: int,
    limit: int | None,
    tolerance: int | None,
    policy: str,
    max_overdue_days: int,
    review: int | None,
    status: str,
    strict: bool,
) -> None:
    book = connect("memory://", clock=FrozenClock(NOW))
    today = NOW.date()
    book.customers.create({"code": "CUST-1", "name": {"en": "CUST-1"}, "country": "MY"}, actor=ADMIN)
    config = book.credit.configure(dunning=STRICT_DUNNING, actor=ADMIN) if strict else book.credit.config()
    book.credit.set_profile(
        "CUST-1",
        "MYR",
        limit=None if limit is None else Money.from_minor(limit, "MYR"),
        tolerance=None if tolerance is None else Money.from_minor(tolerance, "MYR"),
        policy=policy,
        max_overdue_days=max_overdue_days,
        last_review=None if review is None else today - dt.timedelta(days=200),
        review_months=review,
        actor=ADMIN,
    )
    book.accounts.set_settlement_method("CUST-1", "credit", actor=ADMIN)
    for n, (units, due_in) in enumerate(invoices):
        book.credit.post_invoice(
            "CUST-1",
            f"INV-{n}",
            Money.from_minor(units, "MYR"),
            issued=today - dt.timedelta(days=90),
            due=today + dt.timedelta(days=due_in),
            actor=ADMIN,
        )
    for n, units in enumerate(payments):
        book.credit.post_payment("CUST-1", f"PAY-{n}", Money.from_minor(units, "MYR"), received=today, actor=ADMIN)
    with book.services.uow() as uow:
        customer = load_customer(uow, "CUST-1")
        for n, (units, expires_in) in enumerate(holds):
            uow.credit.add_hold(
                CreditHold(
                    id=f"h{n}",
                    customer_id=customer.id,
                    amount=Money.from_minor(units, "MYR"),
                    reference=f"SO-{n}",
                    created_at=NOW - dt.timedelta(days=1),
                    expires_at=NOW + dt.timedelta(hours=expires_in) if expires_in else NOW,
                )
            )
        uow.commit()
    if status != "active":
        book.customers.set_status("CUST-1", status, reason="test", actor=ADMIN)
    amount = Money.from_minor(order, "MYR")

    assert book.credit.check("CUST-1", amount) == _reference_decision(book, "CUST-1", amount, config)
    quote = book.checkout.quote(Order(customer="CUST-1", number="SO-Q", amount=amount))
    assert quote.plan.credit == amount  # no prepayment, no rebate: all of it on credit
    assert quote.credit == _reference_decision(book, "CUST-1", amount, config)
    assert quote.reasons == quote.credit.reasons
