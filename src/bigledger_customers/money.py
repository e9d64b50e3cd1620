"""Money: a Decimal amount in an ISO 4217 currency, always a whole number of minor units.

Rounding rules (DESIGN.md, preamble): a share of something (a fee, an order rebate, an instalment)
rounds half up to the currency's minor unit; a cap rounds down so it is never exceeded. Nothing here
rounds silently: a constructor given more decimal places than the currency has raises, and every
operation that can produce them (:meth:`Money.multiply`, :meth:`Money.of`) takes the rounding mode.

>>> Money("257.50", "CNY").multiply("0.006")
Money('1.55', 'CNY')
>>> [str(part) for part in Money("100.00", "USD").allocate([1, 1, 1])]
['33.34 USD', '33.33 USD', '33.33 USD']
>>> Money("1000", "JPY").format("ja_JP")
'￥1,000'
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Final

import attrs
import babel.numbers

from bigledger_customers.errors import ValidationError

__all__ = ["ROUND_DOWN", "ROUND_HALF_UP", "Money", "minor_units", "total", "validate_currency"]

#: Currencies that babel knows but that are funds, metals or testing codes, not money a customer pays.
_NOT_TENDER: Final = frozenset(
    {"XAU", "XAG", "XPT", "XPD", "XTS", "XXX", "XDR", "XBA", "XBB", "XBC", "XBD", "XSU", "XUA"}
)


@functools.cache
def _currencies() -> frozenset[str]:
    return frozenset(babel.numbers.list_currencies()) - _NOT_TENDER


#: Per-currency facts computed once from babel: code -> (minor unit digits, quantum, zero).
_FACTS: dict[str, tuple[int, Decimal, Decimal]] = {}
#: Currency spellings already validated -> their upper-case code (``"myr"`` -> ``"MYR"``).
_CODES: dict[str, str] = {}
#: Currency spellings already validated -> the zero Money of their code (values are immutable).
_ZEROS: dict[str, Money] = {}


def _facts(code: str) -> tuple[int, Decimal, Decimal]:
    """Minor unit digits, quantum and zero of a validated upper-case ``code``, from babel once."""
    facts = _FACTS.get(code)
    if facts is None:
        places = int(babel.numbers.get_currency_precision(code))
        quantum = Decimal(1).scaleb(-places)
        facts = _FACTS[code] = (places, quantum, Decimal(0).quantize(quantum))
    return facts


def minor_units(currency: str) -> int:
    """Number of decimal places of ``currency`` per babel's CLDR data (JPY 0, USD 2, BHD 3).

    >>> minor_units("BHD")
    3
    """
    return _facts(validate_currency(currency))[0]


def validate_currency(value: object, *, field: str = "currency") -> str:
    """Return the ISO 4217 code in upper case, or raise :class:`ValidationError`.

    >>> validate_currency("myr")
    'MYR'
    """
    if isinstance(value, str):
        code = _CODES.get(value)
        if code is not None:
            return code
        code = value.upper()
        if code in _currencies():
            _CODES[value] = code
            return code
    raise ValidationError(
        f"{value!r} is not an ISO 4217 currency code", code="invalid_currency", field=field, value=value
    )


def _to_decimal(value: object, field: str = "amount") -> Decimal:
    if type(value) is Decimal:  # the common case; a subclass takes the long way below
        result = value
    elif isinstance(value, bool | float):
        # A float has already lost the cents (0.1 + 0.2 != 0.3): refuse it rather than guess.
        raise ValidationError(
            "amounts must be Decimal, int or str, never float", code="float_amount", field=field, value=value
        )
    elif isinstance(value, Decimal):
        result = value
    elif isinstance(value, int | str):
        try:
            result = Decimal(value.strip() if isinstance(value, str) else value)
        except InvalidOperation:
            raise ValidationError(
                f"{value!r} is not a number", code="invalid_amount", field=field, value=value
            ) from None
    else:
        raise ValidationError(
            f"{type(value).__name__} is not an amount", code="invalid_amount", field=field, value=value
        )
    if not result.is_finite():
        raise ValidationError("amount must be finite", code="invalid_amount", field=field, value=value)
    return result


def _exact(amount: Decimal, currency: str) -> Decimal:
    """``amount`` at the exponent of the validated ``currency``, or raise if that would lose digits."""
    quantum = _facts(currency)[1]
    try:
        exact = amount.quantize(quantum, rounding=ROUND_DOWN)
    except InvalidOperation:
        raise ValidationError("amount is too large", code="invalid_amount", field="amount", value=str(amount)) from None
    if exact != amount:
        raise ValidationError(
            f"{amount} has more decimal places than {currency} allows ({_facts(currency)[0]})",
            code="invalid_precision",
            field="amount",
            value=str(amount),
        )
    return exact


@attrs.frozen(repr=False, order=False, init=False)
class Money:
    """An amount of one currency; exact, immutable, and never more precise than the minor unit.

    Construct from ``Decimal``, ``int`` or ``str``; a ``float`` raises :class:`ValidationError`.
    Amounts with more decimals than the currency allows raise too; use :meth:`of` to round.

    >>> Money("10.5", "usd")
    Money('10.50', 'USD')
    >>> Money("10.005", "USD")
    Traceback (most recent call last):
    ...
    bigledger_customers.errors.ValidationError: 10.005 has more decimal places than USD allows (2) ...
    """

    amount: Decimal
    currency: str

    def __init__(self, amount: Decimal | int | str, currency: str) -> None:
        value = _to_decimal(amount)
        code = validate_currency(currency)
        # One exponent per currency, so equal amounts print alike: Money("1", "USD") shows 1.00.
        _set_amount(self, _exact(value, code))
        _set_currency(self, code)

    @classmethod
    def _trusted(cls, amount: Decimal, currency: str) -> Money:
        """Internal: wrap an ``amount`` already at the exponent of the already validated ``currency``.

        No check at all: only for values known exact (the cached zero of a currency).
        """
        money = _new(cls)
        _set_amount(money, amount)
        _set_currency(money, currency)
        return money

    @classmethod
    def _checked(cls, amount: Decimal, currency: str) -> Money:
        """Internal: wrap a Decimal ``amount`` of an already validated ``currency``, checking precision only.

        An ``amount`` already at the currency's exponent is exact as it is (``same_quantum`` compares
        exponents only, far cheaper than ``quantize``): the sum or difference of two amounts at that
        exponent is, unless the decimal context rounded it (more digits than its precision), which
        raises the exponent and takes the long way to the constructor's error.
        """
        money = _new(cls)
        facts = _FACTS.get(currency)
        if facts is None or not amount.same_quantum(facts[1]):
            amount = _exact(amount, currency)  # computes the facts, or raises the constructor's error
        _set_amount(money, amount)
        _set_currency(money, currency)
        return money

    @classmethod
    def of(cls, amount: Decimal | int | str, currency: str, *, rounding: str = ROUND_HALF_UP) -> Money:
        """Round ``amount`` to the currency's minor unit with ``rounding`` (half up by default).

        >>> Money.of("2.675", "USD")
        Money('2.68', 'USD')
        >>> Money.of("2.679", "USD", rounding=ROUND_DOWN)
        Money('2.67', 'USD')
        """
        currency = validate_currency(currency)
        return cls._checked(_to_decimal(amount).quantize(_facts(currency)[1], rounding=rounding), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """The zero amount of ``currency``."""
        zero = _ZEROS.get(currency) if cls is Money else None
        if zero is None:
            code = validate_currency(currency)
            zero = cls._trusted(_facts(code)[2], code)
            if cls is Money:
                _ZEROS[currency] = zero  # a valid spelling: one shared immutable zero per spelling
        return zero

    @classmethod
    def from_minor(cls, units: int, currency: str) -> Money:
        """Build from integer minor units, the storage form (``12345, "USD"`` is 123.45 USD).

        >>> Money.from_minor(12345, "USD")
        Money('123.45', 'USD')
        """
        if isinstance(units, bool) or not isinstance(units, int):
            raise ValidationError("minor units must be an int", code="invalid_amount", field="amount", value=units)
        code = validate_currency(currency)
        return cls._checked(Decimal(units).scaleb(-_facts(code)[0]), code)

    @property
    def minor(self) -> int:
        """The amount as integer minor units, the form stored in SQL columns."""
        return int(self.amount.scaleb(_facts(self.currency)[0]))

    def _same(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise ValidationError(
                f"cannot combine {self.currency} with {other.currency}",
                code="currency_mismatch",
                field="currency",
                value=other.currency,
            )
        return other

    # Results of arithmetic skip the validation of the public constructor: the currency is known
    # valid; a sum still goes through the precision check, which also catches a sum rounded by the
    # decimal context (more digits than its precision), exactly as the constructor would.

    def __add__(self, other: Money) -> Money:
        currency = self.currency
        if other.__class__ is not Money or other.currency != currency:
            self._same(other)
        amount = self.amount + other.amount
        facts = _FACTS.get(currency)
        if facts is not None and amount.same_quantum(facts[1]):  # the common case of _checked, inline
            money = _new(Money)
            _set_amount(money, amount)
            _set_currency(money, currency)
            return money
        return Money._checked(amount, currency)

    def __sub__(self, other: Money) -> Money:
        currency = self.currency
        if other.__class__ is not Money or other.currency != currency:
            self._same(other)
        amount = self.amount - other.amount
        facts = _FACTS.get(currency)
        if facts is not None and amount.same_quantum(facts[1]):  # the common case of _checked, inline
            money = _new(Money)
            _set_amount(money, amount)
            _set_currency(money, currency)
            return money
        return Money._checked(amount, currency)

    def __neg__(self) -> Money:
        return Money._checked(-self.amount, self.currency)

    def __abs__(self) -> Money:
        return Money._checked(abs(self.amount), self.currency)

    def __lt__(self, other: Money) -> bool:
        if other.__class__ is not Money or other.currency != self.currency:
            self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        if other.__class__ is not Money or other.currency != self.currency:
            self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        if other.__class__ is not Money or other.currency != self.currency:
            self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        if other.__class__ is not Money or other.currency != self.currency:
            self._same(other)
        return self.amount >= other.amount

    def __bool__(self) -> bool:
        return bool(self.amount)

    def is_zero(self) -> bool:
        """True when the amount is zero."""
        return not self.amount

    def is_negative(self) -> bool:
        """True when the amount is below zero."""
        return self.amount < 0

    def multiply(self, factor: Decimal | int | str, *, rounding: str = ROUND_HALF_UP) -> Money:
        """Multiply by an exact factor (a rate, a share) and round to the minor unit.

        >>> Money("1000.00", "CNY").multiply("0.006")
        Money('6.00', 'CNY')
        """
        product = self.amount * _to_decimal(factor, "factor")
        return Money._checked(product.quantize(_facts(self.currency)[1], rounding=rounding), self.currency)

    def allocate(self, ratios: Sequence[Decimal | int | str]) -> list[Money]:
        """Split into parts proportional to ``ratios`` that add up exactly to this amount.

        Each part is rounded down to the minor unit; the units left over go one each to the parts
        with the largest rounding loss, ties to the earlier part, so the result is deterministic.

        >>> [str(m) for m in Money("0.05", "USD").allocate([3, 7])]
        ['0.02 USD', '0.03 USD']
        """
        weights = [_to_decimal(r, "ratios") for r in ratios]
        if not weights or any(w < 0 for w in weights) or sum(weights) == 0:
            raise ValidationError(
                "ratios must be non-negative and not all zero", code="invalid_ratios", field="ratios", value=ratios
            )
        total_weight = sum(weights)
        units = self.minor
        exact = [Decimal(units) * w / total_weight for w in weights]
        floors = [int(e.to_integral_value(rounding="ROUND_FLOOR")) for e in exact]
        left = units - sum(floors)
        order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
        step = 1 if left >= 0 else -1
        for i in order[: abs(left)]:
            floors[i] += step
        places = _facts(self.currency)[0]
        return [Money._checked(Decimal(u).scaleb(-places), self.currency) for u in floors]

    def format(self, locale: str = "en_US") -> str:
        """Format for people in ``locale`` through babel (for display only; never parse it back)."""
        return str(babel.numbers.format_currency(self.amount, self.currency, locale=locale))

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"

    def __repr__(self) -> str:
        return f"Money({str(self.amount)!r}, {self.currency!r})"


_new = object.__new__
# Slot descriptors: set the fields of a frozen instance without the frozen __setattr__.
_set_amount = Money.amount.__set__  # type: ignore[attr-defined]
_set_currency = Money.currency.__set__  # type: ignore[attr-defined]


def total(amounts: Iterable[Money], currency: str) -> Money:
    """Sum ``amounts`` (all in ``currency``); the empty sum is zero."""
    result = Money.zero(currency)
    for amount in amounts:
        result = result + amount
    return result
