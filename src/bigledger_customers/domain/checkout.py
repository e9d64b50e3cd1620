"""Checkout: the payment plan of an order, split into rebate, prepayment, credit and cash (DESIGN.md section 6). Pure.

>>> plan = plan_payment(Money("100", "MYR"), method="credit", rebate_allowed=Money("10", "MYR"),
...                     prepayment_available=Money("30", "MYR"))
>>> [str(x) for x in (plan.rebate, plan.prepayment, plan.credit, plan.cash)]
['10.00 MYR', '30.00 MYR', '60.00 MYR', '0.00 MYR']
"""

from __future__ import annotations

import datetime as dt
import enum

import attrs

from bigledger_customers.domain.credit import CreditDecision, Reason, Severity
from bigledger_customers.errors import ValidationError
from bigledger_customers.money import Money

__all__ = ["Order", "PaymentPlan", "Quote", "Reservation", "ReservationState", "plan_payment"]


def _positive(_: object, attribute: attrs.Attribute[Money], value: Money) -> None:
    if not isinstance(value, Money) or value.amount <= 0:
        raise ValidationError("the order amount must be above zero", code="non_positive_amount", field=attribute.name)


@attrs.frozen(kw_only=True)
class Order:
    """What the till or the sales order asks to pay.

    ``rebate`` is the most rebate the customer wants to use (None = as much as allowed; zero = none);
    ``use_prepayment`` lets a pay-now or credit customer spend prepayment first.
    """

    customer: str
    number: str = attrs.field(validator=attrs.validators.min_len(1))
    amount: Money = attrs.field(validator=_positive)
    rebate: Money | None = None
    use_prepayment: bool = True


@attrs.frozen(kw_only=True)
class PaymentPlan:
    """How an order is paid: the four parts add up to the order amount."""

    rebate: Money
    prepayment: Money
    credit: Money
    cash: Money

    @property
    def total(self) -> Money:
        """The sum of the parts (equals the order amount)."""
        return self.rebate + self.prepayment + self.credit + self.cash


def plan_payment(
    amount: Money,
    *,
    method: str,
    rebate_allowed: Money,
    prepayment_available: Money,
    rebate_wanted: Money | None = None,
    use_prepayment: bool = True,
) -> PaymentPlan:
    """Rebate first (up to what usage rules and grants allow), then prepayment, then credit or cash.

    A prepaid customer pays the rest from prepayment only (the plan may exceed what is available:
    the quote reports it as a reason); a credit customer's rest goes on credit; pay-now pays cash.
    """
    zero = Money.zero(amount.currency)
    rebate = min(rebate_allowed, amount)
    if rebate_wanted is not None:
        rebate = min(rebate, max(rebate_wanted, zero))
    rest = amount - rebate
    if method == "prepaid":
        return PaymentPlan(rebate=rebate, prepayment=rest, credit=zero, cash=zero)
    prepayment = min(prepayment_available, rest) if use_prepayment else zero
    prepayment = max(prepayment, zero)
    rest = rest - prepayment
    if method == "credit":
        return PaymentPlan(rebate=rebate, prepayment=prepayment, credit=rest, cash=zero)
    return PaymentPlan(rebate=rebate, prepayment=prepayment, credit=zero, cash=rest)


@attrs.frozen(kw_only=True)
class Quote:
    """The read-only answer for an order: who, how they settle, what is available, the plan, every reason."""

    order: Order
    customer_id: str
    customer_status: str
    settlement_method: str
    rebate_allowed: Money
    rebate_available: Money
    prepayment_available: Money
    credit: CreditDecision | None
    plan: PaymentPlan
    reasons: tuple[Reason, ...] = ()
    quoted_at: dt.datetime

    @property
    def ok(self) -> bool:
        """True when nothing blocks the plan."""
        return not any(r.severity is Severity.BLOCK for r in self.reasons)


class ReservationState(enum.StrEnum):
    """A reservation holds until confirmed, rejected or expired."""

    HELD = "held"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


@attrs.frozen(kw_only=True)
class Reservation:
    """What ``reserve`` holds for one order: the accounts hold (rebate + prepayment) and the credit hold."""

    id: str
    key: str
    customer_id: str
    order: str
    plan: PaymentPlan
    account_hold_id: str | None = None
    credit_hold_id: str | None = None
    expires_at: dt.datetime
    state: ReservationState = ReservationState.HELD
