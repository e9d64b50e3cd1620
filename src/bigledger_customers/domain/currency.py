"""Exchange rates and conversion (issue 8, multi-currency credit). Pure: rates come from the host.

A credit limit has one currency; open items, reservations and the new order may be in others.
Exposure is computed in the limit's currency with the rates *as of the decision date*, through the
:class:`ExchangeRates` port the host supplies (:class:`RateTable` is the in-memory one). A missing
rate is an error naming the pair and the date (:class:`~bigledger_customers.errors.NotFound`,
code ``missing_exchange_rate``); nothing is ever converted 1:1 by default.

>>> rates = RateTable([ExchangeRate("EUR", "MYR", dt.date(2026, 3, 31), Decimal("4.7000")),
...                    ExchangeRate("USD", "MYR", dt.date(2026, 3, 31), Decimal("4.4000"))])
>>> total_in("MYR", [Money("1000", "EUR"), Money("500", "USD"), Money("100", "MYR")], rates,
...          on=dt.date(2026, 4, 1))
Money('7000.00', 'MYR')
>>> convert(Money("10", "MYR"), "JPY", rates, on=dt.date(2026, 4, 1))
Traceback (most recent call last):
...
bigledger_customers.errors.NotFound: no MYR/JPY exchange rate as of 2026-04-01 [missing_exchange_rate]...
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

import attrs

from bigledger_customers.errors import NotFound, ValidationError
from bigledger_customers.money import Money, validate_currency

__all__ = ["ExchangeRate", "ExchangeRates", "RateTable", "convert", "missing_rate", "rate_for", "total_in"]


class ExchangeRates(Protocol):
    """The host's exchange-rate provider (a port).

    ``rate(base, quote, on)`` is how many units of ``quote`` one unit of ``base`` buys as of the
    date ``on`` (the host decides what "as of" means: the day's fixing, the latest published
    before it); None when it has no such rate. Never return 1 for an unknown pair.
    """

    def rate(self, base: str, quote: str, on: dt.date) -> Decimal | None:
        """Units of ``quote`` per unit of ``base`` as of ``on``, or None."""
        ...


def _positive(_: object, attribute: attrs.Attribute[Decimal], value: Decimal) -> None:
    if not value.is_finite() or value <= 0:
        raise ValidationError("an exchange rate must be positive", code="invalid_rate", field="rate", value=value)


def _rate(value: object) -> Decimal:
    if isinstance(value, float | bool):
        raise ValidationError("give a rate as Decimal or text, not a float", code="invalid_rate", value=value)
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _date(value: object) -> dt.date:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise ValidationError("a rate is dated by a date", code="invalid_date", field="on", value=value)
    return value


@attrs.frozen
class ExchangeRate:
    """One published rate: one ``base`` buys ``rate`` ``quote``, from the date ``on``."""

    base: str = attrs.field(converter=validate_currency)
    quote: str = attrs.field(converter=validate_currency)
    on: dt.date = attrs.field(converter=_date)
    rate: Decimal = attrs.field(converter=_rate, validator=_positive)


class RateTable:
    """Rates in memory; a rate holds from its date until the next one of the same pair.

    ``max_age`` bounds how old the latest rate may be (None: any earlier rate holds). The inverse of
    a pair is *not* derived here; :func:`rate_for` does that for every provider alike.
    """

    def __init__(self, rates: Iterable[ExchangeRate] = (), *, max_age: dt.timedelta | None = None) -> None:
        self.max_age = max_age
        self._dates: dict[tuple[str, str], list[dt.date]] = {}
        self._rates: dict[tuple[str, str], dict[dt.date, Decimal]] = {}
        for rate in rates:
            self.add(rate)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RateTable):
            return NotImplemented
        return (self.max_age, self._rates) == (other.max_age, other._rates)

    __hash__ = None  # type: ignore[assignment]  # mutable

    def add(self, rate: ExchangeRate) -> None:
        """Publish (or correct) one rate."""
        pair = (rate.base, rate.quote)
        by_date = self._rates.setdefault(pair, {})
        if rate.on not in by_date:
            bisect.insort(self._dates.setdefault(pair, []), rate.on)
        by_date[rate.on] = rate.rate

    def rate(self, base: str, quote: str, on: dt.date) -> Decimal | None:
        """The latest rate of the pair dated on or before ``on`` (within ``max_age``), or None."""
        dates = self._dates.get((base, quote), [])
        index = bisect.bisect_right(dates, on)
        if index == 0:
            return None
        found = dates[index - 1]
        if self.max_age is not None and on - found > self.max_age:
            return None
        return self._rates[(base, quote)][found]

    @classmethod
    def of(cls, on: dt.date, rates: Mapping[str, Decimal | str]) -> RateTable:
        """A table from ``{"EUR/MYR": "4.70", ...}``, all dated ``on``.

        >>> RateTable.of(dt.date(2026, 1, 2), {"USD/MYR": "4.40"}).rate("USD", "MYR", dt.date(2026, 1, 5))
        Decimal('4.40')
        """
        table = cls()
        for pair, value in rates.items():
            base, _, quote = pair.partition("/")
            table.add(ExchangeRate(base, quote, on, _rate(value)))
        return table


def missing_rate(base: str, quote: str, on: dt.date) -> NotFound:
    """The error for a rate the provider does not have: it names the pair and the date."""
    return NotFound(
        f"no {base}/{quote} exchange rate as of {on.isoformat()}",
        code="missing_exchange_rate",
        field="exchange_rate",
        value=f"{base}/{quote} {on.isoformat()}",
    )


def rate_for(rates: ExchangeRates, base: str, quote: str, on: dt.date) -> Decimal:
    """Units of ``quote`` per ``base`` as of ``on``: the direct rate, else the inverse of the reverse
    pair; 1 only for a currency with itself. Missing: :func:`missing_rate` is raised."""
    if base == quote:
        return Decimal(1)
    direct = rates.rate(base, quote, on)
    if direct is not None:
        return _rate(direct)
    reverse = rates.rate(quote, base, on)
    if reverse is not None and _rate(reverse) > 0:
        return Decimal(1) / _rate(reverse)
    raise missing_rate(base, quote, on)


def convert(amount: Money, currency: str, rates: ExchangeRates, *, on: dt.date) -> Money:
    """``amount`` in ``currency`` at the rate as of ``on``, rounded half up to the minor unit."""
    if amount.currency == currency:
        return amount
    return Money.of(amount.amount * rate_for(rates, amount.currency, currency, on), currency, rounding=ROUND_HALF_UP)


def total_in(currency: str, amounts: Iterable[Money], rates: ExchangeRates, *, on: dt.date) -> Money:
    """The sum of ``amounts`` (any currencies) in ``currency`` as of ``on``: converted exactly,
    summed, rounded half up once, so the total does not depend on the order of the items.

    Every missing rate is an error, even for a zero amount (a limit decision must not depend on
    which items happen to be empty).
    """
    currency = validate_currency(currency)
    exact = sum(
        (a.amount * rate_for(rates, a.currency, currency, on) for a in amounts),
        start=Decimal(0),
    )
    return Money.of(exact, currency, rounding=ROUND_HALF_UP)
