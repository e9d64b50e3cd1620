"""Differential tests: :func:`~bigledger_customers.domain.convert.load_stored`, the cheaper structuring
of stored documents (issue 4), gives what :func:`~bigledger_customers.domain.convert.structure` gives:
the same customer for a document the library wrote, the same ValidationError for a corrupt one."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bigledger_customers.domain.convert import _stored_converter, load_stored, structure, unstructure
from bigledger_customers.domain.customer import Address, AddressKind, Attachment, Customer
from bigledger_customers.domain.external import CreditReport
from bigledger_customers.domain.tax import (
    BankAccount,
    DeliveryMethod,
    DeliveryPreference,
    PaymentMethod,
    Preferences,
    TaxProfile,
)
from bigledger_customers.errors import ValidationError

_TEXT = st.text(max_size=6)
_DAY = st.dates(dt.date(2000, 1, 1), dt.date(2040, 12, 31))
_MOMENT = st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2040, 1, 1), timezones=st.just(dt.UTC))
_DEGREES = st.decimals(-90, 90, places=6, allow_nan=False, allow_infinity=False)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=6,
)

_ADDRESSES = st.builds(
    Address,
    id=_TEXT,
    kind=st.sampled_from(AddressKind),
    lines=st.lists(_TEXT, max_size=3).map(tuple),
    city=_TEXT,
    country=st.sampled_from(["MY", "SG", "CN"]),
    latitude=st.none() | _DEGREES,
    longitude=st.none() | _DEGREES,
    delivery_zone=st.none() | _TEXT,
    contact_id=st.none() | _TEXT,
    is_default=st.booleans(),
)
_PREFERENCES = st.builds(
    Preferences,
    payment_methods=st.lists(st.sampled_from(PaymentMethod), max_size=4).map(tuple),
    delivery=st.none()
    | st.builds(
        DeliveryPreference, method=st.sampled_from(DeliveryMethod), instructions=_TEXT, partial_allowed=st.booleans()
    ),
)
_TAX = st.builds(
    TaxProfile,
    category=st.none() | st.sampled_from(["standard", "zero_rated"]),
    exempt=st.just(False),
    valid_from=st.none() | _DAY,
)
_BANK_ACCOUNTS = st.builds(
    BankAccount, bank=st.sampled_from(["Maybank", "DBS"]), account_number=st.sampled_from(["1234567890", "AB12-3456"])
)
_ATTACHMENTS = st.builds(
    Attachment,
    name=_TEXT,
    content_type=st.just("application/pdf"),
    size=st.integers(0, 10**8),
    checksum=_TEXT,
    storage_uri=_TEXT,
    added_at=st.none() | _MOMENT,
)
_REPORTS = st.builds(CreditReport, bureau=_TEXT, score=st.none() | st.integers(0, 999), fetched_on=_DAY)


@st.composite
def stored_customers(draw: st.DrawFn) -> Customer:
    """``st.from_type(Customer)`` with every kind of field filled in (it leaves most at their default)."""
    customer: Customer = draw(st.from_type(Customer))
    return attrs.evolve(
        customer,
        addresses=tuple(draw(st.lists(_ADDRESSES, min_size=1, max_size=3))),
        preferences=draw(_PREFERENCES),
        tax=draw(_TAX),
        bank_accounts=tuple(draw(st.lists(_BANK_ACCOUNTS, max_size=2))),
        attachments=tuple(draw(st.lists(_ATTACHMENTS, max_size=2))),
        credit_report=draw(st.none() | _REPORTS),
        custom_values=draw(st.dictionaries(_TEXT, _JSON, max_size=3)),
        social=draw(st.dictionaries(_TEXT, _TEXT, max_size=2)),
        tax_numbers=draw(st.dictionaries(st.sampled_from(["sst", "tin", "uen"]), _TEXT, max_size=2)),
        industry=draw(st.none() | _TEXT),
        parent_id=draw(st.none() | _TEXT),
    )


@given(stored_customers())
def test_fast_load_of_a_stored_document_equals_structure(customer: Customer) -> None:
    doc = unstructure(customer)
    from_json = json.loads(json.dumps(doc))
    for stored in (doc, from_json):
        expected = structure(copy.deepcopy(stored), Customer)
        # the fast converter itself, not its fallback: it must take every document the library writes
        assert _stored_converter().structure(copy.deepcopy(stored), Customer) == expected
        assert load_stored(stored, Customer) == expected


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def corrupt(doc: dict[str, Any]) -> None:
        target: Any = doc
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return corrupt


def _drop(path: tuple[Any, ...]) -> Callable[[dict[str, Any]], None]:
    def corrupt(doc: dict[str, Any]) -> None:
        target: Any = doc
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]

    return corrupt


CORRUPTIONS: dict[str, Callable[[dict[str, Any]], None]] = {
    "bad enum": _set(("status",), "gone"),
    "bad nested enum": _set(("addresses", 0, "kind"), "moon"),
    "bad payment method": _set(("preferences", "payment_methods"), ["barter"]),
    "naive date-time": _set(("created_at",), "2026-01-02T03:04:05"),
    "wrong type": _set(("updated_at",), 5),
    "wrong type in a list": _set(("addresses", 0, "latitude"), "north"),
    "not a list": _set(("tags",), 5),
    "not an object": _set(("tax",), "exempt"),
    "unknown key": _set(("colour",), "red"),
    "unknown nested key": _set(("addresses", 0, "fax"), "+60312345678"),
    "missing field": _drop(("code",)),
    "missing nested field": _drop(("addresses", 0, "country")),
}


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
@given(customer=stored_customers())
def test_corrupt_document_raises_what_structure_raises(name: str, customer: Customer) -> None:
    doc = json.loads(json.dumps(unstructure(customer)))
    CORRUPTIONS[name](doc)
    with pytest.raises(ValidationError) as checked:
        structure(copy.deepcopy(doc), Customer)
    with pytest.raises(ValidationError) as fast:
        load_stored(doc, Customer)
    assert (fast.value.code, fast.value.field, fast.value.message) == (
        checked.value.code,
        checked.value.field,
        checked.value.message,
    )
    assert [(d.code, d.field) for d in fast.value.details or ()] == [
        (d.code, d.field) for d in checked.value.details or ()
    ]


def test_corrupt_document_names_the_field() -> None:
    doc = unstructure(
        Customer(
            id="c1",
            code="C1",
            created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            updated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        )
    )
    doc["addresses"] = [{"country": "MY", "latitude": "north"}]
    with pytest.raises(ValidationError) as error:
        load_stored(doc, Customer)
    assert error.value.field == "addresses[0].latitude"


def test_decimal_coordinates_keep_their_digits() -> None:
    moment = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    customer = Customer(
        id="c1",
        code="C1",
        created_at=moment,
        updated_at=moment,
        addresses=(Address(country="MY", latitude=Decimal("3.139000")),),
    )
    loaded = load_stored(json.loads(json.dumps(unstructure(customer))), Customer)
    assert str(loaded.addresses[0].latitude) == "3.139000"
