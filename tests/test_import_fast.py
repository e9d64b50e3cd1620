"""Differential tests: the import's cheaper steps (issue 4) give exactly what the steps they replace
give: the evolve without attrs' loop, text fields past the converter, primary contact and default
addresses set before structuring, audit/event JSON past ``unstructure``, memoised datetime binds."""

from __future__ import annotations

import datetime as dt
import enum
import json
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import mysql, postgresql, sqlite

from bigledger_customers.adapters.sql import _repositories as repos
from bigledger_customers.adapters.sql._types import UtcDateTime
from bigledger_customers.domain import customer as rules
from bigledger_customers.domain.convert import structure_as, unstructure
from bigledger_customers.domain.customer import Address, Contact, Customer, Problems
from bigledger_customers.errors import BigLedgerError
from bigledger_customers.services import bulk
from bigledger_customers.testing.generate import customers, reference_data

NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


@given(st.from_type(Customer), st.data())
def test_evolve_equals_attrs_evolve(customer: Customer, data: st.DataObject) -> None:
    names = [a.name for a in attrs.fields(Customer)]
    chosen = data.draw(st.lists(st.sampled_from(names), unique=True, max_size=8))
    other = data.draw(st.from_type(Customer))
    changes = {name: getattr(other, name) for name in chosen}
    assert rules._evolve(customer, dict(changes)) == attrs.evolve(customer, **changes)
    for contact in customer.contacts:
        assert rules._evolve(contact, {"name": "x"}) == attrs.evolve(contact, name="x")


def test_evolve_of_items_equals_attrs_evolve() -> None:
    contact = Contact(id="c1", name="Ali", roles=frozenset({"orderer"}), phone="+60123456789")
    address = Address(country="MY", lines=("1 Jalan",), is_default=True)
    assert rules._evolve(contact, {"email": "a@b.co"}) == attrs.evolve(contact, email="a@b.co")
    assert rules._evolve(address, {"country": "SG"}) == attrs.evolve(address, country="SG")


class _Text(str):
    """A str subclass: the converter passes it through, the fast path must not take it."""


TEXT_VALUES = st.one_of(
    st.text(max_size=5),
    st.none(),
    st.integers(),
    st.booleans(),
    st.lists(st.text(max_size=2), max_size=2),
    st.builds(_Text, st.text(max_size=3)),
)


def _outcome(fields: dict[str, Any]) -> tuple[Any, list[tuple[Any, ...]]]:
    problems = Problems()
    out = rules._structure_fields(fields, problems)
    return out, [(e.field, e.code, e.message) for e in problems.found]


@given(st.sampled_from(sorted(rules._TEXT_FIELDS)), TEXT_VALUES)
def test_text_fields_structure_as_the_converter_does(name: str, raw: Any) -> None:
    got, errors = _outcome({name: raw})
    problems = Problems()
    value = problems.check(lambda: structure_as(raw, rules._FIELD_TYPES[name], field=name))
    expected = {name: value} if value is not None or raw is None else {}
    assert got == expected
    assert errors == [(e.field, e.code, e.message) for e in problems.found]
    if name in got:
        assert type(got[name]) is type(value)


FLAG = st.one_of(st.none(), st.booleans(), st.just("yes"), st.just(1))
KIND = st.one_of(st.none(), st.sampled_from(["billing", "shipping", "office", "other", "Billing", "nope"]), st.just(3))


@st.composite
def _items(draw: st.DrawFn) -> dict[str, Any]:
    row: dict[str, Any] = {"code": "IMP-001", "name": {"en": "Ali Trading"}, "country": "MY"}
    contacts = []
    for i in range(draw(st.integers(0, 3))):
        contact: dict[str, Any] = {"name": f"P{i}"}
        if (flag := draw(FLAG)) is not None:
            contact["primary"] = flag
        if draw(st.booleans()):
            contact["id"] = draw(st.sampled_from(["", f"given{i}"]))
        contacts.append(contact)
    addresses = []
    for i in range(draw(st.integers(0, 4))):
        address: dict[str, Any] = {"country": "MY", "lines": [f"{i} Jalan"]}
        if (flag := draw(FLAG)) is not None:
            address["is_default"] = flag
        if (kind := draw(KIND)) is not None:
            address["kind"] = kind
        addresses.append(address)
    if contacts or draw(st.booleans()):
        row["contacts"] = contacts if draw(st.booleans()) else tuple(contacts)
    if addresses or draw(st.booleans()):
        row["addresses"] = addresses
    return row


def _build(row: dict[str, Any], *, before: bool = True) -> Customer | list[tuple[Any, ...]]:
    """The customer a row creates, or its errors; ``before=False`` leaves the defaults to ``_items``."""
    references: dict[str, dict[str, str]] = {}
    for kind, code in reference_data():
        references.setdefault(kind, {})[code.casefold()] = code
    saved = bulk._defaults_before_structuring
    if not before:
        bulk._defaults_before_structuring = lambda data: None  # type: ignore[assignment]
    try:
        return bulk._new_customer(row, "cid", NOW, bulk._Context(references=references, definitions={}))
    except BigLedgerError as error:
        return sorted((e.field or "", e.code, e.message) for e in (error.details or [error]))
    finally:
        bulk._defaults_before_structuring = saved


@settings(max_examples=300)
@given(_items())
@example({"code": "IMP-001", "name": "A", "contacts": [{"name": "A"}, {"name": "B", "primary": "yes"}]})
@example({"code": "IMP-001", "name": "A", "addresses": [{"country": "MY", "kind": ["x"]}]})
def test_defaults_set_before_structuring_build_the_same_customer(row: dict[str, Any]) -> None:
    snapshot = json.dumps(row, default=str)
    fast = _build(row)
    assert fast == _build(row, before=False)
    assert json.dumps(row, default=str) == snapshot  # the caller's row is not changed
    if isinstance(fast, Customer) and fast.contacts:
        assert sum(c.primary for c in fast.contacts) >= 1


def test_generated_rows_build_as_before() -> None:
    rows = list(customers(300, seed=5))
    fast = [_build(dict(r)) for r in rows]
    assert all(isinstance(c, Customer) for c in fast)
    assert fast == [_build(dict(r), before=False) for r in rows]


class _Colour(enum.StrEnum):
    RED = "red"


JSONISH = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.text(max_size=4),
        st.just(_Colour.RED),
        st.just(Decimal("1.50")),
        st.just(NOW),
        st.just(dt.date(2026, 1, 2)),
        st.floats(allow_nan=False),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner, inner),
        st.frozensets(st.text(max_size=3), max_size=3),
        st.dictionaries(st.text(max_size=3), inner, max_size=3),
    ),
    max_leaves=8,
)


@given(st.dictionaries(st.text(max_size=5), JSONISH, max_size=4))
@example({"code": [None, "C-1"], "import": [None, "abc"]})
def test_change_json_equals_dumps_of_unstructure(value: dict[str, Any]) -> None:
    assert repos._json_of(value) == json.dumps(unstructure(dict(value)))


def test_document_json_equals_the_column_serializer() -> None:
    built = [_build(dict(r)) for r in customers(50, seed=2)]
    for customer in built:
        assert isinstance(customer, Customer)
        encoded, _ = repos.encode_new_customer(customer)
        assert encoded["doc"] == json.dumps(unstructure(customer))


@pytest.mark.parametrize("name", ["sqlite", "postgresql", "mysql"])
def test_memoised_time_bind_equals_the_column_type(name: str) -> None:
    dialect = {"sqlite": sqlite.dialect(), "postgresql": postgresql.dialect(), "mysql": mysql.dialect()}[name]
    bind = repos._time_binder(dialect)
    column = UtcDateTime()
    other_zone = dt.timezone(dt.timedelta(hours=8))
    for value in [NOW, NOW, NOW.astimezone(other_zone), NOW + dt.timedelta(microseconds=1), None]:
        assert bind(value) == column.process_bind_param(value, dialect)
    with pytest.raises(ValueError, match="timezone-aware"):
        bind(dt.datetime(2026, 1, 1))  # a naive datetime is refused, as by the column
