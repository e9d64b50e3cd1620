"""Checkout (``book.checkout``): quote, reserve, confirm, reject (DESIGN.md section 6).

``quote`` reads once and writes nothing. ``reserve``, ``confirm`` and ``reject`` are one unit of
work each, in the order of every money command (DESIGN.md section 2): claim the step's ``key``, lock
the account row and then the credit profile row (always in this order, so concurrent checkouts
cannot deadlock), expire overdue holds, check every part (prepayment, rebate, credit), then write
every hold, store the outcome with the key and commit. A refusal of any part is stored under the
key and replayed, and nothing of any part has been written by then: a refused reservation holds
nothing, and a crash leaves no half-reserved order. Run on a host connection (join mode) the step
commits with the host's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
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
from bigledger_customers.domain.customer import Customer, CustomerStatus
from bigledger_customers.domain.idempotency import check_key
from bigledger_customers.domain.rebates import CustomerFacts, UsageRule, allowed_rebate
from bigledger_customers.domain.rebates import rebate_available as available_rebate
from bigledger_customers.domain.records import Actor
from bigledger_customers.errors import NotAllowed, ValidationError
from bigledger_customers.money import Money
from bigledger_customers.ports import UnitOfWork
from bigledger_customers.services._base import Services, load_customer
from bigledger_customers.services.access import out_of_scope
from bigledger_customers.services.accounts import DEFAULT_METHOD, USAGE_RULES, AccountService, run_keyed
from bigledger_customers.services.credit import (
    CreditService,
    check_hold_in,
    check_release_in,
    check_settle_in,
    credit_decision_in,
)

__all__ = ["CheckoutService"]

DEFAULT_TTL = dt.timedelta(minutes=30)


def _usage_rules(raw: Any, cache: dict[str, Any]) -> list[UsageRule]:
    """Usage rules from their stored JSON, parsed once per distinct document (quotes must be fast).

    The cache holds one (marker, rules) pair replaced in one assignment, so threads sharing the
    book never see the marker of one document with the rules of another.
    """
    marker = repr(raw)
    cached = cache.get("rules")
    if cached is None or cached[0] != marker:
        cached = (marker, list(converter.structure(raw or [], list[UsageRule])))
        cache["rules"] = cached
    return cached[1]


class CheckoutService:
    """Quote an order, then reserve, confirm or reject it, idempotently."""

    def __init__(self, services: Services, accounts: AccountService, credit: CreditService) -> None:
        self._s = services
        self._accounts = accounts
        self._credit = credit
        self._rules_cache: dict[str, Any] = {}

    def quote(self, order: Order, *, actor: Actor | None = None) -> Quote:
        """Status, settlement method, rebate allowed, prepayment available, credit decision and the plan.

        A quote is read access: with an actor (given or from ``acting_as``) it needs
        ``accounts.view`` over the order's customer (NotFound outside its scope, audited).
        """
        access = self._s.read_access(actor, Permission.ACCOUNTS_VIEW)
        if not isinstance(order, Order):
            raise ValidationError("give an Order", code="invalid_order", field="order")
        with self._s.uow(write=False) as uow:
            now = self._s.clock.now()
            customer = load_customer(uow, order.customer)
            if access.covers(customer):
                return self._quote_in(uow, order, customer, now)
        raise out_of_scope(self._s, access, Permission.ACCOUNTS_VIEW, order.customer)

    def _quote_in(self, uow: UnitOfWork, order: Order, customer: Customer, now: dt.datetime) -> Quote:
        """The quote of ``order`` for ``customer``, read in ``uow``."""
        amount = order.amount
        currency = amount.currency
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
            rebate_available = available_rebate(uow.grants.for_account(account.id), currency, now)
        rules = _usage_rules(uow.config.get(USAGE_RULES), self._rules_cache)
        if rules:
            facts = CustomerFacts(customer.id, customer.code, customer.level, customer.category)
            rebate_allowed = min(allowed_rebate(rules, facts, amount).amount, rebate_available)
        else:  # no usage rule: the whole order may be paid with rebate (what allowed_rebate answers)
            rebate_allowed = min(amount, rebate_available)
        method_name = method.value
        plan = plan_payment(
            amount,
            method=method_name,
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
            decision = credit_decision_in(
                uow, customer, plan.credit, now=now, rates=self._s.settings.integrations.rates
            )
            seen = {r.code for r in reasons}
            reasons.extend(r for r in decision.reasons if r.code not in seen)
        return Quote(
            order=order,
            customer_id=customer.id,
            customer_status=customer.status.value,
            settlement_method=method_name,
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
        holds_account = not plan.rebate.is_zero() or not plan.prepayment.is_zero()

        def check(uow: UnitOfWork, now: dt.datetime) -> Callable[[], Reservation]:
            # The quote holds the customer's id: one read by id (load_customer tries the code first).
            customer = uow.customers.get(quote.customer_id)
            if customer is None or customer.status is CustomerStatus.MERGED:
                customer = load_customer(uow, quote.customer_id)
            expires_at = now + ttl
            # Lock order: the account row (inside submit_payment_in), then the credit profile row.
            place_account = None
            if holds_account:
                place_account = self._accounts.submit_payment_in(
                    uow,
                    now,
                    customer,
                    prepayment=None if plan.prepayment.is_zero() else plan.prepayment,
                    rebate=None if plan.rebate.is_zero() else plan.rebate,
                    order=order.number,
                    order_amount=order.amount,
                    expires_in=ttl,
                    actor=actor,
                )
            place_credit = None
            if not plan.credit.is_zero():
                place_credit, _ = check_hold_in(
                    uow,
                    self._s,
                    customer,
                    plan.credit,
                    reference=order.number,
                    expires_at=expires_at,
                    now=now,
                    actor=actor,
                    override_id=override,
                )

            def write() -> Reservation:
                account_hold = place_account() if place_account is not None else None
                credit_hold = place_credit() if place_credit is not None else None
                return Reservation(
                    id=key,
                    key=key,
                    customer_id=customer.id,
                    order=order.number,
                    plan=plan,
                    account_hold_id=account_hold.id if account_hold else None,
                    credit_hold_id=credit_hold.id if credit_hold else None,
                    expires_at=expires_at,
                )

            return write

        args = {"customer": quote.customer_id, "order": order, "plan": plan, "ttl": ttl, "override": override}
        return run_keyed(self._s, "checkout.reserve", key=key, args=args, result_type=Reservation, check=check)

    def confirm(self, reservation: Reservation, *, key: str, actor: Actor | None = None) -> Reservation:
        """Settle: the expense record and grants consumed smallest-first (accounts), the credit part
        becomes an invoice receivable numbered by the order. All or nothing, in one transaction."""
        key = check_key(key)
        _check_reservation(reservation)
        actor = self._s.authorize(actor, Permission.ACCOUNTS_PAY, reservation.customer_id)
        r = reservation

        def check(uow: UnitOfWork, now: dt.datetime) -> Callable[[], Reservation]:
            writers: list[Callable[[], object]] = []
            if r.account_hold_id is not None:
                writers.append(
                    self._accounts.confirm_in(uow, now, r.account_hold_id, customer_id=r.customer_id, actor=actor)
                )
            if r.credit_hold_id is not None:
                writers.append(
                    check_settle_in(
                        uow,
                        self._s,
                        r.credit_hold_id,
                        amount=None,
                        invoice=r.order,
                        issued=None,
                        now=now,
                        actor=actor,
                        customer_id=r.customer_id,
                    )
                )
            return lambda: _run_all(writers, attrs.evolve(r, state=ReservationState.CONFIRMED))

        return run_keyed(
            self._s, "checkout.confirm", key=key, args=_reservation_args(r), result_type=Reservation, check=check
        )

    def reject(
        self, reservation: Reservation, *, key: str, reason: str = "", actor: Actor | None = None
    ) -> Reservation:
        """Release everything the reservation holds, in one transaction."""
        key = check_key(key)
        _check_reservation(reservation)
        actor = self._s.authorize(actor, Permission.ACCOUNTS_PAY, reservation.customer_id)
        r = reservation

        def check(uow: UnitOfWork, now: dt.datetime) -> Callable[[], Reservation]:
            writers: list[Callable[[], object]] = []
            if r.account_hold_id is not None:
                writers.append(
                    self._accounts.reject_in(
                        uow, now, r.account_hold_id, reason=reason, customer_id=r.customer_id, actor=actor
                    )
                )
            if r.credit_hold_id is not None:
                writers.append(
                    check_release_in(
                        uow, self._s, r.credit_hold_id, now=now, actor=actor, reason=reason, customer_id=r.customer_id
                    )
                )
            return lambda: _run_all(writers, attrs.evolve(r, state=ReservationState.REJECTED))

        args = {**_reservation_args(r), "reason": reason}
        return run_keyed(self._s, "checkout.reject", key=key, args=args, result_type=Reservation, check=check)


def _check_reservation(reservation: object) -> None:
    if not isinstance(reservation, Reservation):
        raise ValidationError("give the Reservation of the order", code="invalid_reservation", field="reservation")


def _reservation_args(r: Reservation) -> dict[str, Any]:
    return {
        "reservation": r.id,
        "customer": r.customer_id,
        "order": r.order,
        "account_hold": r.account_hold_id,
        "credit_hold": r.credit_hold_id,
    }


def _run_all(writers: list[Callable[[], object]], result: Reservation) -> Reservation:
    for write in writers:
        write()
    return result


#: Reasons an approved credit override cannot lift.
_HARD = frozenset({"customer_not_active", "stop_supply", "prepayment_short"})


def plan_of(quote: Quote) -> PaymentPlan:
    """The plan of a quote (a helper for hosts that print it)."""
    return quote.plan
