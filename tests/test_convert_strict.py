"""Strict structuring of text, whole numbers and booleans: a value of the wrong kind is a ValidationError
(code ``invalid_type``, with the field path), never coerced (``str(5)``, ``bool("false")``, ``int(1.5)``);
values of the right kind come back unchanged. StrEnum fields still structure from their value, and CSV
cells (text) still import as booleans and numbers where the column is one."""

from __future__ import annotations

import copy
import enum
import io
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bigledger_customers import Actor, connect
from bigledger_customers.domain.convert import load_stored, structure, structure_as, unstructure
from bigledger_customers.domain.customer import AddressKind, Customer, CustomerStatus, Priority
from bigledger_customers.domain.reference import CustomFieldDefinition
from bigledger_customers.domain.tax import DeliveryMethod, PaymentMethod
from bigledger_customers.errors import ValidationError
from bigledger_customers.services.bulk import read_csv, unflatten, write_csv
from bigledger_customers.testing import FrozenClock

ADMIN = Actor(id="admin", roles={"sales_admin"})
_MOMENT = "2026-01-02T03:04:05+00:00"
_BASE = {
    "id": "cus-1",
    "code": "C-1",
    "names": {"en": "ABC Trading"},
    "legal_name": "ABC Sdn Bhd",
    "industry": "retail",
    "tags": ["north"],
    "tax": {"exempt": False, "certificate": "EX-1"},
    "preferences": {"delivery": {"partial_allowed": True}},
    "contacts": [{"name": "Ann", "primary": True}, {"name": "Bob", "email": "bob@example.com"}],
    "addresses": [{"country": "MY", "city": "Ipoh"}, {"country": "SG", "is_default": True}],
    "attachments": [
        {"name": "a.pdf", "content_type": "application/pdf", "size": 10, "checksum": "x", "storage_uri": "s3://a"}
    ],
    "created_at": _MOMENT,
    "updated_at": _MOMENT,
    "version": 3,
}

#: (path in the document, the field the error names)
TEXT_FIELDS = [
    (("code",), "code"),
    (("legal_name",), "legal_name"),
    (("industry",), "industry"),  # str | None: None is fine, other kinds are not
    (("names", "en"), "names.en"),
    (("tags", 0), "tags[0]"),
    (("contacts", 1, "name"), "contacts[1].name"),
    (("contacts", 1, "email"), "contacts[1].email"),
    (("addresses", 0, "city"), "addresses[0].city"),
    (("addresses", 1, "country"), "addresses[1].country"),
    (("attachments", 0, "checksum"), "attachments[0].checksum"),
]
INT_FIELDS = [(("version",), "version"), (("attachments", 0, "size"), "attachments[0].size")]
BOOL_FIELDS = [
    (("registration_approved",), "registration_approved"),
    (("tax", "exempt"), "tax.exempt"),
    (("preferences", "delivery", "partial_allowed"), "preferences.delivery.partial_allowed"),
    (("contacts", 0, "primary"), "contacts[0].primary"),
    (("contacts", 1, "marketing_sms"), "contacts[1].marketing_sms"),
    (("addresses", 1, "is_default"), "addresses[1].is_default"),
]

_WORDS = st.text(max_size=8)
_FLOATS = st.floats(allow_nan=False)
_NOT_TEXT = (
    st.integers()
    | _FLOATS
    | st.booleans()
    | st.lists(st.integers(), max_size=2)
    | st.dictionaries(_WORDS, st.integers(), max_size=2)
)
_NOT_INT = _WORDS | _FLOATS | st.booleans() | st.none()
_NOT_BOOL = _WORDS | st.integers() | st.none()


def _doc(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(_BASE)
    target: Any = doc
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return doc


def _read(customer: Customer, path: tuple[Any, ...]) -> Any:
    value: Any = customer
    for step in path:
        if isinstance(step, int):
            value = sorted(value)[step] if isinstance(value, frozenset) else value[step]
        elif isinstance(value, dict):
            value = value[step]
        else:
            value = getattr(value, step)
    return value


def _refused(doc: dict[str, Any], field: str, bad: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        structure(doc, Customer)
    assert (caught.value.code, caught.value.field) == ("invalid_type", field)
    assert not caught.value.details  # one fault, one error
    assert caught.value.value == bad
    assert type(caught.value.value) is type(bad)
    # the stored-document path is as strict: no silent coercion of a document edited by hand
    with pytest.raises(ValidationError) as stored:
        load_stored(doc, Customer)
    assert (stored.value.code, stored.value.field) == ("invalid_type", field)


@pytest.mark.parametrize(("path", "field"), TEXT_FIELDS)
@given(bad=_NOT_TEXT)
def test_text_field_refuses_other_kinds(path: tuple[Any, ...], field: str, bad: Any) -> None:
    _refused(_doc(path, bad), field, bad)


@pytest.mark.parametrize(("path", "field"), INT_FIELDS)
@given(bad=_NOT_INT)
def test_whole_number_field_refuses_other_kinds(path: tuple[Any, ...], field: str, bad: Any) -> None:
    _refused(_doc(path, bad), field, bad)


@pytest.mark.parametrize(("path", "field"), BOOL_FIELDS)
@given(bad=_NOT_BOOL)
def test_boolean_field_refuses_other_kinds(path: tuple[Any, ...], field: str, bad: Any) -> None:
    _refused(_doc(path, bad), field, bad)


@pytest.mark.parametrize(
    ("fields", "good"),
    [(TEXT_FIELDS, st.text(max_size=12)), (INT_FIELDS, st.integers(0, 10**12)), (BOOL_FIELDS, st.booleans())],
)
@given(data=st.data())
def test_values_of_the_right_kind_come_back_unchanged(fields: list[Any], good: Any, data: st.DataObject) -> None:
    path, _ = data.draw(st.sampled_from(fields))
    value = data.draw(good)
    customer = structure(_doc(path, value), Customer)
    assert _read(customer, path) == value
    assert type(_read(customer, path)) is type(value)
    assert load_stored(unstructure(customer), Customer) == customer


_JSON = st.none() | st.booleans() | st.integers() | _FLOATS | st.text(max_size=5) | st.lists(st.integers(), max_size=2)


@pytest.mark.parametrize("kind", [str, int, bool])
@given(value=_JSON)
def test_a_primitive_is_taken_exactly_when_it_is_of_that_kind(kind: type, value: Any) -> None:
    # differential against the rule itself: accepted iff the JSON value is of exactly that kind
    if type(value) is kind:
        assert structure_as(value, kind, field="x") is value
    else:
        with pytest.raises(ValidationError) as caught:
            structure_as(value, kind, field="x")
        assert (caught.value.code, caught.value.field) == ("invalid_type", "x")


@pytest.mark.parametrize(
    ("value", "kind"), [("false", bool), ("x", bool), (0, bool), (1.5, int), (True, int), ("7", int), (5, str)]
)
def test_the_coercions_cattrs_would_make_are_refused(value: Any, kind: type) -> None:
    with pytest.raises(ValidationError) as caught:
        structure_as(value, kind, field="x")
    assert caught.value.code == "invalid_type"


@pytest.mark.parametrize("kind", [AddressKind, CustomerStatus, Priority, PaymentMethod, DeliveryMethod])
def test_str_enums_still_structure_from_their_value(kind: type[enum.StrEnum]) -> None:
    for member in kind:
        assert structure_as(member.value, kind, field="x") is member
        assert structure_as(member, kind, field="x") is member
        text = structure_as(member, str, field="x")  # a member given for text: its plain value
        assert (text, type(text)) == (member.value, str)
    with pytest.raises(ValidationError) as caught:
        structure_as("no-such-value", kind, field="x")
    assert (caught.value.code, caught.value.field) == ("invalid_type", "x")
    with pytest.raises(ValidationError):
        structure_as(5, kind, field="x")


class _Mixed(str, enum.Enum):  # noqa: UP042 - the mixin form, not a StrEnum, is what is tested
    A = "a"


class _Number(enum.IntEnum):
    ONE = 1


def test_enums_mixing_in_str_or_int_structure_by_value() -> None:
    assert structure_as("a", _Mixed, field="x") is _Mixed.A
    assert structure_as(1, _Number, field="x") is _Number.ONE
    number = structure_as(_Number.ONE, int, field="x")
    assert (number, type(number)) == (1, int)
    for bad, kind in (("b", _Mixed), (2, _Number)):
        with pytest.raises(ValidationError) as caught:
            structure_as(bad, kind, field="x")
        assert caught.value.code == "invalid_type"


def test_csv_cells_become_booleans_and_numbers_where_the_column_is_one() -> None:
    row = unflatten(
        {
            "code": "C-1",
            "contacts.0.primary": "false",
            "contacts.0.marketing_email": "Yes",
            "tax.exempt": "FALSE",
            "preferences.delivery.partial_allowed": "true",
            "attachments.0.size": "12",
            "attachments.1.size": "12kB",
            "notes": "42",
            "contacts.0.name": "true",
        }
    )
    assert row["contacts"] == [{"primary": False, "marketing_email": True, "name": "true"}]
    assert row["tax"] == {"exempt": False}
    assert row["preferences"] == {"delivery": {"partial_allowed": True}}
    assert [a["size"] for a in row["attachments"]] == [12, "12kB"]  # not a number: left for structuring to refuse
    assert row["notes"] == "42"


def _import(text: str) -> Any:
    with connect("memory://", clock=FrozenClock()) as book:
        book.reference.define_field("employees", "integer", actor=ADMIN)
        book.reference.define_field("vip", "boolean", actor=ADMIN)
        report = book.customers.import_rows(read_csv(io.StringIO(text)), actor=ADMIN)
        return report, {c["code"]: c for c in book.customers.export()}


def test_csv_import_types_cells_and_reports_a_cell_of_the_wrong_kind() -> None:
    rows = [
        {
            "code": "OK-1",
            "names.en": "One",
            "contacts.0.name": "Ann",
            "contacts.0.primary": "false",
            "tax.exempt": "false",
            "custom_values.employees": "12",
            "custom_values.vip": "false",
        },
        {
            "code": "OK-2",
            "names.en": "Two",
            "contacts.0.name": "Bob",
            "contacts.0.primary": "true",
            "tax.exempt": "",
            "custom_values.employees": "-3",
            "custom_values.vip": "TRUE",
        },
        {"code": "BAD-3", "names.en": "Three", "contacts.0.name": "Cy", "contacts.0.primary": "maybe"},
        {"code": "BAD-4", "names.en": "Four", "tax.exempt": "sometimes"},
        {"code": "BAD-5", "names.en": "Five", "custom_values.employees": "many"},
        {"code": "BAD-6", "names.en": "Six", "custom_values.vip": "perhaps"},
        {"code": "BAD-7", "names.en": "Seven", "custom_values.employees": "1.5"},
    ]
    out = io.StringIO()
    write_csv(rows, out, columns=list(dict.fromkeys(k for r in rows for k in r)))
    report, stored = _import(out.getvalue())
    assert report.rows_ok == 2
    assert {(e.row, e.field, e.code) for e in report.errors} == {
        (3, "contacts[0].primary", "invalid_type"),
        (4, "tax.exempt", "invalid_type"),
        (5, "custom_values.employees", "invalid_type"),
        (6, "custom_values.vip", "invalid_type"),
        (7, "custom_values.employees", "invalid_type"),
    }
    one, two = stored["OK-1"], stored["OK-2"]
    assert one["tax"]["exempt"] is False  # "false" used to structure as True
    assert one["custom_values"] == {"employees": 12, "vip": False}
    assert two["custom_values"] == {"employees": -3, "vip": True}
    assert [c["primary"] for c in one["contacts"]] == [True]  # the only contact is made primary, as on create


@pytest.mark.parametrize(
    ("kind", "given", "expected"),
    [
        ("integer", 12, 12),
        ("integer", " 12 ", 12),
        ("boolean", True, True),
        ("boolean", "False", False),
        ("text", "7", "7"),
    ],
)
def test_custom_values_take_their_json_or_text_form(kind: str, given: Any, expected: Any) -> None:
    result = CustomFieldDefinition.new("f", kind).clean(given)
    assert (result, type(result)) == (expected, type(expected))


@pytest.mark.parametrize(
    ("kind", "given"),
    [("integer", True), ("integer", 1.5), ("integer", "1e3"), ("boolean", 1), ("boolean", "yes!"), ("text", 7)],
)
def test_custom_values_of_the_wrong_kind_are_refused(kind: str, given: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        CustomFieldDefinition.new("f", kind).clean(given)
    assert (caught.value.code, caught.value.field) == ("invalid_type", "custom_values.f")


_STORED = {
    "id": "c1",
    "code": "CUS-1",
    "created_at": "2026-01-01T00:00:00+00:00",
    "updated_at": "2026-01-01T00:00:00+00:00",
}


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"tax": {"category": 5}}, "tax"),
        ({"tax": {"certificate": 42}}, "tax"),
        ({"bank_accounts": [{"bank": 7, "account_number": "51401234"}]}, "bank_accounts[0]"),
        ({"bank_accounts": [{"bank": "Maybank", "account_number": 51401234}]}, "bank_accounts[0]"),
        ({"bank_accounts": [{"bank": "Maybank", "account_number": "51401234", "holder": 5}]}, "bank_accounts[0]"),
        ({"bank_accounts": [{"bank": "Maybank", "account_number": "51401234", "iban": 5}]}, "bank_accounts[0]"),
        ({"bank_accounts": [{"bank": "Maybank", "account_number": "51401234", "swift": 12345678}]}, "bank_accounts[0]"),
    ],
)
def test_text_fields_with_converters_refuse_other_kinds(changes: dict[str, Any], path: str) -> None:
    """Fields cleaned by an attrs converter (tax.py) bypass the type hooks: they check the kind themselves."""
    for load in (structure, load_stored):
        with pytest.raises(ValidationError) as caught:
            load({**_STORED, **changes}, Customer)
        assert (caught.value.code, caught.value.field) == ("invalid_type", path)


def test_text_fields_with_converters_still_clean_text() -> None:
    customer = structure(
        {
            **_STORED,
            "tax": {"category": " standard ", "certificate": ""},
            "bank_accounts": [
                {"bank": " Maybank ", "account_number": "5140-1234 5678", "holder": " ABC ", "swift": ""}
            ],
        },
        Customer,
    )
    assert (customer.tax.category, customer.tax.certificate) == ("standard", None)
    account = customer.bank_accounts[0]
    assert (account.bank, account.account_number, account.holder, account.swift) == (
        "Maybank",
        "514012345678",
        "ABC",
        None,
    )
