"""Hypothesis strategies for the library's values, registered for ``st.from_type``.

Installing the package registers :func:`_hypothesis_setup_hook` through the ``hypothesis`` entry
point, so in a host's tests ``st.from_type(Customer)`` and ``st.from_type(Money)`` just work:

>>> from hypothesis import given, settings, strategies as st
>>> from bigledger_customers import Customer, Money
>>> @settings(max_examples=10)
... @given(st.from_type(Money), st.from_type(Customer))
... def test_values(amount, customer):
...     assert isinstance(amount, Money) and isinstance(customer, Customer)
>>> test_values()

The strategies themselves take arguments when a test needs narrower values, e.g.
``money(currency="MYR", max_value=1000)`` or ``customer_data(country="CN")``; ``customer_data``
draws mappings that :meth:`~bigledger_customers.services.customers.CustomerService.create` accepts
on an empty book (they name no reference data). Needs ``hypothesis`` (a test dependency, not a
dependency of the library).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Final

from bigledger_customers.domain import customer as cu
from bigledger_customers.domain.customer import Contact, Customer, CustomerStatus, CustomerType, Priority
from bigledger_customers.money import Money, minor_units


def _hypothesis_setup_hook() -> None:
    """Register the strategies for ``st.from_type`` (called by hypothesis through its entry point).

    Defined before hypothesis is imported, and registering functions that build the strategies on
    first use: importing this module first makes hypothesis load this very module, half-initialised,
    through the entry point.
    """
    from hypothesis import strategies as hst

    hst.register_type_strategy(Money, lambda _: money())
    hst.register_type_strategy(Customer, lambda _: customers())


from hypothesis import strategies as st  # noqa: E402  (after the hook: see its docstring)

__all__ = ["COUNTRIES", "CURRENCIES", "codes", "currencies", "customer_data", "customers", "money", "names"]

#: Currencies drawn by default: zero (JPY), two and three (KWD) minor units.
CURRENCIES: Final = ("MYR", "CNY", "SGD", "USD", "EUR", "JPY", "KWD")
#: Countries drawn by default, with their currency and a valid mobile number.
COUNTRIES: Final = {"MY": ("MYR", "+60123456789"), "CN": ("CNY", "+8613812345678"), "SG": ("SGD", "+6581234567")}

_WORDS: Final = ("Trading", "Foods", "Steel", "Logistics", "Motors", "Agro", "Pharma", "Textiles", "Retail")
_ZH: Final = ("深圳", "科技", "贸易", "制造", "有限公司", "集团")
_MS: Final = ("Perniagaan", "Syarikat", "Maju", "Jaya", "Sentosa")
_EPOCH: Final = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def currencies() -> st.SearchStrategy[str]:
    """ISO 4217 codes from :data:`CURRENCIES`."""
    return st.sampled_from(CURRENCIES)


def money(
    currency: str | None = None,
    *,
    min_value: Decimal | int | str = 0,
    max_value: Decimal | int | str = 1_000_000,
) -> st.SearchStrategy[Money]:
    """Amounts between ``min_value`` and ``max_value`` at the currency's precision (any of
    :data:`CURRENCIES` when ``currency`` is None)."""

    def of(code: str) -> st.SearchStrategy[Money]:
        places = minor_units(code)
        amounts = st.decimals(
            min_value=Decimal(min_value), max_value=Decimal(max_value), places=places, allow_nan=False
        )
        return amounts.map(lambda amount: Money(amount, code))

    return of(currency.upper()) if currency else currencies().flatmap(of)


def codes() -> st.SearchStrategy[str]:
    """Customer codes the library accepts (3 to 50 of letters, digits and ``-_/.``), upper case."""
    return _CODES


_CODES: Final = st.builds(
    "{}-{}".format,
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=2, max_size=8),
    st.integers(0, 999_999),
)


def names() -> st.SearchStrategy[dict[str, str]]:
    """Customer names by language: English always, sometimes Chinese and Malay too."""
    en = st.lists(st.sampled_from(_WORDS), min_size=1, max_size=3).map(lambda w: " ".join(["Test", *w]))
    zh = st.lists(st.sampled_from(_ZH), min_size=2, max_size=4).map("".join)
    ms = st.lists(st.sampled_from(_MS), min_size=2, max_size=3).map(" ".join)
    return st.fixed_dictionaries({"en": en}, optional={"zh": zh, "ms": ms})


_NAMES: Final = names()


def customer_data(country: str | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """Mappings ``book.customers.create`` accepts on an empty book (country from :data:`COUNTRIES`)."""

    def of(code: str) -> st.SearchStrategy[dict[str, Any]]:
        currency, phone = COUNTRIES[code]
        contact = st.fixed_dictionaries(
            {"name": st.sampled_from(["Ali Hassan", "Mei Ling", "Siti", "Wei Jie"])},
            optional={"email": st.just("buyer@example.com"), "phone": st.just(phone)},
        )
        return st.fixed_dictionaries(
            {"name": names(), "country": st.just(code), "currency": st.just(currency)},
            optional={
                "type": st.sampled_from([t.value for t in CustomerType]),
                "priority": st.sampled_from([p.value for p in Priority]),
                "tags": st.lists(st.sampled_from(["vip", "north", "online", "export"]), max_size=3, unique=True),
                "contacts": st.lists(contact, max_size=3),
            },
        )

    return of(country.upper()) if country else st.sampled_from(sorted(COUNTRIES)).flatmap(of)


@st.composite
def customers(draw: st.DrawFn, status: CustomerStatus | None = None) -> Customer:
    """Valid, stored-looking :class:`~bigledger_customers.Customer` values (checked by the domain
    rules, version 1 or more, timestamps in UTC); not saved anywhere. Any status but merged (a
    merged customer points at another one) unless ``status`` is given."""
    country = draw(st.sampled_from(sorted(COUNTRIES)))
    currency, phone = COUNTRIES[country]
    created = _EPOCH + dt.timedelta(seconds=draw(st.integers(0, 6 * 365 * 86400)))
    updated = created + dt.timedelta(seconds=draw(st.integers(0, 86400 * 30)))
    contacts = tuple(
        Contact(id=f"ct-{i}", name=name, phone=phone, primary=i == 0)
        for i, name in enumerate(draw(st.lists(st.sampled_from(["Ali", "Mei Ling", "Siti"]), max_size=3)))
    )
    value = Customer(
        id=draw(st.uuids()).hex,
        code=draw(_CODES),
        names=draw(_NAMES),
        customer_type=draw(st.sampled_from(CustomerType)),
        priority=draw(st.sampled_from(Priority)),
        country=country,
        currency=currency,
        tags=frozenset(draw(st.lists(st.sampled_from(["vip", "north", "online"]), max_size=3))),
        status=status or draw(st.sampled_from([s for s in CustomerStatus if s is not CustomerStatus.MERGED])),
        contacts=contacts,
        created_at=created,
        updated_at=updated,
        version=draw(st.integers(1, 50)),
    )
    return cu.check(value)
