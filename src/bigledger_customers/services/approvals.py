"""Approvals (``book.approvals``): one path that decides every approval request (DESIGN.md section 3).

Services open a request with :func:`request_in` (the policy decides whether the command needs one);
:class:`ApprovalService` lists pending requests, and approves or rejects them: maker-checker and
the step chain (:mod:`bigledger_customers.domain.approvals`), the decision's audit entry and event,
and, on the last approval or a rejection, the command's :class:`ApprovalHandler`, all in one
transaction. A fault in a handler rolls everything back: the request stays pending.

Each service registers a handler per command name; a host registers its own commands' handlers
with :meth:`ApprovalService.register` and changes rules, conditions, steps and roles with
:meth:`ApprovalService.configure`.

>>> from bigledger_customers import connect, Actor
>>> book = connect("memory://")
>>> book.approvals.commands()[:3]
['account.settlement_method', 'credit.limit', 'credit.override']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, Protocol

import attrs

from bigledger_customers.domain.access import Permission
from bigledger_customers.domain.approvals import (
    DEFAULT_POLICY,
    ApprovalPolicy,
    ApprovalRequest,
    ApprovalRule,
    ApprovalStatus,
    ApprovalStep,
    Comparison,
    Condition,
)
from bigledger_customers.domain.approvals import approve as approve_request
from bigledger_customers.domain.approvals import cancel as cancel_request
from bigledger_customers.domain.approvals import reject as reject_request
from bigledger_customers.domain.convert import converter
from bigledger_customers.domain.records import Actor
from bigledger_customers.errors import NotFound, RowApproval, ValidationError
from bigledger_customers.money import Money
from bigledger_customers.ports import UnitOfWork
from bigledger_customers.services._base import Services, load_customer, save_config

__all__ = [
    "GOVERNED_IMPORT_FIELDS",
    "POLICY",
    "ApprovalHandler",
    "ApprovalService",
    "Handler",
    "can_decide",
    "governed_update",
    "load_policy",
    "open_in",
    "policy_from_json",
    "policy_to_json",
    "request_in",
]

#: The config document holding the policy (one policy for every approval in the library).
POLICY: Final = "approvals.policy"
#: How many pending requests :meth:`ApprovalService.pending` reads before filtering by approver.
_SCAN: Final = 10_000


class ApprovalHandler(Protocol):
    """What a command does once its request is approved (``apply``) or rejected (``discard``).

    Both run inside the deciding unit of work, after the request was saved with its new status;
    an exception rolls the whole decision back. ``permission`` is what the decider needs over the
    request's customer (on top of the step's role).
    """

    @property
    def permission(self) -> str:
        """The permission deciding a request of this command needs."""
        ...

    def apply(self, uow: UnitOfWork, request: ApprovalRequest, actor: Actor, now: dt.datetime) -> None:
        """Make the approved change."""
        ...

    def discard(self, uow: UnitOfWork, request: ApprovalRequest, actor: Actor, now: dt.datetime) -> None:
        """Undo whatever the request reserved (a held expense, a pending record); often nothing."""
        ...


Step = Callable[[UnitOfWork, ApprovalRequest, Actor, dt.datetime], None]


def _nothing(uow: UnitOfWork, request: ApprovalRequest, actor: Actor, now: dt.datetime) -> None:
    """Nothing to undo: the change was only proposed."""


@attrs.frozen
class Handler:
    """An :class:`ApprovalHandler` made of two functions."""

    on_apply: Step
    on_discard: Step = _nothing
    permission: str = Permission.APPROVAL_RULES_MANAGE

    def apply(self, uow: UnitOfWork, request: ApprovalRequest, actor: Actor, now: dt.datetime) -> None:
        """Call ``on_apply``."""
        self.on_apply(uow, request, actor, now)

    def discard(self, uow: UnitOfWork, request: ApprovalRequest, actor: Actor, now: dt.datetime) -> None:
        """Call ``on_discard``."""
        self.on_discard(uow, request, actor, now)


# -- policy (de)serialisation: condition values may be Money or Decimal -----------------------------


def _value_to_json(value: Any) -> Any:
    if isinstance(value, Money):
        return {"money": converter.unstructure(value)}
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    if isinstance(value, tuple | list | frozenset | set):
        return {"list": [_value_to_json(v) for v in value]}
    return value


def _value_from_json(value: Any) -> Any:
    if isinstance(value, dict) and "money" in value:
        return converter.structure(value["money"], Money)
    if isinstance(value, dict) and "decimal" in value:
        return Decimal(value["decimal"])
    if isinstance(value, dict) and "list" in value:
        return tuple(_value_from_json(v) for v in value["list"])
    return value


def policy_to_json(policy: ApprovalPolicy) -> list[dict[str, Any]]:
    """The JSON form of an approval policy (stored in the config)."""
    return [
        {
            "command": r.command,
            "required": r.required,
            "steps": [{"role": s.role, "name": s.name} for s in r.steps],
            "conditions": [{"fact": c.fact, "op": c.op.value, "value": _value_to_json(c.value)} for c in r.conditions],
        }
        for r in policy.rules
    ]


def policy_from_json(data: Sequence[Mapping[str, Any]]) -> ApprovalPolicy:
    """An approval policy from :func:`policy_to_json`."""
    return ApprovalPolicy(
        rules=[
            ApprovalRule(
                command=r["command"],
                required=r["required"],
                steps=[ApprovalStep(s["role"], s.get("name", "")) for s in r["steps"]],
                conditions=[
                    Condition(c["fact"], Comparison(c["op"]), _value_from_json(c["value"])) for c in r["conditions"]
                ],
            )
            for r in data
        ]
    )


def load_policy(uow: UnitOfWork) -> ApprovalPolicy:
    """The approval rules in force (DESIGN.md defaults until configured)."""
    data = uow.config.get(POLICY)
    return DEFAULT_POLICY if data is None else policy_from_json(data)


# -- opening requests (inside a service's unit of work) ---------------------------------------------


def open_in(
    services: Services,
    uow: UnitOfWork,
    *,
    command: str,
    subject_type: str,
    subject_id: str,
    customer_id: str | None,
    steps: Sequence[ApprovalStep],
    payload: Mapping[str, Any],
    actor: Actor,
    now: dt.datetime,
) -> ApprovalRequest:
    """Store a pending request for ``command`` with the chain ``steps`` and its ``approval.requested`` event."""
    request = ApprovalRequest.open(
        id=services.new_id(),
        command=command,
        subject_type=subject_type,
        subject_id=subject_id,
        customer_id=customer_id,
        payload=payload,
        steps=steps,
        requested_by=actor.id,
        at=now,
    )
    uow.approvals.add(request)
    uow.events.append(
        id=services.new_id(),
        type="approval.requested",
        aggregate_type="approval",
        aggregate_id=request.id,
        occurred_at=now,
        payload={"command": command, "subject_id": subject_id, "role": request.steps[0].role},
    )
    return request


def request_in(
    services: Services,
    uow: UnitOfWork,
    *,
    command: str,
    facts: Mapping[str, Any],
    subject_type: str,
    subject_id: str,
    customer_id: str | None,
    payload: Mapping[str, Any],
    actor: Actor,
    now: dt.datetime,
) -> ApprovalRequest | None:
    """A pending request when the policy says ``command`` with ``facts`` needs approval, else None
    (the caller then applies the change at once)."""
    steps = load_policy(uow).steps_for(command, facts)
    if not steps:
        return None
    return open_in(
        services,
        uow,
        command=command,
        subject_type=subject_type,
        subject_id=subject_id,
        customer_id=customer_id,
        steps=steps,
        payload=payload,
        actor=actor,
        now=now,
    )


def _load(uow: UnitOfWork, approval_id: str) -> ApprovalRequest:
    request = uow.approvals.get(approval_id)
    if request is None:
        raise NotFound(f"no approval request {approval_id!r}", code="approval_not_found", field="approval")
    return request


def _builtin_handlers(services: Services) -> dict[str, ApprovalHandler]:
    """The library's own commands (imported here: those services import this module)."""
    from bigledger_customers.services.accounts import AccountService
    from bigledger_customers.services.credit import approval_handlers as credit_handlers
    from bigledger_customers.services.customers import CustomerService

    handlers: dict[str, ApprovalHandler] = {}
    handlers.update(AccountService(services).approval_handlers())
    handlers.update(credit_handlers(services))
    handlers.update(CustomerService(services).approval_handlers())
    return handlers


def can_decide(request: ApprovalRequest, actor: Actor) -> bool:
    """True when ``actor`` may sign the request's current step (role, not the requester, not signed yet)."""
    step = request.current_step
    if step is None or actor.id == request.requested_by:
        return False
    if any(d.actor_id == actor.id for d in request.decisions):
        return False
    return request.steps[step].role in actor.roles


class ApprovalService:
    """Pending requests, decisions and the handler registry (``book.approvals``)."""

    def __init__(self, services: Services) -> None:
        self._s = services
        self._handlers: dict[str, ApprovalHandler] | None = None

    # -- registry ----------------------------------------------------------------------------------

    def _registry(self) -> dict[str, ApprovalHandler]:
        if self._handlers is None:
            self._handlers = _builtin_handlers(self._s)
        return self._handlers

    def register(self, command: str, handler: ApprovalHandler) -> None:
        """Say how ``command`` is applied once approved and discarded once rejected (replaces any handler)."""
        if not command:
            raise ValidationError("name the command", code="invalid_command", field="command")
        self._registry()[command] = handler

    def handler(self, command: str) -> ApprovalHandler:
        """The handler of ``command``; :class:`NotFound` ``no_handler`` when none is registered."""
        found = self._registry().get(command)
        if found is None:
            raise NotFound(f"no approval handler for {command!r}", code="no_handler", field="command", value=command)
        return found

    def commands(self) -> list[str]:
        """The commands with a handler, sorted."""
        return sorted(self._registry())

    # -- policy ------------------------------------------------------------------------------------

    def policy(self) -> ApprovalPolicy:
        """The approval rules in force."""
        with self._s.uow(write=False) as uow:
            return load_policy(uow)

    def configure(self, policy: ApprovalPolicy, *, actor: Actor | None = None) -> ApprovalPolicy:
        """Replace the rules (which commands, under which conditions, which steps and roles).

        Needs ``approval.rules.manage``; audited with the previous rules. The same setting as
        ``book.accounts.configure(approval_policy=...)``.
        """
        actor = self._s.authorize(actor, Permission.APPROVAL_RULES_MANAGE)
        if not isinstance(policy, ApprovalPolicy):
            raise ValidationError("give an ApprovalPolicy", code="invalid_policy", field="policy", value=policy)
        with self._s.uow() as uow:
            save_config(self._s, uow, "approvals", {POLICY: policy_to_json(policy)}, actor)
            uow.commit()
        return policy

    # -- queries -----------------------------------------------------------------------------------

    def get(self, approval_id: str) -> ApprovalRequest:
        """One request (any status)."""
        with self._s.uow(write=False) as uow:
            return _load(uow, approval_id)

    def pending(
        self, *, approver: Actor | None = None, command: str | None = None, limit: int = 100
    ) -> list[ApprovalRequest]:
        """Pending requests, oldest first; with ``approver``, only those that actor may sign now
        (holds the current step's role, is not the requester and signed no earlier step)."""
        with self._s.uow(write=False) as uow:
            found = uow.approvals.pending(command=command, limit=limit if approver is None else _SCAN)
        if approver is not None:
            found = [r for r in found if can_decide(r, approver)]
        return list(found[:limit])

    # -- decisions ---------------------------------------------------------------------------------

    def approve(self, approval_id: str, *, note: str = "", actor: Actor | None = None) -> ApprovalRequest:
        """Sign the current step; the last signature applies the change in the same transaction.

        Maker-checker: not the requester, not someone who signed an earlier step, holding the
        step's role and the handler's permission over the request's customer.
        """
        return self._decide(approval_id, approved=True, note=note, actor=actor)

    def reject(self, approval_id: str, *, note: str = "", actor: Actor | None = None) -> ApprovalRequest:
        """Reject at the current step: the proposed change is discarded (needs what :meth:`approve` needs)."""
        return self._decide(approval_id, approved=False, note=note, actor=actor)

    def cancel(self, approval_id: str, *, actor: Actor) -> ApprovalRequest:
        """The requester withdraws a pending request; the change is discarded."""
        with self._s.uow() as uow:
            now = self._s.clock.now()
            request = _load(uow, approval_id)
            handler = self.handler(request.command)
            decided = cancel_request(request, actor, at=now)
            uow.approvals.update(decided, request.version)
            handler.discard(uow, decided, actor, now)
            self._record(uow, actor, request, decided, "approval.cancel")
            uow.commit()
        return decided

    def _decide(self, approval_id: str, *, approved: bool, note: str, actor: Actor | None) -> ApprovalRequest:
        with self._s.uow(write=False) as uow:
            pending = _load(uow, approval_id)
        handler = self.handler(pending.command)
        actor = self._s.authorize(actor, handler.permission, pending.customer_id)
        with self._s.uow() as uow:
            now = self._s.clock.now()
            if pending.customer_id:
                uow.accounts.lock(pending.customer_id)  # decisions on one customer run one after the other
            request = _load(uow, approval_id)
            decided = (approve_request if approved else reject_request)(request, actor, at=now, note=note)
            uow.approvals.update(decided, request.version)
            if decided.status is ApprovalStatus.APPROVED:
                handler.apply(uow, decided, actor, now)
            elif decided.status is ApprovalStatus.REJECTED:
                handler.discard(uow, decided, actor, now)
            self._record(uow, actor, request, decided, "approval.approve" if approved else "approval.reject")
            uow.commit()
        return decided

    def _record(
        self, uow: UnitOfWork, actor: Actor, before: ApprovalRequest, after: ApprovalRequest, action: str
    ) -> None:
        step = len(after.decisions)
        self._s.record(
            uow,
            actor=actor,
            action=action,
            entity_type="approval",
            entity_id=after.id,
            changes={
                "status": [before.status.value, after.status.value],
                "step": [step - 1 if step else None, step],
                "command": [after.command, after.command],
            },
            event="approval.decided",
            payload={"command": after.command, "status": after.status.value, "customer_id": after.customer_id},
        )


# -- bulk import: governed fields become requests (DESIGN.md section 3, Bulk) -----------------------

#: Import columns that an approval rule may govern: ``credit_limit`` ({amount, currency}, or
#: ``"50000 MYR"``; empty for no credit) and ``settlement_method``.
GOVERNED_IMPORT_FIELDS: Final = ("credit_limit", "settlement_method")


def _import_limit(value: Any) -> Money | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        amount, _, currency = value.strip().partition(" ")
        if not currency:
            raise ValidationError(
                "give a credit limit as '<amount> <currency>'", code="invalid_amount", field="credit_limit", value=value
            )
        return Money(amount, currency.strip())
    try:
        return converter.structure(value, Money)
    except ValidationError as error:
        raise ValidationError(error.message, code=error.code, field="credit_limit", value=value) from None


def governed_update(
    services: Services,
    uow: UnitOfWork,
    row: int,
    data: Mapping[str, Any],
    actor: Actor,
    requests: list[RowApproval],
    update: Callable[[Mapping[str, Any]], None],
) -> None:
    """Import one update row: ``update`` gets the row without its governed fields; each governed
    field then changes at once or, when an approval rule governs the change, becomes a request
    (appended to ``requests``). A row with no governed field goes to ``update`` unchanged."""
    governed = {k: data[k] for k in GOVERNED_IMPORT_FIELDS if k in data}
    if not governed:
        update(data)
        return
    limit = _import_limit(governed["credit_limit"]) if "credit_limit" in governed else None
    rest = {k: v for k, v in data.items() if k not in governed}
    if set(rest) - {"code"}:
        update(rest)
    from bigledger_customers.services.accounts import AccountService
    from bigledger_customers.services.credit import change_limit_in

    customer = load_customer(uow, str(data["code"]), follow_merge=False)
    now = services.clock.now()
    if "settlement_method" in governed:
        method = str(governed["settlement_method"])
        change = AccountService(services).settlement_in(uow, customer, method, None, actor, now)
        if change.approval is not None:
            requests.append(RowApproval(row, "settlement_method", change.approval.id))
    if "credit_limit" in governed:
        if limit is None:
            raise ValidationError(
                "give the credit limit's currency: {amount, currency}", code="invalid_amount", field="credit_limit"
            )
        limited = change_limit_in(services, uow, customer, limit.currency, limit, actor, now)
        if limited.approval is not None:
            requests.append(RowApproval(row, "credit_limit", limited.approval.id))
