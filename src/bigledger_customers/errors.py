"""One error hierarchy for the whole library.

Every error has a stable machine-readable ``code`` (safe to match on; never reworded), a human
``message``, and where it applies the ``field`` and ``value`` at fault. Subclasses are by meaning,
not by module, so a host catches :class:`NotFound` whether a customer or a category is missing.

>>> try:
...     raise ValidationError("too short", code="invalid_code", field="code", value="AB")
... except BigLedgerError as error:
...     (error.code, error.field, error.value)
('invalid_code', 'code', 'AB')
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

__all__ = [
    "BigLedgerError",
    "ConcurrencyError",
    "Conflict",
    "ImportReport",
    "InsufficientFunds",
    "NotAllowed",
    "NotFound",
    "PermissionDenied",
    "RowApproval",
    "RowError",
    "ValidationError",
]


class BigLedgerError(Exception):
    """Base of every error the library raises on purpose."""

    default_code = "error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        value: object = None,
        details: Sequence[BigLedgerError] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.field = field
        self.value = value
        #: For an error that stands for several (a form with three bad fields): each of them.
        self.details = tuple(details)

    def __str__(self) -> str:
        where = f" (field: {self.field})" if self.field else ""
        return f"{self.message} [{self.code}]{where}"

    def __reduce__(self) -> tuple[object, ...]:  # pragma: no cover - pickling across processes
        return (_rebuild, (type(self), self.message, self.code, self.field, self.value, self.details))

    def to_dict(self) -> dict[str, object]:
        """A JSON-friendly description (the CLI and bulk reports print this)."""
        result: dict[str, object] = {"code": self.code, "message": self.message}
        if self.field is not None:
            result["field"] = self.field
        if self.value is not None:
            result["value"] = repr(self.value) if not isinstance(self.value, str | int) else self.value
        if self.details:
            result["details"] = [d.to_dict() for d in self.details]
        return result


def _rebuild(
    cls: type[BigLedgerError],
    message: str,
    code: str,
    field: str | None,
    value: object,
    details: Sequence[BigLedgerError],
) -> BigLedgerError:
    return cls(message, code=code, field=field, value=value, details=details)


class ValidationError(BigLedgerError, ValueError):
    """Input is malformed or breaks a rule (bad code, 51st contact, unknown category, float amount)."""

    default_code = "invalid"


class NotFound(BigLedgerError, LookupError):
    """The customer, reference entry or record named does not exist."""

    default_code = "not_found"


class Conflict(BigLedgerError):
    """The change collides with existing data (a duplicate code, an idempotency key reused differently)."""

    default_code = "conflict"


class ConcurrencyError(Conflict):
    """Saving a stale version: someone else changed the record since it was read. Reload and retry."""

    default_code = "stale_version"


class NotAllowed(BigLedgerError):
    """The record's state forbids the command (editing a voided customer, deleting one with history)."""

    default_code = "not_allowed"


class InsufficientFunds(NotAllowed):
    """A balance, grant or credit limit does not cover the amount asked for."""

    default_code = "insufficient_funds"


class PermissionDenied(NotAllowed):
    """The acting principal lacks the permission the command needs."""

    default_code = "permission_denied"


@attrs.frozen
class RowError:
    """One bad row of a bulk operation: where (row number, field), what (code, message)."""

    row: int
    field: str | None
    code: str
    message: str
    value: object = None

    @classmethod
    def from_error(cls, row: int, error: BigLedgerError) -> list[RowError]:
        """One entry per fault: a multi-field error becomes one entry per field."""
        errors = error.details or (error,)
        return [cls(row, e.field, e.code, e.message, e.value) for e in errors]


@attrs.frozen
class RowApproval:
    """A governed field of an imported row that waits in an approval request instead of changing."""

    row: int
    field: str
    approval_id: str


@attrs.frozen
class ImportReport:
    """Outcome of a bulk operation: how many rows were stored and every row that was not.

    ``approvals`` lists the governed changes (credit limit, settlement method) that became
    approval requests instead of being applied.
    """

    rows_ok: int
    errors: tuple[RowError, ...] = ()
    rows_seen: int = 0
    approvals: tuple[RowApproval, ...] = ()

    @property
    def ok(self) -> bool:
        """True when no row failed."""
        return not self.errors
