"""Payment terms: when an invoice falls due, and in which instalments (DESIGN.md section 4). Pure.

Due dates are computed with :class:`dateutil.relativedelta.relativedelta` from the invoice date, so
month ends clamp (31 January + 1 month is 28 or 29 February).

>>> d = dt.date(2016, 1, 22)
>>> PaymentTerms.net(30).due_date(d), PaymentTerms.end_of_month_plus(1).due_date(d)
(datetime.date(2016, 2, 21), datetime.date(2016, 2, 29))
>>> plan = PaymentTerms.in_instalments([("30", 15), ("70", 45)]).schedule(d, Money("100.01", "MYR"))
>>> [(str(p.due), str(p.amount)) for p in plan]
[('2016-02-06', '30.00 MYR'), ('2016-03-07', '70.01 MYR')]
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

import attrs
from dateutil.relativedelta import relativedelta

from bigledger_customers.domain import validation as v
from bigledger_customers.errors import ValidationError
from bigledger_customers.money import Money

__all__ = ["BUILT_IN_TERMS", "Instalment", "PaymentTerms", "ScheduledPayment", "TermsKind"]

_HUNDRED: Final = Decimal(100)


class TermsKind(enum.StrEnum):
    """How the due date of an invoice is found."""

    CASH_ON_DELIVERY = "cod"  # due on the invoice date
    PREPAID = "prepaid"  # paid before delivery: due on the invoice date, never on credit
    NET = "net"  # N days after the invoice date
    DAYS_AFTER_MONTH_END = "days_after_month_end"  # N days after the end of the invoice's month
    MONTH_END_PLUS = "month_end_plus"  # the end of the month N months after the invoice's month
    INSTALMENTS = "instalments"  # shares of the amount, each N days after the invoice date


def _share(value: object) -> Decimal:
    if isinstance(value, bool | float) or not isinstance(value, Decimal | int | str):
        raise ValidationError("an instalment share is a percentage (Decimal, int or str)", field="share", value=value)
    try:
        return Decimal(str(value).strip())
    except ArithmeticError:
        raise ValidationError("an instalment share is a number", field="share", value=value) from None


@attrs.frozen
class Instalment:
    """``share`` percent of the invoice, due ``days`` after the invoice date (30% at 15 days)."""

    share: Decimal = attrs.field(converter=_share)
    days: int


@attrs.frozen
class ScheduledPayment:
    """One due date of an invoice and the amount due on it."""

    line: int
    due: dt.date
    amount: Money


def _instalments(value: Iterable[Instalment | tuple[Any, int] | Mapping[str, Any]]) -> tuple[Instalment, ...]:
    result = []
    for item in value:
        if isinstance(item, Instalment):
            result.append(item)
        elif isinstance(item, Mapping):
            result.append(Instalment(item["share"], item["days"]))
        else:
            share, days = item
            result.append(Instalment(share, days))
    return tuple(result)


@attrs.frozen(kw_only=True)
class PaymentTerms:
    """Reference data: a named rule for due dates. Build with the class methods.

    Instalment shares must be positive and add up to exactly 100; days are never negative.
    """

    code: str = ""
    kind: TermsKind
    days: int = 0
    months: int = 0
    instalments: tuple[Instalment, ...] = attrs.field(default=(), converter=_instalments)
    name: str = ""

    def __attrs_post_init__(self) -> None:
        if self.code:
            object.__setattr__(self, "code", v.normalise_code(self.code, field="code").upper())
        if self.days < 0 or self.months < 0 or not 0 <= self.days <= 3660 or self.months > 120:
            raise ValidationError("days and months must be 0-3660 and 0-120", code="invalid_terms", field="days")
        if self.kind is TermsKind.INSTALMENTS:
            if not self.instalments:
                raise ValidationError(
                    "instalment terms need instalments", code="invalid_instalments", field="instalments"
                )
            if any(i.share <= 0 for i in self.instalments):
                raise ValidationError(
                    "every instalment share must be positive", code="invalid_instalments", field="instalments"
                )
            if any(i.days < 0 for i in self.instalments):
                raise ValidationError("instalment days cannot be negative", code="invalid_instalments", field="days")
            total = sum((i.share for i in self.instalments), Decimal(0))
            if total != _HUNDRED:
                raise ValidationError(
                    f"instalment shares add up to {total}%, not 100%",
                    code="instalments_not_100",
                    field="instalments",
                    value=str(total),
                )
        elif self.instalments:
            raise ValidationError("only instalment terms take instalments", code="invalid_terms", field="instalments")

    # -- constructors ------------------------------------------------------------------------------

    @classmethod
    def cash_on_delivery(cls, code: str = "COD") -> PaymentTerms:
        """Due on the invoice date."""
        return cls(code=code, kind=TermsKind.CASH_ON_DELIVERY, name="Cash on delivery")

    @classmethod
    def prepaid(cls, code: str = "PREPAID") -> PaymentTerms:
        """Paid in advance; an invoice under these terms is due at once."""
        return cls(code=code, kind=TermsKind.PREPAID, name="Prepaid")

    @classmethod
    def net(cls, days: int, code: str = "") -> PaymentTerms:
        """Net ``days``: due ``days`` after the invoice date."""
        return cls(code=code or f"NET{days}", kind=TermsKind.NET, days=days, name=f"Net {days} days")

    @classmethod
    def days_after_month_end(cls, days: int, code: str = "") -> PaymentTerms:
        """Due ``days`` after the last day of the invoice's month."""
        return cls(
            code=code or f"EOM{days}", kind=TermsKind.DAYS_AFTER_MONTH_END, days=days, name=f"{days} days after EOM"
        )

    @classmethod
    def end_of_month_plus(cls, months: int, code: str = "") -> PaymentTerms:
        """Due on the last day of the month ``months`` after the invoice's month."""
        return cls(
            code=code or f"EOM_PLUS_{months}M",
            kind=TermsKind.MONTH_END_PLUS,
            months=months,
            name=f"EOM + {months} months",
        )

    @classmethod
    def in_instalments(
        cls, parts: Iterable[Instalment | tuple[Any, int] | Mapping[str, Any]], code: str = "INSTALMENTS"
    ) -> PaymentTerms:
        """Shares due at day offsets: ``[("30", 15), ("70", 45)]`` is 30% at 15 days, 70% at 45 days."""
        return cls(code=code, kind=TermsKind.INSTALMENTS, instalments=_instalments(parts), name="Instalments")

    # -- rules ---------------------------------------------------------------------------------------

    @property
    def is_credit(self) -> bool:
        """False for cash on delivery and prepaid: those never extend credit."""
        return self.kind not in (TermsKind.CASH_ON_DELIVERY, TermsKind.PREPAID)

    def due_date(self, invoice_date: dt.date) -> dt.date:
        """The date the whole invoice is due (the last instalment's date for instalment terms)."""
        if self.kind is TermsKind.NET:
            return invoice_date + relativedelta(days=self.days)
        if self.kind is TermsKind.DAYS_AFTER_MONTH_END:
            return invoice_date + relativedelta(day=31) + relativedelta(days=self.days)
        if self.kind is TermsKind.MONTH_END_PLUS:
            return invoice_date + relativedelta(months=self.months, day=31)
        if self.kind is TermsKind.INSTALMENTS:
            return invoice_date + relativedelta(days=max(i.days for i in self.instalments))
        return invoice_date

    def schedule(self, invoice_date: dt.date, amount: Money) -> tuple[ScheduledPayment, ...]:
        """The due dates and amounts of an invoice; the amounts add up to ``amount`` to the minor unit.

        Instalment amounts are the half-up rounded *cumulative* shares minus the previous ones, so
        every part is within one minor unit of its exact share, none is negative, and the last
        takes the rounding remainder (DESIGN.md, rounding preamble).
        """
        if self.kind is not TermsKind.INSTALMENTS:
            return (ScheduledPayment(1, self.due_date(invoice_date), amount),)
        parts: list[ScheduledPayment] = []
        cumulative, taken = Decimal(0), Money.zero(amount.currency)
        last = len(self.instalments) - 1
        for index, instalment in enumerate(self.instalments):
            cumulative += instalment.share
            upto = amount if index == last else amount.multiply(cumulative / _HUNDRED, rounding=ROUND_HALF_UP)
            parts.append(ScheduledPayment(index + 1, invoice_date + relativedelta(days=instalment.days), upto - taken))
            taken = upto
        return tuple(parts)


#: Terms every book knows without setting them up.
BUILT_IN_TERMS: Final[Mapping[str, PaymentTerms]] = {
    t.code: t for t in (PaymentTerms.cash_on_delivery(), PaymentTerms.prepaid())
}
