"""Money: precision per currency, refusal of floats, rounding, allocation, formatting."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bigledger_customers import Money, ValidationError
from bigledger_customers.money import ROUND_DOWN, minor_units

CURRENCIES = ["USD", "MYR", "CNY", "JPY", "BHD", "KWD", "EUR", "SGD"]


@pytest.mark.parametrize(("currency", "places"), [("JPY", 0), ("USD", 2), ("BHD", 3), ("MYR", 2)])
def test_minor_units_come_from_babel(currency: str, places: int) -> None:
    assert minor_units(currency) == places


def test_float_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        Money(0.1, "USD")  # type: ignore[arg-type]
    assert (caught.value.code, caught.value.field) == ("float_amount", "amount")


@pytest.mark.parametrize("currency", ["XYZ", "usdollar", "", "XAU"])
def test_unknown_currency_is_refused(currency: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Money("1", currency)
    assert caught.value.code == "invalid_currency"


def test_more_decimals_than_the_currency_allows_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        Money("1.5", "JPY")
    assert caught.value.code == "invalid_precision"


def test_arithmetic_within_one_currency_only() -> None:
    assert Money("1.10", "USD") + Money("2.25", "USD") == Money("3.35", "USD")
    with pytest.raises(ValidationError) as caught:
        Money("1", "USD") + Money("1", "EUR")
    assert caught.value.code == "currency_mismatch"


@pytest.mark.parametrize(
    ("amount", "fee"), [("100.00", "0.60"), ("1000.00", "6.00"), ("257.50", "1.55"), ("0.83", "0.00")]
)
def test_rate_rounds_half_up_to_the_minor_unit(amount: str, fee: str) -> None:
    assert Money(amount, "CNY").multiply("0.006") == Money(fee, "CNY")


def test_cap_rounds_down() -> None:
    assert Money("10.00", "USD").multiply("0.3333", rounding=ROUND_DOWN) == Money("3.33", "USD")


def test_minor_unit_round_trip() -> None:
    assert Money.from_minor(Money("12.345", "BHD").minor, "BHD") == Money("12.345", "BHD")
    assert Money("1000", "JPY").minor == 1000


def test_format_by_locale() -> None:
    assert Money("1234.5", "USD").format("en_US") == "$1,234.50"
    assert Money("1234.5", "EUR").format("de_DE") == "1.234,50\xa0€"


amounts = st.integers(min_value=-(10**12), max_value=10**12)


@given(
    units=amounts,
    currency=st.sampled_from(CURRENCIES),
    ratios=st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=12).filter(any),
)
def test_allocate_parts_add_up_exactly(units: int, currency: str, ratios: list[int]) -> None:
    whole = Money.from_minor(units, currency)
    parts = whole.allocate(ratios)
    assert len(parts) == len(ratios)
    assert sum((p.minor for p in parts), 0) == whole.minor
    # each part is within one minor unit of its exact share
    for part, ratio in zip(parts, ratios, strict=True):
        exact = Decimal(units) * ratio / sum(ratios)
        assert abs(part.minor - exact) < 1


@given(
    value=st.decimals(min_value=-(10**9), max_value=10**9, allow_nan=False, allow_infinity=False, places=6),
    currency=st.sampled_from(CURRENCIES),
)
def test_of_rounds_to_the_currency_precision_half_up(value: Decimal, currency: str) -> None:
    rounded = Money.of(value, currency)
    quantum = Decimal(1).scaleb(-minor_units(currency))
    assert abs(rounded.amount - value) <= quantum / 2
    assert rounded.amount.as_tuple().exponent == -minor_units(currency)
    if abs(rounded.amount - value) == quantum / 2:  # a tie goes away from zero
        assert abs(rounded.amount) > abs(value)
