"""Aging, days sales outstanding, payment behaviour and dunning (DESIGN.md section 4). Pure.

>>> item = OpenItem(id="i1", customer_id="c1", kind=ItemKind.INVOICE, document="INV-1",
...                 document_kind=DocumentKind.INVOICE, issued=dt.date(2026, 1, 1), due=dt.date(2026, 1, 31),
...                 amount=Money("100", "MYR"), open=Money("100", "MYR"))
>>> DEFAULT_BUCKETS.bucket_for(item.days_overdue(dt.date(2026, 3, 7)))
'31-60'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

import attrs

from bigledger_customers.domain.credit import DocumentKind, ItemKind, OpenItem
from bigledger_customers.errors import ValidationError
from bigledger_customers.money import Money

__all__ = [
    "DEFAULT_BUCKETS",
    "DEFAULT_DUNNING",
    "AgingBuckets",
    "AgingReport",
    "AgingRow",
    "DunningLevel",
    "DunningPolicy",
    "DunningStatus",
    "PaymentBehaviour",
    "aging_report",
    "days_sales_outstanding",
    "dunning_status",
    "payment_behaviour",
]

CURRENT: Final = "current"


def _bounds(value: Iterable[int]) -> tuple[int, ...]:
    return tuple(value)


@attrs.frozen
class AgingBuckets:
    """Bucket upper bounds in days past due: ``(30, 60, 90, 120)`` gives current, 1-30, 31-60,
    61-90, 91-120 and over 120. Bounds are positive and strictly increasing."""

    bounds: tuple[int, ...] = attrs.field(converter=_bounds)

    def __attrs_post_init__(self) -> None:
        if not self.bounds or any(b <= 0 for b in self.bounds) or list(self.bounds) != sorted(set(self.bounds)):
            raise ValidationError(
                "aging bounds are positive and strictly increasing", code="invalid_buckets", field="bounds"
            )

    @property
    def names(self) -> tuple[str, ...]:
        """Bucket names, oldest last: ``current``, ``1-30``..., ``over 120``."""
        names = [CURRENT]
        low = 1
        for bound in self.bounds:
            names.append(f"{low}-{bound}")
            low = bound + 1
        names.append(f"over {self.bounds[-1]}")
        return tuple(names)

    def bucket_for(self, days_overdue: int) -> str:
        """The bucket of an item ``days_overdue`` days past due (0 = not yet due = current)."""
        names = self.names
        if days_overdue <= 0:
            return names[0]
        for index, bound in enumerate(self.bounds):
            if days_overdue <= bound:
                return names[index + 1]
        return names[-1]


DEFAULT_BUCKETS: Final = AgingBuckets((30, 60, 90, 120))


@attrs.frozen(kw_only=True)
class AgingRow:
    """Open receivables of one customer (or the total) by bucket, in one currency."""

    customer_id: str | None
    currency: str
    buckets: Mapping[str, Money]
    unapplied: Money

    @property
    def total(self) -> Money:
        """Sum of the buckets: the open invoice amounts."""
        result = Money.zero(self.currency)
        for amount in self.buckets.values():
            result = result + amount
        return result

    @property
    def net(self) -> Money:
        """What the customer owes after unapplied payments and credit notes."""
        return self.total - self.unapplied


@attrs.frozen(kw_only=True)
class AgingReport:
    """Aging as of a date: one row per customer and currency, and a total per currency."""

    as_of: dt.date
    bucket_names: tuple[str, ...]
    rows: tuple[AgingRow, ...]
    totals: tuple[AgingRow, ...]


def aging_report(items: Iterable[OpenItem], as_of: dt.date, buckets: AgingBuckets = DEFAULT_BUCKETS) -> AgingReport:
    """Open items by days past due as of ``as_of``; the buckets add up to the open invoice amounts."""
    names = buckets.names
    per: dict[tuple[str, str], dict[str, Money]] = {}
    unapplied: dict[tuple[str, str], Money] = {}
    for item in items:
        if item.open.is_zero() or item.issued > as_of:
            continue
        key = (item.customer_id, item.currency)
        amounts = per.setdefault(key, {n: Money.zero(item.currency) for n in names})
        unapplied.setdefault(key, Money.zero(item.currency))
        if item.kind is ItemKind.UNAPPLIED:
            unapplied[key] = unapplied[key] + item.open
        else:
            name = buckets.bucket_for(item.days_overdue(as_of))
            amounts[name] = amounts[name] + item.open
    rows = tuple(
        AgingRow(customer_id=c, currency=cur, buckets=per[(c, cur)], unapplied=unapplied[(c, cur)])
        for c, cur in sorted(per)
    )
    totals: dict[str, AgingRow] = {}
    row: AgingRow
    for row in rows:
        have = totals.get(row.currency)
        if have is None:
            totals[row.currency] = attrs.evolve(row, customer_id=None)
        else:
            totals[row.currency] = AgingRow(
                customer_id=None,
                currency=row.currency,
                buckets={n: have.buckets[n] + row.buckets[n] for n in names},
                unapplied=have.unapplied + row.unapplied,
            )
    return AgingReport(as_of=as_of, bucket_names=names, rows=rows, totals=tuple(totals[c] for c in sorted(totals)))


def days_sales_outstanding(open_receivables: Money, credit_sales: Money, *, period_days: int = 90) -> Decimal | None:
    """DSO = open receivables / credit sales of the last ``period_days`` x ``period_days``, to 0.1 day.

    None when there were no credit sales in the period (DSO is undefined then).
    """
    if credit_sales.amount <= 0:
        return None
    value = open_receivables.amount / credit_sales.amount * period_days
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@attrs.frozen(kw_only=True)
class PaymentBehaviour:
    """How a customer paid its settled invoice lines: average days late, share paid late."""

    paid_items: int
    paid_late: int
    average_days_late: Decimal
    share_paid_late: Decimal


def payment_behaviour(items: Iterable[OpenItem]) -> PaymentBehaviour:
    """Over invoice lines fully settled: days late = settlement date - due date (0 when on time).

    Averages are to 0.1 day and shares to 0.0001, half up.
    """
    late_days: list[int] = []
    for item in items:
        if item.kind is ItemKind.INVOICE and item.open.is_zero() and item.closed_on is not None:
            late_days.append(max((item.closed_on - item.due).days, 0))
    if not late_days:
        return PaymentBehaviour(
            paid_items=0, paid_late=0, average_days_late=Decimal("0.0"), share_paid_late=Decimal("0.0000")
        )
    late = sum(1 for d in late_days if d > 0)
    return PaymentBehaviour(
        paid_items=len(late_days),
        paid_late=late,
        average_days_late=(Decimal(sum(late_days)) / len(late_days)).quantize(Decimal("0.1"), ROUND_HALF_UP),
        share_paid_late=(Decimal(late) / len(late_days)).quantize(Decimal("0.0001"), ROUND_HALF_UP),
    )


@attrs.frozen
class DunningLevel:
    """A collections step reached ``days`` past due; ``stop_supply`` makes the credit decision block."""

    name: str
    days: int = attrs.field(validator=attrs.validators.ge(1))
    action: str = ""
    stop_supply: bool = False


def _levels(value: Iterable[DunningLevel]) -> tuple[DunningLevel, ...]:
    return tuple(value)


@attrs.frozen
class DunningPolicy:
    """Dunning levels by days overdue, ascending (reminder at 1, warning at 15, stop supply at 45)."""

    levels: tuple[DunningLevel, ...] = attrs.field(converter=_levels)

    def __attrs_post_init__(self) -> None:
        days = [level.days for level in self.levels]
        if days != sorted(set(days)):
            raise ValidationError("dunning levels need strictly increasing days", code="invalid_dunning")

    def level_for(self, days_overdue: int) -> DunningLevel | None:
        """The highest level reached at ``days_overdue`` days past due, or None."""
        reached = [level for level in self.levels if days_overdue >= level.days]
        return reached[-1] if reached else None

    def next_after(self, level: DunningLevel | None) -> DunningLevel | None:
        """The level after ``level`` (the first level for None)."""
        if level is None:
            return self.levels[0] if self.levels else None
        index = self.levels.index(level)
        return self.levels[index + 1] if index + 1 < len(self.levels) else None


DEFAULT_DUNNING: Final = DunningPolicy(
    (
        DunningLevel("reminder", 1, "send a payment reminder"),
        DunningLevel("warning", 15, "send a formal warning"),
        DunningLevel("stop_supply", 45, "stop supply until paid", stop_supply=True),
    )
)


@attrs.frozen(kw_only=True)
class DunningStatus:
    """Where a customer stands in collections as of a date, and what to do next."""

    customer_id: str
    as_of: dt.date
    oldest_overdue_days: int
    overdue: Mapping[str, Money]
    level: DunningLevel | None
    next_level: DunningLevel | None
    next_level_on: dt.date | None

    @property
    def next_action(self) -> str | None:
        """The action of the level reached now (None when nothing is overdue)."""
        return self.level.action if self.level else None

    @property
    def stop_supply(self) -> bool:
        """True when the level reached stops supply."""
        return bool(self.level and self.level.stop_supply)


def dunning_status(
    customer_id: str, items: Sequence[OpenItem], as_of: dt.date, policy: DunningPolicy = DEFAULT_DUNNING
) -> DunningStatus:
    """The dunning level from the oldest overdue invoice line, and when the next level is reached."""
    overdue: dict[str, Money] = {}
    oldest_due: dt.date | None = None
    for item in items:
        if item.kind is not ItemKind.INVOICE or item.open.is_zero() or item.due >= as_of:
            continue
        overdue[item.currency] = overdue.get(item.currency, Money.zero(item.currency)) + item.open
        oldest_due = item.due if oldest_due is None else min(oldest_due, item.due)
    days = (as_of - oldest_due).days if oldest_due else 0
    level = policy.level_for(days)
    nxt = policy.next_after(level)
    next_on: dt.date | None = None
    if nxt is not None:
        base = oldest_due if oldest_due is not None else None
        next_on = base + dt.timedelta(days=nxt.days) if base is not None else None
    return DunningStatus(
        customer_id=customer_id,
        as_of=as_of,
        oldest_overdue_days=days,
        overdue=overdue,
        level=level,
        next_level=nxt,
        next_level_on=next_on,
    )


def is_invoice(item: OpenItem) -> bool:
    """True for invoice lines (not unapplied credit)."""
    return item.kind is ItemKind.INVOICE and item.document_kind is DocumentKind.INVOICE
