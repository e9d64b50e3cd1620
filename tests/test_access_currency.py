"""Multi-currency exposure: conversion at the rates of the decision date, never a silent 1:1."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from bigledger_customers import Money, NotFound, ValidationError
from bigledger_customers.domain.currency import ExchangeRate, RateTable, convert, rate_for, total_in

MARCH_30 = dt.date(2026, 3, 30)
MARCH_31 = dt.date(2026, 3, 31)
RATES = RateTable(
    [
        ExchangeRate("EUR", "MYR", MARCH_30, Decimal("4.6000")),
        ExchangeRate("USD", "MYR", MARCH_30, Decimal("4.3000")),
        ExchangeRate("EUR", "MYR", MARCH_31, Decimal("4.7000")),
        ExchangeRate("USD", "MYR", MARCH_31, Decimal("4.4000")),
    ]
)
LIMIT = Money("10000.00", "MYR")
OPEN_ITEMS = [Money("1000.00", "EUR"), Money("1000.00", "USD")]
NEW_ORDER = Money("1000.00", "MYR")


def test_exposure_in_eur_and_usd_against_a_myr_limit_uses_the_rates_of_the_decision_date() -> None:
    on_30th = total_in("MYR", [*OPEN_ITEMS, NEW_ORDER], RATES, on=MARCH_30)
    on_31st = total_in("MYR", [*OPEN_ITEMS, NEW_ORDER], RATES, on=MARCH_31)

    assert on_30th == Money("9900.00", "MYR")  # 4600 + 4300 + 1000
    assert on_31st == Money("10100.00", "MYR")  # 4700 + 4400 + 1000
    assert on_30th <= LIMIT < on_31st


def test_a_later_decision_uses_the_latest_rate_published_before_it() -> None:
    assert total_in("MYR", OPEN_ITEMS, RATES, on=dt.date(2026, 4, 4)) == Money("9100.00", "MYR")


def test_a_missing_rate_names_the_pair_and_the_date() -> None:
    with pytest.raises(NotFound) as caught:
        total_in("MYR", [Money("10.00", "GBP")], RATES, on=MARCH_31)

    assert caught.value.code == "missing_exchange_rate"
    assert "GBP/MYR" in caught.value.message
    assert "2026-03-31" in caught.value.message
    assert caught.value.value == "GBP/MYR 2026-03-31"


def test_a_rate_dated_after_the_decision_is_not_used() -> None:
    with pytest.raises(NotFound, match="EUR/MYR exchange rate as of 2026-03-29"):
        total_in("MYR", OPEN_ITEMS, RATES, on=dt.date(2026, 3, 29))


def test_a_zero_amount_still_needs_its_rate() -> None:
    with pytest.raises(NotFound):
        total_in("MYR", [Money("0.00", "GBP")], RATES, on=MARCH_31)


def test_a_stale_rate_is_missing_when_the_table_bounds_its_age() -> None:
    table = RateTable([ExchangeRate("EUR", "MYR", MARCH_30, "4.60")], max_age=dt.timedelta(days=3))

    assert table.rate("EUR", "MYR", dt.date(2026, 4, 2)) == Decimal("4.60")
    assert table.rate("EUR", "MYR", dt.date(2026, 4, 3)) is None


def test_the_reverse_pair_is_inverted() -> None:
    assert convert(Money("470.00", "MYR"), "EUR", RATES, on=MARCH_31) == Money("100.00", "EUR")
    assert rate_for(RATES, "MYR", "MYR", MARCH_31) == 1


def test_conversion_rounds_half_up_to_the_minor_unit_of_the_target() -> None:
    table = RateTable.of(MARCH_31, {"USD/JPY": "150.005"})

    assert convert(Money("1.00", "USD"), "JPY", table, on=MARCH_31) == Money("150", "JPY")
    assert convert(Money("0.10", "USD"), "JPY", table, on=MARCH_31) == Money("15", "JPY")


def test_the_total_does_not_depend_on_the_order_of_the_items() -> None:
    items = [Money("0.01", "EUR")] * 3 + [Money("0.01", "USD")] * 3
    assert total_in("MYR", items, RATES, on=MARCH_31) == total_in("MYR", items[::-1], RATES, on=MARCH_31)
    assert total_in("MYR", items, RATES, on=MARCH_31) == Money("0.27", "MYR")  # 0.141 + 0.132, rounded once


@pytest.mark.parametrize("rate", ["0", "-1", 1.5, "NaN"])
def test_rates_must_be_positive_decimals(rate: object) -> None:
    with pytest.raises(ValidationError):
        ExchangeRate("EUR", "MYR", MARCH_31, rate)  # type: ignore[arg-type]


def test_the_book_converts_with_the_hosts_provider() -> None:
    from bigledger_customers import Settings, connect
    from bigledger_customers.integrations import Integrations

    book = connect("memory://", settings=Settings(integrations=Integrations(rates=RATES)))

    assert book.integrations.convert(Money("100.00", "EUR"), "MYR", on=MARCH_31) == Money("470.00", "MYR")
    with pytest.raises(NotFound, match="no MYR/JPY exchange rate"):
        connect("memory://").integrations.rate("MYR", "JPY", on=MARCH_31)
