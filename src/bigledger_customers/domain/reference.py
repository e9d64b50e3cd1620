"""Reference data customers are validated against, custom field definitions and numbering schemes."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

import attrs

from bigledger_customers.domain import validation as v
from bigledger_customers.domain.convert import structure_as
from bigledger_customers.errors import ValidationError

__all__ = [
    "MAX_CUSTOM_FIELDS",
    "CustomFieldDefinition",
    "FieldType",
    "NumberingScheme",
    "ReferenceEntry",
    "ReferenceKind",
]

MAX_CUSTOM_FIELDS: Final = 30


class ReferenceKind(enum.StrEnum):
    """Kinds of reference data (DESIGN.md section 3: set up first, then validated against)."""

    CATEGORY = "category"
    LEVEL = "level"
    REGION = "region"
    SALES_REP = "sales_rep"
    BRANCH = "branch"
    INDUSTRY = "industry"


@attrs.frozen(kw_only=True)
class ReferenceEntry:
    """One entry: a category, a level, a region... Codes follow the customer-code rules."""

    kind: ReferenceKind
    code: str
    name: str
    active: bool = True
    attributes: Mapping[str, str] = attrs.field(factory=dict)
    version: int = 0

    @classmethod
    def new(
        cls, kind: str, code: str, *, name: str = "", attributes: Mapping[str, str] | None = None
    ) -> ReferenceEntry:
        """Validate and build an entry (the name defaults to the code)."""
        kind_ = structure_as(kind, ReferenceKind, field="kind")
        clean = v.normalise_code(code, field="code")
        return cls(kind=kind_, code=clean, name=(name or clean).strip(), attributes=dict(attributes or {}))


class FieldType(enum.StrEnum):
    """Types a custom field can hold."""

    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATE = "date"
    BOOLEAN = "boolean"
    CHOICE = "choice"


_PYTHON_TYPES: Final[Mapping[FieldType, Any]] = {
    FieldType.TEXT: str,
    FieldType.INTEGER: int,
    FieldType.DECIMAL: Decimal,
    FieldType.DATE: dt.date,
    FieldType.BOOLEAN: bool,
    FieldType.CHOICE: str,
}
#: A CSV cell is text: an integer custom value may come as its digits, a boolean one as "true" or "false"
#: (as :func:`~bigledger_customers.services.bulk.flatten` writes it). Structuring then takes int and bool only.
_BOOLEAN_TEXT: Final = {"true": True, "false": False}


@attrs.frozen(kw_only=True)
class CustomFieldDefinition:
    """A host-defined customer field: name, type, whether required, and the choices of a choice field.

    >>> d = CustomFieldDefinition.new("tier", "choice", choices=["gold", "silver"])
    >>> d.clean("gold")
    'gold'
    """

    name: str
    type: FieldType
    label: str = ""
    required: bool = False
    choices: tuple[str, ...] = ()

    @classmethod
    def new(
        cls, name: str, type: str, *, label: str = "", required: bool = False, choices: tuple[str, ...] | list[str] = ()
    ) -> CustomFieldDefinition:
        """Validate and build a definition."""
        if not isinstance(name, str) or not name.isidentifier() or len(name) > 50:
            raise ValidationError("field name must be an identifier of at most 50 characters", field="name", value=name)
        type_ = structure_as(type, FieldType, field="type")
        choices_ = tuple(choices)
        if (type_ is FieldType.CHOICE) != bool(choices_):
            raise ValidationError(
                "a choice field needs choices, other types take none", field="choices", value=choices_
            )
        return cls(name=name, type=type_, label=label or name, required=required, choices=choices_)

    def clean(self, value: Any) -> Any:
        """Structure and check one value against this definition; None clears it."""
        field = f"custom_values.{self.name}"
        if value is None:
            return None
        if isinstance(value, str) and self.type is FieldType.INTEGER and value.strip().removeprefix("-").isdecimal():
            value = int(value)
        elif isinstance(value, str) and self.type is FieldType.BOOLEAN:
            value = _BOOLEAN_TEXT.get(value.strip().lower(), value)
        result = structure_as(value, _PYTHON_TYPES[self.type], field=field)
        if self.type is FieldType.CHOICE and result not in self.choices:
            raise ValidationError(
                f"must be one of {', '.join(self.choices)}", code="invalid_choice", field=field, value=value
            )
        return result


@attrs.frozen(kw_only=True)
class NumberingScheme:
    """How generated codes look: ``prefix`` + zero-padded sequence (CUS-000001).

    >>> NumberingScheme(prefix="CUS-", width=6).format(42)
    'CUS-000042'
    """

    name: str = "customer"
    prefix: str = "CUS-"
    width: int = attrs.field(default=6, validator=attrs.validators.in_(range(1, 19)))

    def format(self, number: int) -> str:
        """The code for sequence ``number``."""
        return v.normalise_code(f"{self.prefix}{number:0{self.width}d}")
