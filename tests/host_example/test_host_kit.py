"""How a host tests its own code with the kit: the plugin's fixtures, the factories and st.from_type.

Nothing here imports from tests/ or from a private module: only ``bigledger_customers`` (the public
API), ``bigledger_customers.testing`` and its documented submodules, and the fixtures the pytest
plugin registers through its entry point (``frozen_clock``, ``customer_book``, ``sqlite_customer_book``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bigledger_customers import (
    Book,
    Customer,
    CustomerStatus,
    Money,
    Order,
    ReservationState,
    connect,
    normalise_code,
)
from bigledger_customers.testing import FrozenClock
from bigledger_customers.testing.factories import (
    FACTORY_ACTOR,
    create_customer,
    credit_customer,
    customer_data,
    fund_account,
    invoice,
    rebate_grant,
)
from bigledger_customers.testing.strategies import customer_data as customer_data_strategy
from bigledger_customers.testing.strategies import money


def pay_at_till(book: Book, customer: str, amount: Money, number: str) -> ReservationState:
    """The host's code under test: a till that quotes, reserves and confirms in one go."""
    quote = book.checkout.quote(Order(customer=customer, number=number, amount=amount))
    reservation = book.checkout.reserve(quote, key=f"till-{number}", actor=FACTORY_ACTOR)
    return book.checkout.confirm(reservation, key=f"till-{number}-c", actor=FACTORY_ACTOR).state


def test_the_till_spends_rebate_then_prepayment(customer_book: Book) -> None:
    customer = create_customer(customer_book, currency="MYR")
    fund_account(customer_book, customer, Money("100", "MYR"))
    rebate_grant(customer_book, customer, Money("10", "MYR"))

    assert pay_at_till(customer_book, customer.code, Money("50", "MYR"), "T-1") is ReservationState.CONFIRMED

    balance = customer_book.accounts.balance(customer.code, "MYR")
    assert balance.actual + balance.rebate_actual == Money("60", "MYR")


def test_the_till_asks_for_cash_when_the_account_is_short(customer_book: Book) -> None:
    customer = create_customer(customer_book)
    fund_account(customer_book, customer, Money("20", "MYR"))

    quote = customer_book.checkout.quote(Order(customer=customer.code, number="T-2", amount=Money("50", "MYR")))

    assert quote.ok
    assert (quote.plan.prepayment, quote.plan.cash) == (Money("20", "MYR"), Money("30", "MYR"))


def test_moving_the_frozen_clock_expires_an_unconfirmed_hold(customer_book: Book, frozen_clock: FrozenClock) -> None:
    customer = create_customer(customer_book)
    fund_account(customer_book, customer, Money("100", "MYR"))
    customer_book.accounts.submit_payment(
        customer.code, prepayment=Money("40", "MYR"), expires_in=dt.timedelta(minutes=5), key="h-1", actor=FACTORY_ACTOR
    )
    assert customer_book.accounts.balance(customer.code, "MYR").locked == Money("40", "MYR")

    frozen_clock.advance(minutes=6)
    report = customer_book.accounts.expire()

    assert report.holds == 1
    assert customer_book.accounts.balance(customer.code, "MYR").available == Money("100", "MYR")


def test_a_credit_customer_over_the_limit_is_blocked(customer_book: Book) -> None:
    customer, _ = credit_customer(customer_book, Money("1000", "MYR"))
    invoice(customer_book, customer, Money("900", "MYR"))

    quote = customer_book.checkout.quote(Order(customer=customer.code, number="SO-1", amount=Money("200", "MYR")))

    assert not quote.ok
    assert [reason.code for reason in quote.reasons] == ["over_limit"]


def test_an_overdue_invoice_shows_in_aging(customer_book: Book, frozen_clock: FrozenClock) -> None:
    customer, _ = credit_customer(customer_book, Money("5000", "MYR"))
    invoice(customer_book, customer, Money("300", "MYR"), due=dt.date(2026, 1, 10))

    frozen_clock.set(dt.datetime(2026, 2, 20, tzinfo=dt.UTC))
    report = customer_book.credit.aging()

    assert [row.customer_id for row in report.rows] == [customer.id]
    assert customer_book.credit.dunning()[0].oldest_overdue_days == 41


def test_the_sqlite_book_keeps_what_was_written(sqlite_customer_book: Book) -> None:
    customer = create_customer(
        sqlite_customer_book, name={"zh": "深圳市前海科技有限公司"}, country="CN", currency="CNY"
    )

    assert sqlite_customer_book.customers.get(customer.code.lower()) == customer


def test_factories_take_overrides(customer_book: Book) -> None:
    assert "contacts" not in customer_data(contacts=None)
    customer = create_customer(customer_book, tags=["vip"], contacts=None)

    assert customer.tags == frozenset({"vip"})
    assert customer.contacts == ()


@given(st.from_type(Customer))
def test_generated_customers_are_valid(customer: Customer) -> None:
    assert customer.code == normalise_code(customer.code)
    assert customer.name
    assert customer.created_at.tzinfo is not None
    assert isinstance(customer.status, CustomerStatus)


@given(st.from_type(Money), st.from_type(Money))
def test_money_of_one_currency_adds_up(a: Money, b: Money) -> None:
    if a.currency == b.currency:
        assert (a + b) - b == a
    else:
        with pytest.raises(Exception, match="currenc"):
            _ = a + b


@settings(max_examples=15, deadline=None)
@given(customer_data_strategy(), money("MYR", min_value="0.01", max_value=10_000))
def test_a_top_up_of_any_amount_shows_in_the_balance(data: dict[str, Any], amount: Money) -> None:
    with connect("memory://", clock=FrozenClock()) as book:  # one book per example, not a fixture
        customer = create_customer(book, **data)
        balance = fund_account(book, customer, amount)

        assert balance.actual == amount
