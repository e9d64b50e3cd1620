"""Checkout (``book.checkout``): quote, reserve, confirm, reject (DESIGN.md section 6).

``quote`` reads once and writes nothing. ``reserve`` places the accounts hold (rebate + prepayment,
``book.accounts.submit_payment``) and the credit hold (``book.credit.hold``); if the second is
refused the first is rejected again, so a refused reservation holds nothing. Each step derives the
idempotency keys of its parts from its own ``key`` (``<key>:accounts``, ``<key>:credit``), so a
retry replays the first outcome of every part and a key reused with other arguments is Conflict.
Run on a host connection (join mode) every part commits with the host's transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from bigledger_customers.domain.access import Permission
from bigledger_customers.domain.accounts import SettlementMethod
from bigledger_customers.domain.checkout import (
    Order,
    PaymentPlan,
    Quote,
    Reservation,
    ReservationState,
    plan_payment,
)
from bigledger_customers.domain.convert import converter
from bigledger_customers.domain.credit import Reason, Severity
from bigledger_customers.domain.customer import CustomerStatus
from bigledger_customers.domain.idempotency import check_key
from bigledger_customers.domain.rebates import CustomerFacts, UsageRule, allowed_rebate, rebate_balance
from bigledger_customers.domain.records import Actor
from bigledger_customers.errors import BigLedgerError, NotAllowed, ValidationError
from bigledger_customers.money import Money
from bigledger_customers.services._base import Services, load_customer
from bigledger_customers.services.accounts import DEFAULT_METHOD, USAGE_RULES, AccountService
from bigledger_customers.services.credit import CreditService, credit_decision_in

__all__ = ["CheckoutService"]

DEFAULT_TTL = dt.timedelta(minutes=30)


def _usage_rules(raw: Any, cache: dict[str, Any]) -> list[UsageRule]:
    """Usage rules from their stored JSON, parsed once per distinct document (quotes must be fast)."""
    marker = repr(raw)
    if cache.get("marker") != marker:
        cache["marker"] = marker
        cache["rules"] = list(converter.structure(raw or [], list[UsageRule]))
    return cache["rules"]  # type: ignore[no-any-return]


class CheckoutService:
    """Quote an order, then reserve, confirm or reject it, idempotently."""

    def __init__(self, services: Services, accounts: AccountService, credit: CreditService) -> None:
        self._s = services
        self._accounts = accounts
        self._credit = credit
        self._rules_cache: dict[str, Any] = {}

    def quote(self, order: Order) -> Quote:
        """Status, settlement method, rebate allowed, prepayment available, credit decision and the plan."""
        if not isinstance(order, Order):
            raise ValidationError("give an Order", code="invalid_order", field="order")
        amount = order.amount
        currency = amount.currency
        with self._s.uow(write=False) as uow:
            now = self._s.clock.now()
            customer = load_customer(uow, order.customer)
            account = uow.accounts.get(customer.id)
            method = (
                account.settlement_method
                if account is not None
                else SettlementMethod(uow.config.get(DEFAULT_METHOD) or SettlementMethod.PAY_NOW)
            )
            zero = Money.zero(currency)
            prepayment = zero
            rebate_available = zero
            if account is not None:
                balance = uow.balances.get(account.id, currency)
                prepayment = balance.available if balance is not None else zero
                rebate_available = rebate_balance(uow.grants.for_account(account.id), currency, now).available
            rules = _usage_rules(uow.config.get(USAGE_RULES), self._rules_cache)
            facts = CustomerFacts(customer.id, customer.code, customer.level, customer.category)
            allowance = allowed_rebate(rules, facts, amount)
            rebate_allowed = min(allowance.amount, rebate_available)
            plan = plan_payment(
                amount,
                method=method.value,
                rebate_allowed=rebate_allowed,
                prepayment_available=prepayment,
                rebate_wanted=order.rebate,
                use_prepayment=order.use_prepayment,
            )
            reasons: list[Reason] = []
            if customer.status is not CustomerStatus.ACTIVE:
                reasons.append(
                    Reason(
                        code="customer_not_active",
                        message=f"customer is {customer.status}",
                        severity=Severity.BLOCK,
                        detail={"status": customer.status.value},
                    )
                )
            if method is SettlementMethod.PREPAID and plan.prepayment > prepayment:
                reasons.append(
                    Reason(
                        code="prepayment_short",
                        message=f"prepayment and rebate fall short by {(plan.prepayment - prepayment).amount}",
                        severity=Severity.BLOCK,
                        amount=plan.prepayment - prepayment,
                    )
                )
            decision = None
            if not plan.credit.is_zero():
                decision = credit_decision_in(uow, customer, plan.credit, now=now)
                seen = {r.code for r in reasons}
                reasons.extend(r for r in decision.reasons if r.code not in seen)
        return Quote(
            order=order,
            customer_id=customer.id,
            customer_status=customer.status.value,
            settlement_method=method.value,
            rebate_allowed=rebate_allowed,
            rebate_available=rebate_available,
            prepayment_available=prepayment,
            credit=decision,
            plan=plan,
            reasons=tuple(reasons),
            quoted_at=now,
        )

    def reserve(
        self,
        quote: Quote,
        *,
        key: str,
        expires_in: dt.timedelta | None = None,
        override: str | None = None,
        actor: Actor | None = None,
    ) -> Reservation:
        """Hold what the quote's plan needs; refused (NotAllowed ``checkout_blocked``) when the quote
        is blocked, or by the holds themselves (InsufficientFunds) when balances or credit moved since."""
        key = check_key(key)
        if not isinstance(quote, Quote):
            raise ValidationError("give the Quote of the order", code="invalid_quote", field="quote")
        actor = self._s.authorize(actor, Permission.ACCOUNTS_PAY, quote.customer_id)
        blocking = [r for r in quote.reasons if r.severity is Severity.BLOCK]
        if blocking and not (override and all(r.code not in _HARD for r in blocking)):
            raise NotAllowed(
                "checkout blocked: " + "; ".join(r.message for r in blocking), code="checkout_blocked", field="order"
            )
        plan, order = quote.plan, quote.order
        ttl = expires_in or DEFAULT_TTL
        expires_at = self._s.clock.now() + ttl
        account_hold = None
        if not plan.rebate.is_zero() or not plan.prepayment.is_zero():
            account_hold = self._accounts.submit_payment(
                quote.customer_id,
                prepayment=None if plan.prepayment.is_zero() else plan.prepayment,
                rebate=None if plan.rebate.is_zero() else plan.rebate,
                order=order.number,
                order_amount=order.amount,
                expires_in=ttl,
                key=f"{key}:accounts",
                actor=actor,
            )
            expires_at = account_hold.expires_at or expires_at
        credit_hold = None
        if not plan.credit.is_zero():
            try:
                credit_hold = self._credit.hold(
                    quote.customer_id,
                    plan.credit,
                    reference=order.number,
                    expires_at=expires_at,
                    key=f"{key}:credit",
                    actor=actor,
                    override=override,
                )
            except BigLedgerError:
                if account_hold is not None and account_hold.is_open():
                    self._accounts.reject(
                        account_hold.id,
                        reason="credit refused",
                        key=f"{key}:undo",
                        actor=actor,
                    )
                raise
        return Reservation(
            id=key,
            key=key,
            customer_id=quote.customer_id,
            order=order.number,
            plan=plan,
            account_hold_id=account_hold.id if account_hold else None,
            credit_hold_id=credit_hold.id if credit_hold else None,
            expires_at=expires_at,
        )

    def confirm(self, reservation: Reservation, *, key: str, actor: Actor | None = None) -> Reservation:
        """Settle: the expense record and grants consumed smallest-first (accounts), the credit part
        becomes an invoice receivable numbered by the order."""
        key = check_key(key)
        actor = self._s.authorize(actor, Permission.ACCOUNTS_PAY, reservation.customer_id)
        if reservation.account_hold_id is not None:
            self._accounts.confirm(reservation.account_hold_id, key=f"{key}:accounts", actor=actor)
        if reservation.credit_hold_id is not None:
            self._credit.settle(reservation.credit_hold_id, invoice=reservation.order, key=f"{key}:credit", actor=actor)
        return attrs.evolve(reservation, state=ReservationState.CONFIRMED)

    def reject(
        self, reservation: Reservation, *, key: str, reason: str = "", actor: Actor | None = None
    ) -> Reservation:
        """Release everything the reservation holds."""
        key = check_key(key)
        actor = self._s.authorize(actor, Permission.ACCOUNTS_PAY, reservation.customer_id)
        if reservation.account_hold_id is not None:
            self._accounts.reject(
                reservation.account_hold_id,
                reason=reason,
                key=f"{key}:accounts",
                actor=actor,
            )
        if reservation.credit_hold_id is not None:
            self._credit.release(reservation.credit_hold_id, key=f"{key}:credit", actor=actor, reason=reason)
        return attrs.evolve(reservation, state=ReservationState.REJECTED)


#: Reasons an approved credit override cannot lift.
_HARD = frozenset({"customer_not_active", "stop_supply", "prepayment_short"})


def plan_of(quote: Quote) -> PaymentPlan:
    """The plan of a quote (a helper for hosts that print it)."""
    return quote.plan
