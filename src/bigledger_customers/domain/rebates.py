"""Rebates: grants, their balance as of a time, expiry, consumption order, usage and order rules.

DESIGN.md section 5. Pure: time is always passed in. A grant is a balance of its own
(``remaining`` = actual, ``reserved`` = locked, ``available`` = remaining - reserved); only approved
grants inside their validity (``valid_from <= as_of < valid_until``) count.

>>> at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
>>> grants = [RebateGrant.approved(id=i, account_id="a", customer_id="c", amount=Money(x, "MYR"),
...           valid_from=at, valid_until=None, created_at=at) for i, x in (("g1", 300), ("g2", 100), ("g3", 500))]
>>> [(s.grant_id, str(s.amount.amount)) for s in consume(grants, Money(500, "MYR"), as_of=at)]
[('g2', '100.00'), ('g1', '300.00'), ('g3', '100.00')]
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Final

import attrs
from dateutil.relativedelta import relativedelta

from bigledger_customers.domain.accounts import Balance, GrantShare, Move, require_positive
from bigledger_customers.errors import InsufficientFunds, NotAllowed, ValidationError
from bigledger_customers.money import ROUND_DOWN, ROUND_HALF_UP, Money

__all__ = [
    "REFUND_GRANT_VALIDITY",
    "CustomerFacts",
    "GrantSource",
    "GrantStatus",
    "OrderRebateRule",
    "RebateAllowance",
    "RebateGrant",
    "RuleBase",
    "RuleTrigger",
    "Scope",
    "ScopeKind",
    "UsageRule",
    "allowed_rebate",
    "consume",
    "consumption_order",
    "expire_grants",
    "expire_released",
    "firing_rules",
    "manual_grant",
    "order_rebate_amount",
    "order_rule_grant",
    "rebate_available",
    "rebate_balance",
    "refund_grant",
]

#: A refund paid out as rebate gives a grant valid this long from the refund's creation.
REFUND_GRANT_VALIDITY: Final = relativedelta(years=10)


class GrantSource(enum.StrEnum):
    """Where a grant came from."""

    MANUAL = "manual"
    REFUND = "refund"
    ORDER_RULE = "order_rule"


class GrantStatus(enum.StrEnum):
    """Life of a grant: pending approval, then approved until expired or exhausted (or rejected)."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    EXHAUSTED = "exhausted"


def _aware(value: dt.datetime | None, field: str) -> None:
    if value is not None and (not isinstance(value, dt.datetime) or value.tzinfo is None):
        raise ValidationError("times must be timezone-aware datetimes", code="naive_datetime", field=field, value=value)


@attrs.frozen(kw_only=True)
class RebateGrant:
    """A rebate grant. ``remaining`` is what is left unspent, ``reserved`` the part held by open holds."""

    id: str
    account_id: str
    customer_id: str
    amount: Money
    remaining: Money
    reserved: Money
    valid_from: dt.datetime
    valid_until: dt.datetime | None
    source: GrantSource
    status: GrantStatus
    created_at: dt.datetime
    created_by: str = "system"
    order_number: str | None = None
    rule_id: str | None = None
    refund_id: str | None = None
    reason: str = ""
    approval_id: str | None = None
    version: int = 1

    def __attrs_post_init__(self) -> None:
        require_positive(self.amount)
        _aware(self.valid_from, "valid_from")
        _aware(self.valid_until, "valid_until")
        if self.valid_until is not None and self.valid_until <= self.valid_from:
            raise ValidationError("valid_until must be after valid_from", code="invalid_validity", field="valid_until")
        Balance(available=self.remaining - self.reserved, locked=self.reserved)  # neither negative
        if self.remaining > self.amount:
            raise ValidationError("remaining cannot exceed the grant", code="invalid_grant", field="remaining")

    @classmethod
    def approved(
        cls,
        *,
        id: str,
        account_id: str,
        customer_id: str,
        amount: Money,
        valid_from: dt.datetime,
        valid_until: dt.datetime | None,
        created_at: dt.datetime,
        source: GrantSource = GrantSource.MANUAL,
        order_number: str | None = None,
    ) -> RebateGrant:
        """An approved grant with nothing spent (for tests and order rules)."""
        return cls(
            id=id,
            account_id=account_id,
            customer_id=customer_id,
            amount=amount,
            remaining=amount,
            reserved=Money.zero(amount.currency),
            valid_from=valid_from,
            valid_until=valid_until,
            source=source,
            status=GrantStatus.APPROVED,
            created_at=created_at,
            order_number=order_number,
        )

    @property
    def currency(self) -> str:
        """The grant's currency."""
        return self.amount.currency

    @property
    def available(self) -> Money:
        """What can still be reserved: remaining less reserved."""
        return self.remaining - self.reserved

    @property
    def balance(self) -> Balance:
        """The grant as a balance (available, locked = reserved)."""
        return Balance(available=self.available, locked=self.reserved)

    def is_effective(self, as_of: dt.datetime) -> bool:
        """Inside its validity: ``valid_from <= as_of < valid_until``."""
        return self.valid_from <= as_of and (self.valid_until is None or as_of < self.valid_until)

    def is_past(self, as_of: dt.datetime) -> bool:
        """Its validity has ended by ``as_of``."""
        return self.valid_until is not None and as_of >= self.valid_until

    def counts(self, as_of: dt.datetime) -> bool:
        """Counts toward the rebate balance: approved (not expired, not exhausted) and effective."""
        return self.status is GrantStatus.APPROVED and self.is_effective(as_of)

    def with_balance(self, balance: Balance) -> RebateGrant:
        """The grant after a move; status becomes exhausted when nothing remains."""
        remaining = balance.actual
        status = self.status
        if remaining.is_zero() and status is GrantStatus.APPROVED:
            status = GrantStatus.EXHAUSTED
        return attrs.evolve(self, remaining=remaining, reserved=balance.locked, status=status, version=self.version + 1)

    def apply(self, move: Move) -> RebateGrant:
        """The grant after ``move`` (see :meth:`Balance.apply`)."""
        return self.with_balance(self.balance.apply(move))

    def decide(self, approved: bool) -> RebateGrant:
        """Approve or reject a pending grant."""
        if self.status is not GrantStatus.PENDING:
            raise NotAllowed(f"grant {self.id} is {self.status}, not pending", code="not_pending", field="grant")
        status = GrantStatus.APPROVED if approved else GrantStatus.REJECTED
        return attrs.evolve(self, status=status, version=self.version + 1)


def _new_grant(
    *,
    id: str,
    account_id: str,
    customer_id: str,
    amount: Money,
    valid_from: dt.datetime,
    valid_until: dt.datetime | None,
    source: GrantSource,
    approved: bool,
    created_at: dt.datetime,
    created_by: str,
    **extra: str | None,
) -> RebateGrant:
    require_positive(amount)
    return RebateGrant(
        id=id,
        account_id=account_id,
        customer_id=customer_id,
        amount=amount,
        remaining=amount,
        reserved=Money.zero(amount.currency),
        valid_from=valid_from,
        valid_until=valid_until,
        source=source,
        status=GrantStatus.APPROVED if approved else GrantStatus.PENDING,
        created_at=created_at,
        created_by=created_by,
        **extra,  # type: ignore[arg-type]
    )


def manual_grant(
    *,
    id: str,
    account_id: str,
    customer_id: str,
    amount: Money,
    valid_from: dt.datetime | None,
    valid_until: dt.datetime | None,
    needs_approval: bool,
    created_at: dt.datetime,
    created_by: str,
    reason: str = "",
) -> RebateGrant:
    """A manual grant; it needs a validity period (both ends)."""
    if valid_from is None or valid_until is None:
        raise ValidationError(
            "a manual grant needs a validity period",
            code="validity_required",
            field="valid_until" if valid_from is not None else "valid_from",
        )
    return _new_grant(
        id=id,
        account_id=account_id,
        customer_id=customer_id,
        amount=amount,
        valid_from=valid_from,
        valid_until=valid_until,
        source=GrantSource.MANUAL,
        approved=not needs_approval,
        created_at=created_at,
        created_by=created_by,
        reason=reason,
    )


def refund_grant(
    *,
    id: str,
    account_id: str,
    customer_id: str,
    amount: Money,
    refund_id: str,
    refund_created_at: dt.datetime,
    needs_approval: bool,
    created_at: dt.datetime,
    created_by: str,
) -> RebateGrant:
    """A refund paid out as rebate: valid from the refund's creation for 10 years (counts once approved)."""
    _aware(refund_created_at, "refund_created_at")
    return _new_grant(
        id=id,
        account_id=account_id,
        customer_id=customer_id,
        amount=amount,
        valid_from=refund_created_at,
        valid_until=refund_created_at + REFUND_GRANT_VALIDITY,
        source=GrantSource.REFUND,
        approved=not needs_approval,
        created_at=created_at,
        created_by=created_by,
        refund_id=refund_id,
    )


# -- balance as of, expiry, consumption ------------------------------------------------------------


def rebate_balance(grants: Iterable[RebateGrant], currency: str, as_of: dt.datetime) -> Balance:
    """Actual/available/locked over the approved grants of ``currency`` effective at ``as_of``; writes nothing."""
    available = locked = _NOTHING
    counted = False
    for grant in grants:
        if grant.currency == currency and grant.counts(as_of):
            # Each grant's parts are exact and never negative (checked when it was built), so the
            # Decimal sums are the sums of the Money parts, and no partial sum is negative.
            available += grant.remaining.amount - grant.reserved.amount
            locked += grant.reserved.amount
            counted = True
    if not counted:
        return Balance.zero(currency)
    return Balance(available=Money(available, currency), locked=Money(locked, currency))


def rebate_available(grants: Iterable[RebateGrant], currency: str, as_of: dt.datetime) -> Money:
    """``rebate_balance(grants, currency, as_of).available`` without building the balance (for quotes)."""
    available: Money | None = None
    for grant in grants:
        if grant.currency == currency and grant.counts(as_of):
            # A grant with nothing reserved has its remaining available: no new Money for the usual case.
            part = grant.remaining - grant.reserved if grant.reserved.amount else grant.remaining
            available = part if available is None else available + part
    return Money.zero(currency) if available is None else available


_NOTHING: Final = Decimal(0)


def expire_grants(grants: Iterable[RebateGrant], as_of: dt.datetime) -> list[tuple[RebateGrant, Move | None]]:
    """Grants whose validity ended by ``as_of`` and are not yet expired: the expired grant and the
    expiry move of its unreserved remainder (None when nothing was left to expire).

    A reserved part stays with its hold; if the hold releases it later, it is expired at once
    (see :func:`expire_released`).
    """
    result: list[tuple[RebateGrant, Move | None]] = []
    for grant in grants:
        if grant.is_past(as_of) and grant.status is GrantStatus.APPROVED:
            move = Move.expire(grant.available) if grant.available.amount > 0 else None
            after = grant.apply(move) if move else grant
            result.append((attrs.evolve(after, status=GrantStatus.EXPIRED, version=grant.version + 1), move))
    return result


def expire_released(grant: RebateGrant, as_of: dt.datetime) -> Move | None:
    """After a release: the expiry move for a grant already past its validity, else None."""
    if grant.is_past(as_of) and grant.status in (GrantStatus.EXPIRED, GrantStatus.APPROVED) and grant.available:
        return Move.expire(grant.available)
    return None


def consumption_order(grant: RebateGrant) -> tuple[Decimal, bool, dt.datetime, dt.datetime, str]:
    """Sort key: smallest available first; ties earliest expiry (no expiry last), oldest, then id."""
    until = grant.valid_until or dt.datetime.max.replace(tzinfo=dt.UTC)
    return (grant.available.amount, grant.valid_until is None, until, grant.created_at, grant.id)


def consume(grants: Iterable[RebateGrant], amount: Money, *, as_of: dt.datetime) -> tuple[GrantShare, ...]:
    """Which grants pay ``amount`` of rebate, in consumption order (DESIGN.md section 5).

    :class:`InsufficientFunds` (field ``rebate``) when the counting grants do not cover it.
    """
    require_positive(amount, field="rebate")
    usable = sorted(
        (g for g in grants if g.currency == amount.currency and g.counts(as_of) and g.available.amount > 0),
        key=consumption_order,
    )
    shares: list[GrantShare] = []
    left = amount
    for grant in usable:
        if left.is_zero():
            break
        take = min(left, grant.available)
        shares.append(GrantShare(grant.id, take))
        left = left - take
    if not left.is_zero():
        raise InsufficientFunds(
            f"rebate available {amount - left} does not cover {amount}", field="rebate", value=str(amount)
        )
    return tuple(shares)


# -- usage rules ----------------------------------------------------------------------------------


class ScopeKind(enum.StrEnum):
    """Whom a rule applies to; more specific kinds win (customer, then level or category, then all)."""

    ALL = "all"
    LEVEL = "level"
    CATEGORY = "category"
    CUSTOMERS = "customers"


_SPECIFICITY: Final = {ScopeKind.CUSTOMERS: 3, ScopeKind.LEVEL: 2, ScopeKind.CATEGORY: 2, ScopeKind.ALL: 1}


@attrs.frozen
class CustomerFacts:
    """What scope matching needs to know about the customer (codes as stored on the customer)."""

    customer_id: str
    code: str = ""
    level: str | None = None
    category: str | None = None


def _codes(values: Iterable[str]) -> frozenset[str]:
    return frozenset(v.strip().casefold() for v in values)


@attrs.frozen
class Scope:
    """All customers, a level, a category, or named customers (by code or id)."""

    kind: ScopeKind = ScopeKind.ALL
    values: frozenset[str] = attrs.field(default=frozenset(), converter=_codes)

    def __attrs_post_init__(self) -> None:
        if (self.kind is ScopeKind.ALL) != (not self.values):
            raise ValidationError(
                "a scope other than 'all' names its values; 'all' names none", code="invalid_scope", field="scope"
            )

    @property
    def specificity(self) -> int:
        """3 for named customers, 2 for a level or category, 1 for all."""
        return _SPECIFICITY[self.kind]

    def matches(self, facts: CustomerFacts) -> bool:
        """True when the rule applies to the customer."""
        if self.kind is ScopeKind.ALL:
            return True
        if self.kind is ScopeKind.CUSTOMERS:
            return bool({facts.customer_id.casefold(), facts.code.casefold()} & self.values)
        value = facts.level if self.kind is ScopeKind.LEVEL else facts.category
        return value is not None and value.casefold() in self.values


def _share(value: object) -> Decimal | None:
    if value is None:
        return None
    share = Decimal(str(value)) if not isinstance(value, Decimal) else value
    if not 0 <= share <= 1:
        raise ValidationError("a share is between 0 and 1", code="invalid_share", field="max_share", value=str(value))
    return share


@attrs.frozen(kw_only=True)
class UsageRule:
    """Limits on rebate use per order: minimum order amount, maximum per use, maximum share."""

    id: str
    scope: Scope = Scope()
    currency: str
    min_order_amount: Money | None = None
    max_per_use: Money | None = None
    max_share: Decimal | None = attrs.field(default=None, converter=_share)

    def __attrs_post_init__(self) -> None:
        for name in ("min_order_amount", "max_per_use"):
            value = getattr(self, name)
            if value is not None and (value.currency != self.currency or value.is_negative()):
                raise ValidationError(
                    f"{name} must be a non-negative {self.currency} amount", code="invalid_rule", field=name
                )


@attrs.frozen(kw_only=True)
class RebateAllowance:
    """The most rebate usable on an order, the rule that decided it, and why."""

    amount: Money
    rule_id: str | None = None
    reasons: tuple[str, ...] = ()


def allowed_rebate(rules: Iterable[UsageRule], facts: CustomerFacts, order_amount: Money) -> RebateAllowance:
    """The most rebate usable on an order of ``order_amount`` (never more than the order).

    Of the rules that apply to the customer in the order's currency, the most specific wins; among
    equally specific ones the strictest (smallest allowance). Caps round down (DESIGN.md preamble).

    >>> rule = UsageRule(id="r", currency="MYR", max_share="0.20", max_per_use=Money(5000, "MYR"))
    >>> allowed_rebate([rule], CustomerFacts("c1"), Money(20000, "MYR")).amount
    Money('4000.00', 'MYR')
    """
    applicable = [r for r in rules if r.currency == order_amount.currency and r.scope.matches(facts)]
    if not applicable:
        return RebateAllowance(amount=order_amount, reasons=("no_usage_rule",))
    top = max(r.scope.specificity for r in applicable)
    found = [_allowance(r, order_amount) for r in applicable if r.scope.specificity == top]
    return min(found, key=lambda a: (a.amount.amount, a.rule_id or ""))


def _allowance(rule: UsageRule, order_amount: Money) -> RebateAllowance:
    if rule.min_order_amount is not None and order_amount < rule.min_order_amount:
        return RebateAllowance(
            amount=Money.zero(order_amount.currency), rule_id=rule.id, reasons=("below_min_order_amount",)
        )
    caps = [(order_amount, "order_amount")]
    if rule.max_share is not None:
        caps.append((order_amount.multiply(rule.max_share, rounding=ROUND_DOWN), "max_share"))
    if rule.max_per_use is not None:
        caps.append((rule.max_per_use, "max_per_use"))
    smallest = min(amount for amount, _ in caps)
    reasons = tuple(name for amount, name in caps if amount == smallest)
    return RebateAllowance(amount=smallest, rule_id=rule.id, reasons=reasons)


# -- order rebate rules ---------------------------------------------------------------------------


class RuleTrigger(enum.StrEnum):
    """The host's order event that fires an order rebate rule."""

    ORDER_CONFIRMED = "order_confirmed"
    RECEIPT_CONFIRMED = "receipt_confirmed"


class RuleBase(enum.StrEnum):
    """What the rate applies to: the order less rebate used to pay it (default), or the whole order."""

    NET_OF_REBATE = "net_of_rebate"
    ORDER_AMOUNT = "order_amount"


def _rate(value: object) -> Decimal:
    rate = value if isinstance(value, Decimal) else Decimal(str(value))
    if not 0 < rate <= 1:
        raise ValidationError("a rate is above 0 and at most 1", code="invalid_rate", field="rate", value=str(value))
    return rate


@attrs.frozen(kw_only=True)
class OrderRebateRule:
    """E.g. 5% of the order amount when the order is confirmed; one grant per order and rule.

    The rule fires for events inside ``active_from <= at < active_until``; the grant it creates is
    valid from the event for ``grant_valid_months`` (None = no expiry).
    """

    id: str
    name: str = ""
    rate: Decimal = attrs.field(converter=_rate)
    trigger: RuleTrigger = RuleTrigger.ORDER_CONFIRMED
    base: RuleBase = RuleBase.NET_OF_REBATE
    scope: Scope = Scope()
    active_from: dt.datetime | None = None
    active_until: dt.datetime | None = None
    grant_valid_months: int | None = 12
    needs_approval: bool = False
    recipients: tuple[str, ...] = ("administrators",)

    def applies(self, trigger: RuleTrigger, at: dt.datetime, facts: CustomerFacts) -> bool:
        """True when this rule fires for ``trigger`` at ``at`` for the customer."""
        if trigger is not self.trigger or not self.scope.matches(facts):
            return False
        if self.active_from is not None and at < self.active_from:
            return False
        return self.active_until is None or at < self.active_until


def order_rebate_amount(rule: OrderRebateRule, order_amount: Money, rebate_used: Money | None = None) -> Money:
    """The rule's share of the order, rounded half up; the base excludes rebate used unless the rule says not.

    >>> rule = OrderRebateRule(id="r", rate="0.05")
    >>> order_rebate_amount(rule, Money("1500", "MYR"), Money("100", "MYR"))
    Money('70.00', 'MYR')
    """
    base = order_amount
    if rule.base is RuleBase.NET_OF_REBATE and rebate_used is not None:
        base = order_amount - rebate_used
    if base.is_negative():
        base = Money.zero(order_amount.currency)
    return base.multiply(rule.rate, rounding=ROUND_HALF_UP)


def order_rule_grant(
    rule: OrderRebateRule,
    *,
    id: str,
    account_id: str,
    customer_id: str,
    order_number: str,
    order_amount: Money,
    rebate_used: Money | None,
    at: dt.datetime,
) -> RebateGrant | None:
    """The grant ``rule`` gives for an order (None when the share rounds to nothing)."""
    amount = order_rebate_amount(rule, order_amount, rebate_used)
    if amount.amount <= 0:
        return None
    until = at + relativedelta(months=rule.grant_valid_months) if rule.grant_valid_months is not None else None
    return _new_grant(
        id=id,
        account_id=account_id,
        customer_id=customer_id,
        amount=amount,
        valid_from=at,
        valid_until=until,
        source=GrantSource.ORDER_RULE,
        approved=not rule.needs_approval,
        created_at=at,
        created_by="system",
        order_number=order_number,
        rule_id=rule.id,
    )


def firing_rules(
    rules: Sequence[OrderRebateRule], trigger: RuleTrigger, at: dt.datetime, facts: CustomerFacts
) -> list[OrderRebateRule]:
    """The rules that fire for an order event, by id."""
    return sorted((r for r in rules if r.applies(trigger, at, facts)), key=lambda r: r.id)
