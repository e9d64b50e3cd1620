"""Credit: profiles, receivables, exposure and the credit decision (DESIGN.md section 4). Pure.

The credit profile is the one owner of a customer's credit limit. Exposure is what the customer
owes (open receivables less unapplied credit) plus credit held by unconfirmed checkouts plus the
new order; the decision compares it with the limit and collects every reason as data.

>>> profile = CreditProfile(customer_id="c1", currency="MYR", limit=Money("10000", "MYR"))
>>> exposure = Exposure.of(open_items=Money("7000", "MYR"), held=Money("2000", "MYR"), new_order=Money("1500", "MYR"))
>>> decision = decide(profile, exposure, facts=CreditFacts(customer_status="active"), as_of=dt.date(2026, 1, 1))
>>> decision.outcome, [r.message for r in decision.reasons]
(<CreditOutcome.BLOCK: 'block'>, ['over limit by 500.00'])
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

import attrs
from dateutil.relativedelta import relativedelta

from bigledger_customers.errors import ValidationError
from bigledger_customers.money import Money, validate_currency

__all__ = [
    "Allocation",
    "CreditDecision",
    "CreditFacts",
    "CreditHold",
    "CreditOutcome",
    "CreditPolicy",
    "CreditProfile",
    "DocumentKind",
    "Exposure",
    "HoldState",
    "ItemKind",
    "OpenItem",
    "PostedDocument",
    "Reason",
    "ReceivableRecord",
    "Severity",
    "allocate",
    "decide",
    "override",
]


class CreditPolicy(enum.StrEnum):
    """What an over-limit (or overdue) customer gets: a block, or only a warning."""

    BLOCK = "block"
    WARN = "warn"


class CreditOutcome(enum.StrEnum):
    """The answer of a credit check."""

    ALLOW = "allow"
    WARN = "warn"
    BLOCK = "block"


class Severity(enum.StrEnum):
    """How much a reason weighs: a warning never blocks; a block reason does (unless overridden)."""

    INFO = "info"
    WARN = "warn"
    BLOCK = "block"


class DocumentKind(enum.StrEnum):
    """Documents the host posts to receivables."""

    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    PAYMENT = "payment"


class ItemKind(enum.StrEnum):
    """An open item: an invoice line the customer owes, or a credit (payment, credit note) not yet applied."""

    INVOICE = "invoice"
    UNAPPLIED = "unapplied"


class HoldState(enum.StrEnum):
    """A credit hold is open until settled (turned into a receivable), released or expired."""

    OPEN = "open"
    SETTLED = "settled"
    RELEASED = "released"
    EXPIRED = "expired"


def _non_negative(field: str) -> Any:
    def check(_: Any, __: Any, value: Money | None) -> None:
        if value is not None and value.is_negative():
            raise ValidationError(
                f"{field} cannot be negative", code=f"negative_{field}", field=field, value=str(value)
            )

    return check


@attrs.frozen(kw_only=True)
class CreditProfile:
    """A customer's credit in one currency: limit (None = no credit), terms, rating, review, policy.

    ``tolerance`` is how far over the limit an order still gets only a warning; ``max_overdue_days``
    how many days past due an item may be before the customer counts as overdue; ``group`` makes the
    limit shared by the customer's whole subtree (the children's exposure rolls up into it).
    """

    customer_id: str
    currency: str = attrs.field(converter=validate_currency)
    limit: Money | None = attrs.field(default=None, validator=_non_negative("limit"))
    terms: str | None = None
    rating: str | None = None
    last_review: dt.date | None = None
    review_months: int | None = attrs.field(default=None, validator=attrs.validators.optional(attrs.validators.ge(1)))
    policy: CreditPolicy = CreditPolicy.BLOCK
    tolerance: Money | None = attrs.field(default=None, validator=_non_negative("tolerance"))
    max_overdue_days: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    group: bool = False
    version: int = 0
    updated_at: dt.datetime | None = None

    def __attrs_post_init__(self) -> None:
        for name in ("limit", "tolerance"):
            value = getattr(self, name)
            if value is not None and value.currency != self.currency:
                raise ValidationError(
                    f"{name} must be in {self.currency}", code="currency_mismatch", field=name, value=str(value)
                )

    @property
    def next_review(self) -> dt.date | None:
        """When the next review is due (last review + interval), if both are known."""
        if self.last_review is None or self.review_months is None:
            return None
        return self.last_review + relativedelta(months=self.review_months)


@attrs.frozen(kw_only=True)
class OpenItem:
    """One receivable line: an invoice instalment owed, or a payment/credit note not yet applied.

    ``open`` is what remains (never negative, never above ``amount``); ``closed_on`` is the date the
    last of it was settled.
    """

    id: str
    customer_id: str
    kind: ItemKind
    document: str
    document_kind: DocumentKind
    line: int = 1
    issued: dt.date
    due: dt.date
    amount: Money
    open: Money
    closed_on: dt.date | None = None

    @property
    def currency(self) -> str:
        """The item's currency."""
        return self.amount.currency

    def days_overdue(self, as_of: dt.date) -> int:
        """Days past due as of ``as_of`` (0 when not yet due)."""
        return max((as_of - self.due).days, 0)


@attrs.frozen(kw_only=True)
class Allocation:
    """Part of a payment or credit note applied to an invoice line."""

    item_id: str
    invoice: str
    line: int
    amount: Money


@attrs.frozen(kw_only=True)
class ReceivableRecord:
    """A posted document as stored: its content fingerprint (for idempotent re-posting) and its result."""

    kind: DocumentKind
    number: str
    customer_id: str
    fingerprint: str
    result: Mapping[str, Any]
    created_at: dt.datetime


@attrs.frozen(kw_only=True)
class PostedDocument:
    """What posting a document did: the lines it opened and where its money went."""

    kind: DocumentKind
    number: str
    customer_id: str
    amount: Money
    date: dt.date
    items: tuple[OpenItem, ...] = ()
    allocations: tuple[Allocation, ...] = ()
    unapplied: Money | None = None
    replayed: bool = False


def allocate(
    amount: Money, items: Sequence[OpenItem], named: Mapping[str, Money | None] | None
) -> tuple[list[tuple[OpenItem, Money]], Money]:
    """Apply ``amount`` to invoice lines; returns (line, amount) pairs and the unapplied rest.

    With ``named`` (invoice number -> amount, or None for "as much as it needs"), only those invoices
    are paid, in the order given, each line of an invoice oldest due first. Without, the oldest lines
    are paid first (by due date, then issue date, then number and line).
    """
    left = amount
    result: list[tuple[OpenItem, Money]] = []
    invoices = [i for i in items if i.kind is ItemKind.INVOICE and not i.open.is_zero()]
    if named is None:
        groups: list[tuple[list[OpenItem], Money | None]] = [
            (sorted(invoices, key=lambda i: (i.due, i.issued, i.document, i.line)), None)
        ]
    else:
        groups = []
        for number, cap in named.items():
            lines = sorted((i for i in invoices if i.document == number), key=lambda i: (i.due, i.line))
            if not lines:
                raise ValidationError(
                    f"no open invoice {number!r} for this customer",
                    code="invoice_not_open",
                    field="invoices",
                    value=number,
                )
            if cap is not None and (cap.currency != amount.currency or cap.amount <= 0):
                raise ValidationError("allocated amounts are positive", code="invalid_allocation", field="invoices")
            groups.append((lines, cap))
        caps = [cap.amount for _, cap in groups if cap is not None]
        if sum(caps, Decimal(0)) > amount.amount:
            raise ValidationError(
                "allocations add up to more than the payment", code="over_allocated", field="invoices"
            )
    for lines, cap in groups:
        budget = left if cap is None else min(cap, left)
        for line in lines:
            if budget.is_zero():
                break
            take = min(budget, line.open)
            result.append((line, take))
            budget = budget - take
            left = left - take
    return result, left


@attrs.frozen
class Exposure:
    """Exposure of one customer (or group) in one currency, by part."""

    open_items: Money
    held: Money
    new_order: Money

    @classmethod
    def of(cls, *, open_items: Money, held: Money, new_order: Money) -> Exposure:
        """Build from the three parts."""
        return cls(open_items, held, new_order)

    @property
    def total(self) -> Money:
        """Open receivables (net of unapplied credit) + held credit + the new order."""
        return self.open_items + self.held + self.new_order


@attrs.frozen(kw_only=True)
class Reason:
    """One reason of a decision, as data: a stable code, a message, and the figures behind it."""

    code: str
    message: str
    severity: Severity
    amount: Money | None = None
    days: int | None = None
    detail: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class CreditFacts:
    """Facts about a customer the decision needs beside profile and exposure."""

    customer_status: str
    oldest_overdue_days: int = 0
    overdue_amount: Money | None = None
    stop_supply: bool = False
    dunning_level: str | None = None
    #: The customer's settlement method (``"prepaid"`` turns the limit test into a cover test).
    settlement: str | None = None
    #: What a prepaid customer can pay the order with: prepayment and rebate available, in its currency.
    cover: Money | None = None


@attrs.frozen(kw_only=True)
class CreditDecision:
    """The answer of ``book.credit.check``: outcome, every reason, and the figures."""

    customer_id: str
    outcome: CreditOutcome
    reasons: tuple[Reason, ...]
    limit: Money | None
    exposure: Exposure
    available: Money | None
    group_id: str | None = None
    overridden_by: str | None = None

    @property
    def allowed(self) -> bool:
        """True unless blocked."""
        return self.outcome is not CreditOutcome.BLOCK

    @property
    def codes(self) -> tuple[str, ...]:
        """The reason codes, in order."""
        return tuple(r.code for r in self.reasons)


_ACTIVE: Final = "active"
_PREPAID: Final = "prepaid"


def decide(
    profile: CreditProfile | None,
    exposure: Exposure,
    *,
    facts: CreditFacts,
    as_of: dt.date,
    group_profile: CreditProfile | None = None,
    group_exposure: Exposure | None = None,
    group_id: str | None = None,
    customer_id: str | None = None,
) -> CreditDecision:
    """The credit decision (DESIGN.md section 4): allow, warn or block with every reason.

    Exposure equal to the limit is allowed; above it is over. Over the limit by no more than the
    tolerance warns; beyond, the profile's policy decides (block, or warn). Items overdue longer than
    ``max_overdue_days`` weigh like an over-limit. A customer that is not active, and a dunning level
    that stops supply, always block; an overdue review only warns. A prepaid customer
    (``facts.settlement == "prepaid"``) is not tested against a limit: an order above its cover
    (prepayment + rebate available) blocks with ``prepaid_without_cover``.
    """
    reasons: list[Reason] = []
    policy = profile.policy if profile else CreditPolicy.BLOCK
    weight = Severity.BLOCK if policy is CreditPolicy.BLOCK else Severity.WARN
    if facts.customer_status != _ACTIVE:
        reasons.append(
            Reason(
                code="customer_not_active",
                message=f"customer is {facts.customer_status}",
                severity=Severity.BLOCK,
                detail={"status": facts.customer_status},
            )
        )
    if facts.stop_supply:
        reasons.append(
            Reason(
                code="stop_supply",
                message=f"dunning level {facts.dunning_level or 'stop supply'} stops supply",
                severity=Severity.BLOCK,
                days=facts.oldest_overdue_days,
                detail={"level": facts.dunning_level},
            )
        )
    limit = profile.limit if profile else None
    owed = exposure.open_items + exposure.held
    total = owed + exposure.new_order  # exposure.total, with ``owed`` kept for ``available``
    available: Money | None = None
    prepaid = facts.settlement == _PREPAID
    if prepaid:
        # A prepaid customer does not order on credit: what it has paid in must cover the order.
        cover = facts.cover if facts.cover is not None else Money.zero(exposure.new_order.currency)
        if exposure.new_order > cover:
            short = exposure.new_order - cover
            reasons.append(
                Reason(
                    code="prepaid_without_cover",
                    message=f"prepaid customer without cover: short by {short.amount}",
                    severity=Severity.BLOCK,
                    amount=short,
                    detail={"cover": str(cover.amount)},
                )
            )
    elif limit is None:
        if not exposure.new_order.is_zero() or not total.is_zero() or profile is None:
            reasons.append(
                Reason(
                    code="no_credit",
                    message="customer has no credit limit",
                    severity=weight,
                    amount=exposure.new_order,
                )
            )
    else:
        available = limit - owed
        over = _over_limit("over_limit", "over limit", total, limit, profile, weight)
        if over is not None:
            reasons.append(over)
    if not prepaid and group_profile is not None and group_exposure is not None and group_profile.limit is not None:
        group_weight = Severity.BLOCK if group_profile.policy is CreditPolicy.BLOCK else Severity.WARN
        group_available = group_profile.limit - (group_exposure.open_items + group_exposure.held)
        available = group_available if available is None else min(available, group_available)
        reason = _over_limit(
            "group_over_limit",
            "group over limit",
            group_exposure.total,
            group_profile.limit,
            group_profile,
            group_weight,
        )
        if reason is not None:
            reasons.append(attrs.evolve(reason, detail={**reason.detail, "group": group_id}))
    max_days = profile.max_overdue_days if profile else 0
    if facts.oldest_overdue_days > max_days:
        reasons.append(
            Reason(
                code="overdue_items",
                message=f"items overdue by more than {max_days} days (oldest {facts.oldest_overdue_days} days)",
                severity=weight,
                amount=facts.overdue_amount,
                days=facts.oldest_overdue_days,
                detail={"max_overdue_days": max_days},
            )
        )
    next_review = profile.next_review if profile is not None else None
    if next_review is not None and next_review < as_of:
        reasons.append(
            Reason(
                code="review_overdue",
                message=f"credit review was due on {next_review.isoformat()}",
                severity=Severity.WARN,
                detail={"due": next_review.isoformat()},
            )
        )
    outcome = CreditOutcome.ALLOW
    if reasons:
        severities = {r.severity for r in reasons}
        if Severity.BLOCK in severities:
            outcome = CreditOutcome.BLOCK
        elif Severity.WARN in severities:
            outcome = CreditOutcome.WARN
    return CreditDecision(
        customer_id=customer_id or (profile.customer_id if profile else ""),
        outcome=outcome,
        reasons=tuple(reasons),
        limit=limit,
        exposure=exposure,
        available=available,
        group_id=group_id,
    )


def _over_limit(
    code: str, label: str, total: Money, limit: Money, profile: CreditProfile | None, weight: Severity
) -> Reason | None:
    if total <= limit:
        return None
    over = total - limit
    tolerance = profile.tolerance if profile else None
    severity = Severity.WARN if tolerance is not None and over <= tolerance else weight
    return Reason(
        code=code,
        message=f"{label} by {over.amount}",
        severity=severity,
        amount=over,
        detail={"limit": str(limit.amount), "exposure": str(total.amount)},
    )


def override(decision: CreditDecision, approval_id: str) -> CreditDecision:
    """A blocked decision let through by an approved override request (its block reasons stay listed).

    Only reasons an override may lift are lifted: over limit, no credit, overdue items. A customer
    that is not active or under stop supply stays blocked.
    """
    hard = {"customer_not_active", "stop_supply", "prepaid_without_cover"}
    if decision.outcome is not CreditOutcome.BLOCK or any(r.code in hard for r in decision.reasons):
        return decision
    return attrs.evolve(decision, outcome=CreditOutcome.WARN, overridden_by=approval_id)


@attrs.frozen(kw_only=True)
class CreditHold:
    """Credit held for an unconfirmed checkout; counted in exposure while open and not expired."""

    id: str
    customer_id: str
    amount: Money
    reference: str
    state: HoldState = HoldState.OPEN
    created_at: dt.datetime
    expires_at: dt.datetime
    settled: Money | None = None
    closed_at: dt.datetime | None = None

    def counts(self, now: dt.datetime) -> bool:
        """True while the hold takes credit room."""
        return self.state is HoldState.OPEN and self.expires_at > now
