"""The package's one cattrs Converter: JSON, CSV rows and SQL JSON columns all go through it.

Structuring errors become :class:`ValidationError` with the field path (``contacts[2].phone``).
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import types
import typing
from decimal import Decimal
from typing import Any, TypeVar

import cattrs
from cattrs.cols import homogenous_tuple_structure_factory, is_frozenset
from cattrs.fns import identity
from cattrs.preconf.json import make_converter

from bigledger_customers.errors import ValidationError
from bigledger_customers.money import Money, _to_decimal

__all__ = ["converter", "load_stored", "structure", "unstructure"]

T = TypeVar("T")

converter = make_converter(forbid_extra_keys=True, prefer_attrib_converters=True)


def _structure_decimal(value: Any, _: type) -> Decimal:
    return _to_decimal(value, "value")


def _structure_money(value: Any, _: type) -> Money:
    if isinstance(value, Money):
        return value
    if isinstance(value, dict) and set(value) == {"amount", "currency"}:
        return Money(value["amount"], value["currency"])
    raise ValidationError("expected {amount, currency}", code="invalid_amount", value=value)


def _structure_datetime(value: Any, _: type) -> dt.datetime:
    if isinstance(value, dt.datetime):
        result = value
    elif isinstance(value, str):
        result = dt.datetime.fromisoformat(value)
    else:
        raise ValidationError("expected an ISO 8601 date-time", code="invalid_datetime", value=value)
    if result.tzinfo is None:
        raise ValidationError("date-time must carry a time zone", code="naive_datetime", value=value)
    return result


def _structure_date(value: Any, _: type) -> dt.date:
    if isinstance(value, dt.datetime):
        raise ValidationError("expected a date, not a date-time", code="invalid_date", value=value)
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return dt.date.fromisoformat(value)
    raise ValidationError("expected an ISO 8601 date", code="invalid_date", value=value)


# Text, whole numbers and booleans are taken as given, never coerced (cattrs' default calls the type:
# str(5) == "5", bool("false") is True, int(1.5) == 1). A subclass value (a StrEnum member given for a
# str) gives the plain value, as the call did; a subclass asked for (an enum mixing in str) is called.
def _structure_str(value: Any, cl: type[str]) -> str:
    if type(value) is cl:
        return value
    if not isinstance(value, str):
        raise ValidationError("expected text", code="invalid_type", value=value)
    return cl(value)


def _structure_int(value: Any, cl: type[int]) -> int:
    if type(value) is cl:
        return value
    if type(value) is bool or not isinstance(value, int):
        raise ValidationError("expected a whole number", code="invalid_type", value=value)
    return cl(value)


def _structure_bool(value: Any, _: type) -> bool:
    if type(value) is bool:
        return value
    raise ValidationError("expected true or false", code="invalid_type", value=value)


def _structure_enum(value: Any, cl: type[enum.Enum]) -> enum.Enum:
    """An enum member by its value: what cattrs did for a StrEnum or IntEnum before str and int had hooks
    (``cl(value)``), with Enum's own first step (its value map) taken without the calls around it."""
    try:
        return cl._value2member_map_[value]
    except (KeyError, TypeError):  # not a value, or unhashable: the call says why
        return cl(value)


converter.register_structure_hook(Decimal, _structure_decimal)
converter.register_structure_hook(Money, _structure_money)
converter.register_structure_hook(dt.datetime, _structure_datetime)
converter.register_structure_hook(dt.date, _structure_date)
# cattrs dispatches str, int and float by class (functools.singledispatch) before any predicate hook,
# so these hooks are registered by class too; a bool field finds bool's before int's. singledispatch
# follows the MRO, where a StrEnum meets str (an IntEnum int) before Enum: hence their own hook.
converter.register_structure_hook(str, _structure_str)
converter.register_structure_hook(int, _structure_int)
converter.register_structure_hook(bool, _structure_bool)
converter.register_structure_hook(enum.StrEnum, _structure_enum)
converter.register_structure_hook(enum.IntEnum, _structure_enum)
converter.register_unstructure_hook(Decimal, str)
converter.register_unstructure_hook(Money, lambda m: {"amount": str(m.amount), "currency": m.currency})


#: The last datetime :func:`_isoformat` was given (kept alive here, so its identity stays its own) and its text.
_last_isoformat: list[tuple[dt.datetime | None, str]] = [(None, "")]


def _isoformat(value: dt.datetime) -> str:
    """``dt.datetime.isoformat(value)``, remembered for the last value by identity: a customer's
    ``created_at`` and ``updated_at``, and the rows of a batch, are one clock reading (one object)."""
    last = _last_isoformat[0]  # one read: a consistent pair even when threads race
    if last[0] is value:
        return last[1]
    text = dt.datetime.isoformat(value)
    _last_isoformat[0] = (value, text)
    return text


converter.register_unstructure_hook(dt.datetime, _isoformat)
converter.register_unstructure_hook(dt.date, dt.date.isoformat)


# Sets become sorted lists and enums their values, whatever the declared type, so the JSON of equal
# values is byte-for-byte equal (audit diffs, idempotency fingerprints and stored documents rely on it).
def _is_set_type(t: Any) -> bool:
    origin: Any = typing.get_origin(t) or t
    return origin is frozenset or origin is set


converter.register_unstructure_hook_func(
    _is_set_type, lambda s: sorted([x if type(x) is str else converter.unstructure(x) for x in s])
)
converter.register_unstructure_hook(enum.StrEnum, lambda e: e.value)  # before str in the MRO
converter.register_unstructure_hook(enum.Enum, lambda e: e.value)


def _unstructure_optional(t: Any) -> Any:
    """``X | None`` where X unstructures as itself (``str | None``...): cattrs' ``identity``, which its
    generated attrs functions inline (``instance.x``, no call), as its own optional hook returns the
    value then too (``None if v is None else identity(v)``). Other optionals: cattrs' own hook."""
    inner = next(arg for arg in typing.get_args(t) if arg is not type(None))
    if converter.get_unstructure_hook(inner) is identity:
        return identity
    return converter.gen_unstructure_optional(t)


def _is_optional_type(t: Any) -> bool:
    args = typing.get_args(t)
    return typing.get_origin(t) in (typing.Union, types.UnionType) and len(args) == 2 and type(None) in args


converter.register_unstructure_hook_factory(_is_optional_type, _unstructure_optional)


def _path_error(error: BaseException, path: str) -> ValidationError:
    field = path.removeprefix("$").removeprefix(".") or None
    if isinstance(error, ValidationError):
        return ValidationError(error.message, code=error.code, field=field, value=error.value)
    if isinstance(error, cattrs.ForbiddenExtraKeysError):
        keys = sorted(error.extra_fields)
        return ValidationError(
            f"unknown field(s): {', '.join(keys)}", code="unknown_field", field=keys[0] if keys else field
        )
    if isinstance(error, KeyError):
        return ValidationError("this field is required", code="required", field=field)
    if isinstance(error, ValueError | TypeError):
        return ValidationError(str(error), code="invalid_type", field=field)
    return ValidationError(str(error), code="invalid", field=field)


def _flatten(error: BaseException, path: str, out: list[ValidationError]) -> None:
    if isinstance(error, cattrs.ClassValidationError | cattrs.IterableValidationError):
        with_notes, without = error.group_exceptions()
        for exc, note in with_notes:
            name = note.name if isinstance(note, cattrs.AttributeValidationNote) else note.index
            step = f"{path}.{name}" if isinstance(name, str) else f"{path}[{name}]"
            _flatten(exc, step, out)
        for exc in without:
            _flatten(exc, path, out)
    elif isinstance(error, ExceptionGroup):
        for exc in error.exceptions:
            _flatten(exc, path, out)
    else:
        out.append(_path_error(error, path))


def as_validation_error(error: BaseException, prefix: str = "") -> ValidationError:
    """Turn any structuring failure into one ValidationError (with one detail per bad field)."""
    found: list[ValidationError] = []
    _flatten(error, "$" + (f".{prefix}" if prefix else ""), found)
    if len(found) == 1:
        return found[0]
    first = found[0] if found else ValidationError("invalid input")
    return ValidationError(
        f"{len(found)} fields are invalid", code=first.code, field=first.field, value=first.value, details=found
    )


def structure(value: Any, cls: type[T], *, field: str = "") -> T:
    """Structure ``value`` into ``cls`` or raise ValidationError naming the field path."""
    try:
        return converter.structure(value, cls)
    except Exception as error:
        raise as_validation_error(error, field) from None


def structure_as(value: Any, type_: Any, *, field: str) -> Any:
    """Like :func:`structure` for a type expression (``tuple[str, ...]``, ``str | None``)."""
    try:
        return converter.structure(value, type_)
    except Exception as error:
        raise as_validation_error(error, field) from None


def _is_homogeneous_tuple(t: Any) -> bool:
    args = typing.get_args(t)
    return typing.get_origin(t) is tuple and len(args) == 2 and args[1] is Ellipsis


@functools.cache
def _stored_converter() -> cattrs.Converter:
    """A copy of :data:`converter` (built on first use, so it has every hook registered by then) for
    documents the library wrote itself: no detailed validation (no per-field error bookkeeping),
    and the element hook of each ``X | None``, ``tuple[X, ...]`` and ``frozenset[X]`` found once
    per type instead of on every value. The same hooks run on the values, so the result is equal.
    """
    fast = converter.copy(detailed_validation=False)

    def optional(t: Any) -> Any:
        inner = next(arg for arg in typing.get_args(t) if arg is not type(None))
        hook = fast.get_structure_hook(inner)
        return lambda value, _: None if value is None else hook(value, inner)

    def frozen_set(t: Any) -> Any:
        (element,) = typing.get_args(t)
        hook = fast.get_structure_hook(element)
        return lambda value, _: frozenset([hook(e, element) for e in value])

    fast.register_structure_hook_factory(_is_optional_type, optional)
    fast.register_structure_hook_factory(_is_homogeneous_tuple, lambda t: homogenous_tuple_structure_factory(t, fast))
    fast.register_structure_hook_factory(is_frozenset, frozen_set)
    return fast


def load_stored(value: Any, cls: type[T]) -> T:
    """Structure a document the library stored (a customer's JSON column): :func:`structure`'s
    result, a tenth less CPU or so. Anything the fast path refuses (a document edited by hand, an
    old layout) goes through :func:`structure`, so the error is its ValidationError with the path.
    """
    try:
        return _stored_converter().structure(value, cls)
    except Exception:  # whatever failed, the checked path says what and where
        return structure(value, cls)


def unstructure(value: Any) -> Any:
    """The JSON-ready form of an attrs value."""
    return converter.unstructure(value)
