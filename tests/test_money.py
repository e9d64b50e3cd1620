"""Money: precision per currency, refusal of floats, rounding, allocation, formatting."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import example, given
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


# Differential test of the fast paths (per-currency facts cached, no re-validation of arithmetic
# results) against a plain restatement of the rules: validate the currency through babel, quantize
# to the minor unit rounding down, refuse anything that changes. Operations compare as
# (amount, exponent, currency) or as the error code.


def _reference(amount: Decimal, currency: str) -> tuple[str, int, str] | str:
    import babel.numbers

    code = currency.upper()
    if code not in babel.numbers.list_currencies() or code in {"XAU", "XAG", "XPT", "XPD", "XTS", "XXX", "XDR"}:
        return "invalid_currency"
    quantum = Decimal(1).scaleb(-int(babel.numbers.get_currency_precision(code)))
    try:
        exact = amount.quantize(quantum, rounding=ROUND_DOWN)
    except ArithmeticError:
        return "invalid_amount"
    if exact != amount:
        return "invalid_precision"
    return (str(exact), int(exact.as_tuple().exponent), code)


def _actual(build: object) -> tuple[str, int, str] | str:
    try:
        money = build() if callable(build) else build
    except ValidationError as error:
        return error.code
    assert isinstance(money, Money)
    return (str(money.amount), int(money.amount.as_tuple().exponent), money.currency)


# The third kind has up to 28 digits (the context's precision) at an exponent a currency uses, so a
# sum can overflow the precision and must then be refused as the constructor would.
any_decimal = (
    st.decimals(allow_nan=False, allow_infinity=False, places=None)
    | st.decimals(min_value=-(10**30), max_value=10**30, allow_nan=False, allow_infinity=False, places=4)
    | st.builds(
        lambda units, exponent: Decimal(units).scaleb(exponent),
        st.integers(min_value=-(10**28) + 1, max_value=10**28 - 1),
        st.sampled_from([0, -2, -3]),
    )
)
any_currency = st.sampled_from([*CURRENCIES, "usd", "Bhd", "jPy", "XAU", "XYZ", "", "US"])


@example(a=Decimal("9" * 28), b=Decimal("9" * 28), currency="JPY")
@example(a=Decimal("-" + "9" * 26 + ".99"), b=Decimal("9" * 26 + ".99"), currency="usd")
@given(a=any_decimal, b=any_decimal, currency=any_currency)
def test_fast_paths_agree_with_the_plain_rules(a: Decimal, b: Decimal, currency: str) -> None:
    assert _actual(lambda: Money(a, currency)) == _reference(a, currency)
    assert _actual(lambda: Money(str(a), currency)) == _reference(a, currency)
    if isinstance(_reference(a, currency), str) or isinstance(_reference(b, currency), str):
        return
    x, y = Money(a, currency), Money(b, currency)
    assert _actual(lambda: x + y) == _reference(x.amount + y.amount, currency)
    assert _actual(lambda: x - y) == _reference(x.amount - y.amount, currency)
    assert _actual(lambda: -x) == _reference(-x.amount, currency)
    assert _actual(lambda: abs(x)) == _reference(abs(x.amount), currency)
    assert _actual(Money.zero(currency)) == _reference(Decimal(0), currency)
    assert _actual(lambda: Money.from_minor(x.minor, currency)) == _reference(x.amount, currency)
    assert (x < y, x <= y, x == y, x >= y, x > y) == (a < b, a <= b, a == b, a >= b, a > b)
    assert hash(x) == hash(Money(str(a), currency.upper()))
    assert x == Money(str(a), currency.upper())
    quantum = Decimal(1).scaleb(-minor_units(currency))
    for rounding in (ROUND_DOWN, "ROUND_HALF_UP"):
        try:
            expected = _reference((x.amount * Decimal("0.0137")).quantize(quantum, rounding=rounding), currency)
        except ArithmeticError:
            expected = "invalid_amount"
        assert _actual(lambda r=rounding: x.multiply("0.0137", rounding=r)) == expected  # type: ignore[misc]
        assert _actual(lambda r=rounding: Money.of(a, currency, rounding=r)) == _reference(
            a.quantize(quantum, rounding=rounding), currency
        )
