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
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from typing import Final

import attrs

from bigledger_customers.errors import ValidationError

__all__ = [
    "DEFAULT_RECEIVABLE_CATEGORY",
    "DeliveryMethod",
    "DeliveryPreference",
    "PaymentMethod",
    "Preferences",
    "TaxProfile",
]

#: The receivable account category of a customer nobody classified (a trade debtor).
DEFAULT_RECEIVABLE_CATEGORY: Final = "trade_debtor"


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


@attrs.frozen(kw_only=True)
class TaxProfile:
    """How the customer is taxed and booked.

    ``category`` is the host's tax category code (``"standard"``, ``"zero_rated"``...). An exempt
    customer needs the exemption ``certificate``; ``valid_from``/``valid_until`` (inclusive) bound
    it. ``receivable_category`` names the receivable account category in the host's chart of
    accounts (``trade_debtor`` by default; ``related_party``, ``staff``... are the host's codes).
    """

    category: str | None = attrs.field(default=None, converter=_text)
    exempt: bool = False
    certificate: str | None = attrs.field(default=None, converter=_text)
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
