"""Payment terms: due dates from relativedelta, month ends clamp, instalments add up (DESIGN.md section 4)."""

from __future__ import annotations

import datetime as dt

import pytest

from bigledger_customers.domain.terms import PaymentTerms, TermsKind
from bigledger_customers.errors import ValidationError
from bigledger_customers.money import Money


@pytest.mark.parametrize(
    ("terms", "issued", "due"),
    [
        (PaymentTerms.net(30), dt.date(2016, 1, 22), dt.date(2016, 2, 21)),
        (PaymentTerms.end_of_month_plus(1), dt.date(2016, 1, 22), dt.date(2016, 2, 29)),
        (PaymentTerms.net(30), dt.date(2022, 1, 31), dt.date(2022, 3, 2)),
        (PaymentTerms.end_of_month_plus(1), dt.date(2023, 1, 31), dt.date(2023, 2, 28)),
        (PaymentTerms.end_of_month_plus(0), dt.date(2023, 4, 2), dt.date(2023, 4, 30)),
        (PaymentTerms.days_after_month_end(30), dt.date(2023, 1, 15), dt.date(2023, 3, 2)),
        (PaymentTerms.cash_on_delivery(), dt.date(2023, 1, 15), dt.date(2023, 1, 15)),
        (PaymentTerms.prepaid(), dt.date(2023, 1, 15), dt.date(2023, 1, 15)),
    ],
)
def test_due_dates_follow_the_terms(terms: PaymentTerms, issued: dt.date, due: dt.date) -> None:
    assert terms.due_date(issued) == due


def test_instalments_split_the_amount_and_the_last_takes_the_remainder() -> None:
    terms = PaymentTerms.in_instalments([("30", 15), ("70", 45)])
    plan = terms.schedule(dt.date(2016, 1, 22), Money("100.01", "MYR"))
    assert [(p.line, p.due, p.amount) for p in plan] == [
        (1, dt.date(2016, 2, 6), Money("30.00", "MYR")),
        (2, dt.date(2016, 3, 7), Money("70.01", "MYR")),
    ]
    thirds = PaymentTerms.in_instalments([("33.33", 30), ("33.33", 60), ("33.34", 90)])
    assert [p.amount for p in thirds.schedule(dt.date(2026, 1, 1), Money("100.00", "USD"))] == [
        Money("33.33", "USD"),
        Money("33.33", "USD"),
        Money("33.34", "USD"),
    ]


def test_tiny_amounts_never_give_negative_instalments() -> None:
    terms = PaymentTerms.in_instalments([("25", 1), ("25", 2), ("25", 3), ("25", 4)])
    parts = [p.amount for p in terms.schedule(dt.date(2026, 1, 1), Money("0.02", "USD"))]
    assert parts == [Money("0.01", "USD"), Money("0.00", "USD"), Money("0.01", "USD"), Money("0.00", "USD")]


@pytest.mark.parametrize(
    ("parts", "code"),
    [
        ([("30", 15), ("60", 45)], "instalments_not_100"),
        ([("30", 15), ("80", 45), ("-10", 60)], "invalid_instalments"),
        ([("0", 15), ("100", 45)], "invalid_instalments"),
        ([], "invalid_instalments"),
    ],
)
def test_instalments_must_be_positive_and_add_up_to_100(parts: list[tuple[str, int]], code: str) -> None:
    with pytest.raises(ValidationError) as error:
        PaymentTerms.in_instalments(parts)
    assert error.value.code == code


def test_only_credit_terms_extend_credit() -> None:
    assert not PaymentTerms.prepaid().is_credit
    assert not PaymentTerms.cash_on_delivery().is_credit
    assert PaymentTerms.net(7).is_credit
    assert PaymentTerms.net(7).kind is TermsKind.NET
    assert PaymentTerms.net(7).code == "NET7"
