"""Tax, accounting and preference settings of a customer (issue 8). Pure values and rules.

They are fields of :class:`~bigledger_customers.domain.customer.Customer` (``tax`` and
``preferences``), set on create and update like any profile field, stored in the customer's JSON
document and shown to host modules: invoicing reads the tax category and exemption, the general
ledger the receivable account category, order entry the payment and delivery preferences.

>>> tax = TaxProfile(category="standard", exempt=True, certificate="EX-2026-0042",
...                  valid_from=dt.date(2026, 1, 1), valid_until=dt.date(2026, 12, 31))
>>> tax.is_exempt_on(dt.date(2026, 6, 1)), tax.is_exempt_on(dt.date(2027, 1, 1))
(True, False)
>>> Preferences(payment_methods=("bank_transfer", "cheque")).preferred_payment_method
<PaymentMethod.BANK_TRANSFER: 'bank_transfer'>

Bank details (``bank_accounts``) are sensitive: readers without ``customer.view_sensitive`` see
the account number and IBAN masked, in query results, exports and the audit trail.

>>> account = BankAccount(bank="Maybank", account_number="5140 1234 5678", holder="ABC Trading")
>>> account.account_number, account.masked().account_number
('514012345678', '****5678')
"""

from __future__ import annotations

import copy
import datetime as dt
import enum
from collections.abc import Iterable
from typing import Any, Final

import attrs

from bigledger_customers.errors import ValidationError
from bigledger_customers.money import validate_currency

__all__ = [
    "DEFAULT_RECEIVABLE_CATEGORY",
    "BankAccount",
    "DeliveryMethod",
    "DeliveryPreference",
    "PaymentMethod",
    "Preferences",
    "TaxProfile",
]

#: The receivable account category of a customer nobody classified (a trade debtor).
DEFAULT_RECEIVABLE_CATEGORY: Final = "trade_debtor"


def _as_text(value: Any, field: str) -> str:
    """``value`` when it is text; anything else is refused, not coerced (``5`` is no account number)."""
    if not isinstance(value, str):
        raise ValidationError("expected text", code="invalid_type", field=field, value=value)
    return value


def _optional_text(value: str | None, field: str) -> str | None:
    """An optional text field: stripped, empty as None."""
    return None if value is None else _as_text(value, field).strip() or None


def _tax_category(value: str | None) -> str | None:
    return _optional_text(value, "tax.category")


def _tax_certificate(value: str | None) -> str | None:
    return _optional_text(value, "tax.certificate")


@attrs.frozen(kw_only=True)
class TaxProfile:
    """How the customer is taxed and booked.

    ``category`` is the host's tax category code (``"standard"``, ``"zero_rated"``...). An exempt
    customer needs the exemption ``certificate``; ``valid_from``/``valid_until`` (inclusive) bound
    it. ``receivable_category`` names the receivable account category in the host's chart of
    accounts (``trade_debtor`` by default; ``related_party``, ``staff``... are the host's codes).
    """

    category: str | None = attrs.field(default=None, converter=_tax_category)
    exempt: bool = False
    certificate: str | None = attrs.field(default=None, converter=_tax_certificate)
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    receivable_category: str = attrs.field(default=DEFAULT_RECEIVABLE_CATEGORY)

    def __attrs_post_init__(self) -> None:
        if self.exempt and self.certificate is None:
            raise ValidationError(
                "a tax-exempt customer needs an exemption certificate number",
                code="certificate_required",
                field="tax.certificate",
            )
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValidationError(
                "the exemption ends before it starts",
                code="invalid_validity",
                field="tax.valid_until",
                value=self.valid_until.isoformat(),
            )
        if not self.receivable_category.strip():
            raise ValidationError(
                "give a receivable account category", code="required", field="tax.receivable_category"
            )

    def is_exempt_on(self, day: dt.date) -> bool:
        """True when the customer is exempt and the certificate is valid on ``day``."""
        if not self.exempt:
            return False
        if self.valid_from is not None and day < self.valid_from:
            return False
        return self.valid_until is None or day <= self.valid_until


class PaymentMethod(enum.StrEnum):
    """How the customer prefers to pay."""

    CASH = "cash"
    CARD = "card"
    BANK_TRANSFER = "bank_transfer"
    CHEQUE = "cheque"


class DeliveryMethod(enum.StrEnum):
    """How goods reach the customer."""

    DELIVERY = "delivery"
    COURIER = "courier"
    PICKUP = "pickup"


@attrs.frozen(kw_only=True)
class DeliveryPreference:
    """Delivery wishes logistics reads: the method, instructions, and whether partial shipments are fine."""

    method: DeliveryMethod = DeliveryMethod.DELIVERY
    instructions: str = attrs.field(default="", validator=attrs.validators.max_len(500))
    partial_allowed: bool = True


def _methods(values: Iterable[PaymentMethod | str]) -> tuple[PaymentMethod, ...]:
    return tuple(dict.fromkeys(PaymentMethod(v) for v in values))


@attrs.frozen(kw_only=True)
class Preferences:
    """Payment methods in order of preference (first is preferred) and the delivery preference."""

    payment_methods: tuple[PaymentMethod, ...] = attrs.field(default=(), converter=_methods)
    delivery: DeliveryPreference | None = None

    @property
    def preferred_payment_method(self) -> PaymentMethod | None:
        """The first payment method, if any."""
        return self.payment_methods[0] if self.payment_methods else None


#: What replaces the hidden part of a masked account number (``domain.access.MASK``).
_MASK: Final = "****"
_SEPARATORS: Final = str.maketrans("", "", " -.")


def _account_number(value: str) -> str:
    cleaned = _as_text(value, "bank_accounts.account_number").translate(_SEPARATORS).upper()
    if not cleaned.isalnum() or not 4 <= len(cleaned) <= 34:
        raise ValidationError(
            "an account number is 4-34 letters and digits (spaces and dashes are ignored)",
            code="invalid_account_number",
            field="bank_accounts.account_number",
        )
    return cleaned


def _iban(value: str | None) -> str | None:
    if value is None or not _as_text(value, "bank_accounts.iban").strip():
        return None
    iban = value.translate(_SEPARATORS).upper()
    valid = iban.isascii() and iban.isalnum() and 15 <= len(iban) <= 34 and iban[:2].isalpha() and iban[2:4].isdigit()
    # ISO 13616: move the first four characters to the end, letters to numbers (A=10), mod 97 is 1.
    if not valid or int("".join(str(int(ch, 36)) for ch in iban[4:] + iban[:4])) % 97 != 1:
        raise ValidationError("not a valid IBAN", code="invalid_iban", field="bank_accounts.iban")
    return iban


def _swift(value: str | None) -> str | None:
    if value is None or not _as_text(value, "bank_accounts.swift").strip():
        return None
    code = value.strip().upper()
    if len(code) not in (8, 11) or not code.isascii() or not code.isalnum() or not code[:4].isalpha():
        raise ValidationError(
            "a SWIFT/BIC code is 8 or 11 characters", code="invalid_swift", field="bank_accounts.swift"
        )
    return code


def _currency(value: str | None) -> str | None:
    return None if value is None else validate_currency(value)


def _strip(value: str) -> str:
    return _as_text(value, "bank_accounts.holder").strip()


def _required(value: str) -> str:
    text = _as_text(value, "bank_accounts.bank").strip()
    if not text:
        raise ValidationError("give the bank's name or code", code="required", field="bank_accounts.bank")
    return text


@attrs.frozen(kw_only=True)
class BankAccount:
    """A bank account of the customer (refunds, direct debits, matching incoming transfers).

    ``account_number`` and ``iban`` are stored without spaces or dashes, upper case; an IBAN must
    pass its ISO 13616 check digits. Both are sensitive (:meth:`masked`); the bank, holder and
    SWIFT/BIC code are not.
    """

    bank: str = attrs.field(converter=_required)
    account_number: str = attrs.field(converter=_account_number)
    holder: str = attrs.field(default="", converter=_strip)
    iban: str | None = attrs.field(default=None, converter=_iban)
    swift: str | None = attrs.field(default=None, converter=_swift)
    currency: str | None = attrs.field(default=None, converter=_currency)
    primary: bool = False

    def masked(self) -> BankAccount:
        """The account with the number and IBAN hidden but their last four characters.

        A masked account is for showing only: it bypasses the converters (a mask is no account
        number), and ``domain.access.refuse_masked`` refuses it as input.
        """
        shown = copy.copy(self)
        object.__setattr__(shown, "account_number", _hide(self.account_number))
        object.__setattr__(shown, "iban", _hide(self.iban))
        return shown


def _hide(value: str | None) -> Any:
    if value is None:
        return None
    return _MASK + value[-4:] if len(value) > 8 else _MASK
