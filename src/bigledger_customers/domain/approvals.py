"""Approvals: one mechanism for every approval in the library (DESIGN.md section 3). Pure.

A :class:`ApprovalRule` names a command (``"prepayment.income"``, ``"rebate.grant.manual"``,
``"customer.credit_limit"``...), optional conditions on the command's facts, and an ordered chain
of steps, each naming the role that approves it. An :class:`ApprovalRequest` holds the proposed
change until the last step approves it (the service then applies it) or someone rejects it
(the change is discarded). Maker-checker: the requester never approves their own request, and
one person signs at most one step.

>>> at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
>>> steps = DEFAULT_POLICY.steps_for("prepayment.income", {})
>>> req = ApprovalRequest.open(id="r1", command="prepayment.income", subject_type="income", subject_id="i1",
...                            payload={}, steps=steps, requested_by="clerk", at=at)
>>> approve(req, Actor(id="boss", roles={"finance_approver"}), at=at).status
<ApprovalStatus.APPROVED: 'approved'>
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Final

import attrs

from bigledger_customers.domain.records import Actor
from bigledger_customers.errors import NotAllowed, PermissionDenied, ValidationError
from bigledger_customers.money import Money

__all__ = [
    "DEFAULT_POLICY",
    "FINANCE",
    "NEVER_APPROVED",
    "ApprovalDecision",
    "ApprovalPolicy",
    "ApprovalRequest",
    "ApprovalRule",
    "ApprovalStatus",
    "ApprovalStep",
    "Comparison",
    "Condition",
    "approve",
    "cancel",
    "reject",
]

#: The role of the default approval step.
FINANCE: Final = "finance_approver"  # the access policy's role (domain/access.Role.FINANCE_APPROVER)

#: Commands that never go through approval (automatic deductions, DESIGN.md section 3).
NEVER_APPROVED: Final = frozenset({"prepayment.expense.automatic", "rebate.spend", "payment.submit", "payment.confirm"})


class Comparison(enum.StrEnum):
    """How a condition compares a fact with its value."""

    GT = "gt"
    GE = "ge"
    LT = "lt"
    LE = "le"
    EQ = "eq"
    NE = "ne"
    IN = "in"


def _comparable(value: Any) -> Any:
    if isinstance(value, Money):
        return value.amount
    if isinstance(value, int | str) and not isinstance(value, bool):
        try:
            return Decimal(value)
        except ArithmeticError:
            return value
    return value


@attrs.frozen
class Condition:
    """``facts[fact] <op> value``: e.g. ``Condition("increase", Comparison.GT, Money(10000, "MYR"))``.

    Money compares with Money of the same currency; a fact in another currency, or a missing fact,
    makes the condition hold, so an unclear case asks for approval rather than skipping it.
    """

    fact: str
    op: Comparison
    value: Any

    def holds(self, facts: Mapping[str, Any]) -> bool:
        """True when the fact satisfies the comparison (or cannot be judged; see the class)."""
        if self.fact not in facts:
            return True
        have = facts[self.fact]
        if isinstance(have, Money) and isinstance(self.value, Money) and have.currency != self.value.currency:
            return True
        if self.op is Comparison.IN:
            values = self.value if isinstance(self.value, list | tuple | frozenset | set) else (self.value,)
            return have in values or str(have) in {str(v) for v in values}
        left, right = _comparable(have), _comparable(self.value)
        try:
            if self.op is Comparison.EQ:
                return bool(left == right)
            if self.op is Comparison.NE:
                return bool(left != right)
            if self.op is Comparison.GT:
                return bool(left > right)
            if self.op is Comparison.GE:
                return bool(left >= right)
            if self.op is Comparison.LT:
                return bool(left < right)
            return bool(left <= right)
        except TypeError:
            return True


@attrs.frozen
class ApprovalStep:
    """One step of a chain: who may approve it (a role)."""

    role: str = attrs.field(validator=attrs.validators.min_len(1))
    name: str = ""


def _steps(value: Iterable[ApprovalStep]) -> tuple[ApprovalStep, ...]:
    return tuple(value)


def _conditions(value: Iterable[Condition]) -> tuple[Condition, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class ApprovalRule:
    """Which command needs approval, when (every condition holds), and by whom (the steps, in order).

    A rule with ``required=False`` says the command needs no approval (when its conditions hold),
    which is how a host turns a default off.
    """

    command: str = attrs.field(validator=attrs.validators.min_len(1))
    conditions: tuple[Condition, ...] = attrs.field(default=(), converter=_conditions)
    steps: tuple[ApprovalStep, ...] = attrs.field(default=(ApprovalStep(FINANCE),), converter=_steps)
    required: bool = True

    def __attrs_post_init__(self) -> None:
        if self.command in NEVER_APPROVED and self.required:
            raise ValidationError(
                f"{self.command} is an automatic deduction and never needs approval",
                code="never_approved",
                field="command",
                value=self.command,
            )
        if self.required and not self.steps:
            raise ValidationError("an approval needs at least one step", code="no_steps", field="steps")

    def matches(self, command: str, facts: Mapping[str, Any]) -> bool:
        """True for this command when every condition holds."""
        return self.command == command and all(c.holds(facts) for c in self.conditions)


def _rules(value: Iterable[ApprovalRule]) -> tuple[ApprovalRule, ...]:
    return tuple(value)


@attrs.frozen
class ApprovalPolicy:
    """The rules in force. The first rule matching a command and its facts decides.

    >>> DEFAULT_POLICY.steps_for("rebate.grant.manual", {})
    (ApprovalStep(role='finance_approver', name=''),)
    >>> DEFAULT_POLICY.steps_for("prepayment.top_up", {})
    ()
    """

    rules: tuple[ApprovalRule, ...] = attrs.field(default=(), converter=_rules)

    def steps_for(self, command: str, facts: Mapping[str, Any]) -> tuple[ApprovalStep, ...]:
        """The chain a command needs, or () when it goes through at once."""
        if command in NEVER_APPROVED:
            return ()
        for rule in self.rules:
            if rule.matches(command, facts):
                return rule.steps if rule.required else ()
        return ()

    def needs_approval(self, command: str, facts: Mapping[str, Any]) -> bool:
        """True when :meth:`steps_for` is not empty."""
        return bool(self.steps_for(command, facts))

    def with_rules(self, *rules: ApprovalRule) -> ApprovalPolicy:
        """A policy where ``rules`` come first (so they override the existing rules of their commands)."""
        return ApprovalPolicy(rules=(*rules, *self.rules))

    def without(self, command: str) -> ApprovalPolicy:
        """A policy with no rule for ``command``."""
        return ApprovalPolicy(rules=tuple(r for r in self.rules if r.command != command))


#: DESIGN.md section 3/5: offline income, manual expenses, manual and refund grants need finance approval.
DEFAULT_POLICY: Final = ApprovalPolicy(
    rules=(
        ApprovalRule(command="prepayment.income"),
        ApprovalRule(command="prepayment.expense.manual"),
        ApprovalRule(command="rebate.grant.manual"),
        ApprovalRule(command="rebate.grant.refund"),
    )
)


class ApprovalStatus(enum.StrEnum):
    """A request waits, then is approved, rejected, or withdrawn by its requester."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


@attrs.frozen(kw_only=True)
class ApprovalDecision:
    """One signature on one step."""

    step: int
    role: str
    actor_id: str
    approved: bool
    at: dt.datetime
    note: str = ""


@attrs.frozen(kw_only=True)
class ApprovalRequest:
    """A proposed change waiting for its chain of approvals.

    ``payload`` is the change itself (JSON-ready, applied by the service that owns ``command``);
    ``subject_type``/``subject_id`` name the record it is about (an income, a grant, a customer).
    """

    id: str
    command: str
    subject_type: str
    subject_id: str
    customer_id: str | None = None
    payload: Mapping[str, Any] = attrs.field(factory=dict)
    steps: tuple[ApprovalStep, ...]
    decisions: tuple[ApprovalDecision, ...] = ()
    status: ApprovalStatus = ApprovalStatus.PENDING
    requested_by: str
    requested_at: dt.datetime
    decided_at: dt.datetime | None = None
    version: int = 1

    @classmethod
    def open(
        cls,
        *,
        id: str,
        command: str,
        subject_type: str,
        subject_id: str,
        payload: Mapping[str, Any],
        steps: Iterable[ApprovalStep],
        requested_by: str,
        at: dt.datetime,
        customer_id: str | None = None,
    ) -> ApprovalRequest:
        """A new pending request."""
        chain = tuple(steps)
        if not chain:
            raise ValidationError("an approval needs at least one step", code="no_steps", field="steps")
        return cls(
            id=id,
            command=command,
            subject_type=subject_type,
            subject_id=subject_id,
            customer_id=customer_id,
            payload=dict(payload),
            steps=chain,
            requested_by=requested_by,
            requested_at=at,
        )

    @property
    def current_step(self) -> int | None:
        """Index of the step waiting for a signature, or None when decided."""
        if self.status is not ApprovalStatus.PENDING:
            return None
        return sum(1 for d in self.decisions if d.approved)

    @property
    def is_pending(self) -> bool:
        """True until approved, rejected or cancelled."""
        return self.status is ApprovalStatus.PENDING


def _ensure_pending(request: ApprovalRequest) -> int:
    step = request.current_step
    if step is None:
        raise NotAllowed(f"approval {request.id} is already {request.status}", code="not_pending", field="approval")
    return step


def _ensure_role(request: ApprovalRequest, step: int, actor: Actor) -> str:
    role = request.steps[step].role
    if role not in actor.roles:
        raise PermissionDenied(
            f"step {step + 1} of {request.command} needs the role {role!r}",
            code="missing_role",
            field="actor",
            value=actor.id,
        )
    return role


def approve(request: ApprovalRequest, actor: Actor, *, at: dt.datetime, note: str = "") -> ApprovalRequest:
    """Sign the current step; after the last step the request is approved (apply its payload then).

    Refused with :class:`NotAllowed` ``self_approval`` for the requester, ``duplicate_approver``
    for someone who signed an earlier step, :class:`PermissionDenied` ``missing_role`` without the
    step's role, ``not_pending`` once decided.
    """
    step = _ensure_pending(request)
    if actor.id == request.requested_by:
        raise NotAllowed("the requester cannot approve their own request", code="self_approval", field="actor")
    if any(d.actor_id == actor.id for d in request.decisions):
        raise NotAllowed("one person signs one step only", code="duplicate_approver", field="actor")
    role = _ensure_role(request, step, actor)
    decision = ApprovalDecision(step=step, role=role, actor_id=actor.id, approved=True, at=at, note=note)
    done = step + 1 == len(request.steps)
    return attrs.evolve(
        request,
        decisions=(*request.decisions, decision),
        status=ApprovalStatus.APPROVED if done else ApprovalStatus.PENDING,
        decided_at=at if done else None,
        version=request.version + 1,
    )


def reject(request: ApprovalRequest, actor: Actor, *, at: dt.datetime, note: str = "") -> ApprovalRequest:
    """Reject at the current step (needs its role); the proposed change is discarded."""
    step = _ensure_pending(request)
    role = _ensure_role(request, step, actor)
    decision = ApprovalDecision(step=step, role=role, actor_id=actor.id, approved=False, at=at, note=note)
    return attrs.evolve(
        request,
        decisions=(*request.decisions, decision),
        status=ApprovalStatus.REJECTED,
        decided_at=at,
        version=request.version + 1,
    )


def cancel(request: ApprovalRequest, actor: Actor, *, at: dt.datetime) -> ApprovalRequest:
    """The requester withdraws a pending request."""
    _ensure_pending(request)
    if actor.id != request.requested_by:
        raise NotAllowed("only the requester can withdraw a request", code="not_requester", field="actor")
    return attrs.evolve(request, status=ApprovalStatus.CANCELLED, decided_at=at, version=request.version + 1)
