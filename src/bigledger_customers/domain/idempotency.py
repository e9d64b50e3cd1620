"""Idempotency keys (DESIGN.md section 5): fingerprints of requests and their stored first outcome. Pure.

The first outcome of a key, a success or a business refusal, is stored in the same transaction as
the effect and replayed; the same key with different arguments is :class:`Conflict`
``idempotency_key_reused``; transient failures are not stored, so a retry can succeed.

>>> fp = fingerprint("accounts.top_up", {"customer": "CUS-1", "amount": Money("100.0", "CNY")})
>>> fp == fingerprint("accounts.top_up", {"amount": Money("100.00", "CNY"), "customer": "CUS-1"})
True
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

import attrs

from bigledger_customers.errors import (
    BigLedgerError,
    ConcurrencyError,
    Conflict,
    InsufficientFunds,
    NotAllowed,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from bigledger_customers.money import Money

__all__ = ["IdempotencyRecord", "Outcome", "check_key", "fingerprint", "is_stored_refusal", "normalise", "replay"]

_ERRORS: Final[dict[str, type[BigLedgerError]]] = {
    cls.__name__: cls
    for cls in (BigLedgerError, ValidationError, NotFound, Conflict, NotAllowed, InsufficientFunds, PermissionDenied)
}

MAX_KEY_LENGTH: Final = 200


def check_key(key: object) -> str:
    """The key, stripped; :class:`ValidationError` unless it is 1-200 characters of text."""
    if not isinstance(key, str) or not key.strip() or len(key.strip()) > MAX_KEY_LENGTH:
        raise ValidationError(
            "an idempotency key is 1-200 characters of text", code="invalid_idempotency_key", field="key", value=key
        )
    return key.strip()


def _decimal_text(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def normalise(value: Any) -> Any:
    """A JSON-ready form in which equal arguments are equal (``10.5`` and ``10.50`` alike, keys sorted)."""
    if isinstance(value, Money):
        return {"amount": _decimal_text(value.amount), "currency": value.currency}
    if isinstance(value, enum.Enum):
        return normalise(value.value)
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        return _decimal_text(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, dt.date | dt.timedelta):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): normalise(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, set | frozenset):
        return sorted((normalise(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, list | tuple):
        return [normalise(v) for v in value]
    if attrs.has(type(value)):
        return normalise(attrs.asdict(value, recurse=False))
    raise TypeError(f"cannot fingerprint a {type(value).__name__}")


def fingerprint(command: str, arguments: Mapping[str, Any]) -> str:
    """A stable hash (SHA-256 hex) of the command name and its normalised arguments."""
    text = json.dumps({"command": command, "arguments": normalise(arguments)}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@attrs.frozen(kw_only=True)
class Outcome:
    """The first outcome of a key: a JSON-ready result, or a business refusal to raise again."""

    ok: bool
    result: Any = None
    error: str | None = None
    code: str | None = None
    message: str | None = None
    field: str | None = None

    @classmethod
    def success(cls, result: Any) -> Outcome:
        """A success with its (JSON-ready) result."""
        return cls(ok=True, result=result)

    @classmethod
    def refusal(cls, error: BigLedgerError) -> Outcome:
        """A business refusal, stored to be raised again on replay."""
        name = next((c.__name__ for c in type(error).__mro__ if c.__name__ in _ERRORS), "BigLedgerError")
        return cls(ok=False, error=name, code=error.code, message=error.message, field=error.field)

    def to_error(self) -> BigLedgerError:
        """The stored refusal as an error of its original class."""
        cls = _ERRORS.get(self.error or "", BigLedgerError)
        return cls(self.message or "refused", code=self.code, field=self.field)

    def unwrap(self) -> Any:
        """The result, or raise the stored refusal."""
        if not self.ok:
            raise self.to_error()
        return self.result


def is_stored_refusal(error: BaseException) -> bool:
    """True for business refusals (stored and replayed); transient ones (stale version) are not."""
    return isinstance(error, BigLedgerError) and not isinstance(error, ConcurrencyError)


@attrs.frozen(kw_only=True)
class IdempotencyRecord:
    """One claimed key: which command with which fingerprint, and its first outcome.

    ``outcome`` is None only inside the transaction that claimed the key.
    """

    key: str
    command: str
    fingerprint: str
    created_at: dt.datetime
    outcome: Outcome | None = None


def replay(record: IdempotencyRecord | None, command: str, fingerprint: str) -> Outcome | None:
    """The stored outcome to replay, None for a new key; :class:`Conflict` for a key reused differently."""
    if record is None:
        return None
    if record.command != command or record.fingerprint != fingerprint:
        raise Conflict(
            f"idempotency key {record.key!r} was used for a different request",
            code="idempotency_key_reused",
            field="key",
            value=record.key,
        )
    if record.outcome is None:
        raise Conflict(f"idempotency key {record.key!r} is in use", code="idempotency_key_in_use", field="key")
    return record.outcome
