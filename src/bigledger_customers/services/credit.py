"""Credit (``book.credit``): terms, profiles, receivables, exposure, decisions, holds, aging, dunning.

DESIGN.md section 4. One unit of work per command; the ``*_in`` functions at the bottom run inside
a caller's unit of work so checkout can decide and hold credit in the same transaction as the rest
of a reservation.

>>> import datetime as dt
>>> from bigledger_customers import connect, Actor, Money
>>> book = connect("memory://")
>>> admin = Actor(id="u1", roles={"admin"})
>>> c = book.customers.create({"name": {"en": "ABC Trading"}, "country": "MY"}, actor=admin)
>>> _ = book.credit.set_profile(c.code, "MYR", limit=Money("10000", "MYR"), actor=admin)
>>> _ = book.credit.post_invoice(c.code, "INV-1", Money("7000", "MYR"), issued=dt.date(2026, 1, 1), actor=admin)
>>> book.credit.check(c.code, Money("3500", "MYR"), as_of=dt.date(2026, 1, 1)).reasons[0].message
'over limit by 500.00'
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, TypeVar

import attrs

from bigledger_customers.domain import aging as ag
from bigledger_customers.domain.access import Permission
from bigledger_customers.domain.accounts import SettlementMethod
from bigledger_customers.domain.approvals import (
    FINANCE,
    ApprovalRequest,
    ApprovalStatus,
    ApprovalStep,
)
from bigledger_customers.domain.convert import converter, structure_as
from bigledger_customers.domain.credit import Allocation as AllocationLine
from bigledger_customers.domain.credit import (
    CreditDecision,
    CreditFacts,
    CreditHold,
    CreditOutcome,
    CreditPolicy,
    CreditProfile,
    DocumentKind,
    Exposure,
    HoldState,
    ItemKind,
    OpenItem,
    PostedDocument,
    ReceivableRecord,
    Severity,
    allocate,
    decide,
    override,
)
from bigledger_customers.domain.currency import ExchangeRates, RateTable, convert, total_in
from bigledger_customers.domain.customer import Customer, CustomerStatus
from bigledger_customers.domain.idempotency import (
    fingerprint,
)
from bigledger_customers.domain.rebates import rebate_available
from bigledger_customers.domain.records import Actor
from bigledger_customers.domain.terms import BUILT_IN_TERMS, PaymentTerms
from bigledger_customers.errors import (
    BigLedgerError,
    Conflict,
    InsufficientFunds,
    NotAllowed,
    NotFound,
    ValidationError,
)
from bigledger_customers.money import Money
from bigledger_customers.ports import UnitOfWork
from bigledger_customers.services._base import Services, load_customer, save_config
from bigledger_customers.services.access import deny, out_of_scope, require_whole_book, scoped_read
from bigledger_customers.services.accounts import DEFAULT_METHOD, run_keyed
from bigledger_customers.services.approvals import ApprovalHandler, Handler, load_policy, open_in, request_in

__all__ = [
    "CreditConfig",
    "CreditService",
    "LimitChange",
    "check_hold_in",
    "check_release_in",
    "check_settle_in",
    "credit_decision_in",
    "place_hold_in",
    "release_hold_in",
    "settle_hold_in",
]

BUCKETS: Final = "credit.aging_buckets"
DUNNING: Final = "credit.dunning_levels"
DSO_DAYS: Final = "credit.dso_days"
APPROVAL_POLICY: Final = "approvals.policy"  # the accounts service's key: one policy for every approval
OVERRIDE: Final = "credit.override"
LIMIT: Final = "credit.limit"
#: Config-name prefix of the last dunning level a customer was told of (``+ customer id``).
DUNNING_NOTIFIED: Final = "credit.dunning_notified."


class _Unset:
    pass


UNSET: Final[Any] = _Unset()


@attrs.frozen(kw_only=True)
class CreditConfig:
    """What a host configures for credit: aging buckets, dunning levels, the DSO period."""

    buckets: ag.AgingBuckets = ag.DEFAULT_BUCKETS
    dunning: ag.DunningPolicy = ag.DEFAULT_DUNNING
    dso_days: int = 90


def _config(uow: UnitOfWork) -> CreditConfig:
    buckets = uow.config.get(BUCKETS)
    levels = uow.config.get(DUNNING)
    days = uow.config.get(DSO_DAYS)
    return CreditConfig(
        buckets=ag.AgingBuckets(buckets) if buckets else ag.DEFAULT_BUCKETS,
        dunning=ag.DunningPolicy(converter.structure(levels, list[ag.DunningLevel])) if levels else ag.DEFAULT_DUNNING,
        dso_days=int(days) if days else 90,
    )


def _dunning(uow: UnitOfWork) -> ag.DunningPolicy:
    levels = uow.config.get(DUNNING)
    return ag.DunningPolicy(converter.structure(levels, list[ag.DunningLevel])) if levels else ag.DEFAULT_DUNNING


def _today(now: dt.datetime) -> dt.date:
    return now.astimezone(dt.UTC).date()


def _positive(amount: Money, field: str = "amount") -> Money:
    if not isinstance(amount, Money):
        raise ValidationError("amounts are Money values", code="invalid_amount", field=field, value=amount)
    if amount.amount <= 0:
        raise ValidationError("amount must be above zero", code="non_positive_amount", field=field, value=str(amount))
    return amount


def _date(value: object, field: str) -> dt.date:
    return structure_as(value, dt.date, field=field)  # type: ignore[no-any-return]


# -- the rules, inside a caller's unit of work ----------------------------------------------------


def _group(uow: UnitOfWork, customer: Customer, currency: str) -> tuple[Customer | None, CreditProfile | None]:
    """The top-most ancestor (or the customer itself) whose profile shares its limit with its subtree."""
    found: tuple[Customer | None, CreditProfile | None] = (None, None)
    node: Customer | None = customer
    seen: set[str] = set()
    while node is not None and node.id not in seen:
        seen.add(node.id)
        profile = uow.credit.get_profile(node.id, currency)
        if profile is not None and profile.group:
            found = (node, profile)
        node = uow.customers.get(node.parent_id) if node.parent_id else None
    return found


def _subtree(uow: UnitOfWork, root_id: str) -> list[str]:
    members, level, seen = [root_id], [root_id], {root_id}
    while level:
        nxt = [c for node in level for c in uow.customers.children(node) if c not in seen]
        seen.update(nxt)
        members.extend(nxt)
        level = nxt
    return members


T = TypeVar("T")


def _item_order(item: OpenItem) -> tuple[Any, ...]:
    """Open items oldest due first (then issue date, document, line, id: a total order)."""
    return (item.due, item.issued, item.document, item.line, item.id)


def _exposure(uow: UnitOfWork, ids: Sequence[str], new_order: Money, now: dt.datetime) -> Exposure:
    currency = new_order.currency
    return Exposure.of(
        open_items=uow.credit.open_total(ids, currency),
        held=uow.credit.held_total(ids, currency, now),
        new_order=new_order,
    )


def _open_total(items: Sequence[OpenItem], currency: str) -> Money:
    """Open receivables net of unapplied credit (what ``CreditRepository.open_total`` sums)."""
    if not items:
        return Money.zero(currency)
    net = _NOTHING
    for item in items:
        open_ = item.open.amount  # exact Decimals at the currency's exponent: the sum is exact too
        if open_ > 0:
            net += open_ if item.kind is ItemKind.INVOICE else -open_
    return Money(net, currency)


_NOTHING: Final = Decimal(0)


def _any_overdue(items: Sequence[OpenItem], as_of: dt.date) -> bool:
    return any(i.kind is ItemKind.INVOICE and i.open.amount > 0 and i.due < as_of for i in items)


def _approved_override(uow: UnitOfWork, approval_id: str, customer: Customer, amount: Money) -> ApprovalRequest:
    request = uow.approvals.get(approval_id)
    if request is None or request.command != OVERRIDE:
        raise NotFound(f"no credit override {approval_id!r}", code="approval_not_found", field="override")
    if request.customer_id != customer.id:
        raise ValidationError("the override is for another customer", code="override_mismatch", field="override")
    if request.status is not ApprovalStatus.APPROVED:
        raise NotAllowed(f"override {approval_id} is {request.status}", code="override_not_approved", field="override")
    granted = converter.structure(request.payload["amount"], Money)
    if granted.currency != amount.currency or amount > granted:
        raise NotAllowed(
            f"the override covers orders up to {granted}", code="override_exceeded", field="override", value=str(amount)
        )
    return request


def credit_decision_in(
    uow: UnitOfWork,
    customer: Customer,
    amount: Money,
    *,
    now: dt.datetime,
    as_of: dt.date | None = None,
    config: CreditConfig | None = None,
    lock: bool = False,
    override_id: str | None = None,
    rates: ExchangeRates | None = None,
    prepaid_cover: bool = False,
) -> CreditDecision:
    """The credit decision for ``customer`` ordering ``amount`` more, read in ``uow``.

    With ``lock`` the credit profile rows (the customer's and its group's) are locked first, so a
    hold placed right after cannot race another one (DESIGN.md section 2: check, then write).

    The limit is the profile in the order's currency, else the one in the customer's default
    currency (else its only profile). Exposure is counted in the limit's currency: open items and
    holds in currencies without a profile of their own are converted with ``rates`` as of the
    decision date ``as_of`` (a missing rate raises NotFound ``missing_exchange_rate``, naming the
    pair and date). With ``prepaid_cover`` a prepaid customer is tested against its cover
    (prepayment and rebate available) instead of a limit.
    """
    as_of = as_of or _today(now)
    read = uow.credit.lock_profile if lock else uow.credit.get_profile
    profile, currency = _limit_profile(uow, customer, amount.currency, read)
    group_root, group_profile = (None, None) if customer.parent_id is None else _group(uow, customer, currency)
    if group_root is None and profile is not None and profile.group:
        group_root, group_profile = customer, profile
    if lock and group_root is not None and group_root.id != customer.id:
        group_profile = read(group_root.id, currency)
    table: ExchangeRates = rates if rates is not None else _NO_RATES
    all_items = uow.credit.items([customer.id])
    held = uow.credit.held_totals([customer.id], now)
    counted = _counted(uow, customer, currency, all_items, held, amount.currency)
    single = counted is None or len(counted) == 1  # one currency (the usual case): no conversion, no rates
    items = all_items if counted is None else [i for i in all_items if i.currency in counted]
    new_order = amount if amount.currency == currency else convert(amount, currency, table, on=as_of)
    if group_root is None or group_root.id != customer.id:
        # The customer's own open items are read anyway: their total needs no second query.
        if single:
            open_total = _open_total(items, currency)
            held_total = held.get(currency) or Money.zero(currency)
        else:
            by_currency = sorted(counted or ())
            open_total = total_in(
                currency, [_open_total([i for i in items if i.currency == c], c) for c in by_currency], table, on=as_of
            )
            held_total = total_in(currency, [held[c] for c in by_currency if c in held], table, on=as_of)
        exposure = Exposure(open_total, held_total, new_order)
    else:
        exposure = _exposure(uow, _subtree(uow, customer.id), new_order, now)
    group_exposure = None
    if group_root is not None and group_root.id != customer.id:
        group_exposure = _exposure(uow, _subtree(uow, group_root.id), new_order, now)
    # Dunning levels start at 1 day overdue: with nothing overdue every policy gives the same status,
    # so the configured one is read only when it can matter. With no invoice line past due at all the
    # status is known without computing it (0 days, no level, nothing overdue): the facts' defaults.
    facts_of_dunning: dict[str, Any] | None = None
    if _any_overdue(items, as_of):
        policy = config.dunning if config else _dunning(uow)
        dunning = ag.dunning_status(customer.id, items, as_of, policy)
        facts_of_dunning = {
            "oldest_overdue_days": dunning.oldest_overdue_days,
            "overdue_amount": dunning.overdue.get(currency),
            "stop_supply": dunning.stop_supply,
            "dunning_level": dunning.level.name if dunning.level else None,
        }
    settlement, cover = _prepaid_cover(uow, customer, amount, now) if prepaid_cover else (None, None)
    if facts_of_dunning is None and settlement is None:
        facts = _plain_facts(customer.status)  # nothing overdue, not a cover test: the usual case
    else:
        facts = CreditFacts(
            customer_status=customer.status.value,
            settlement=settlement,
            cover=None if cover is None else convert(cover, currency, table, on=as_of),
            **(facts_of_dunning or {}),
        )
    decision = decide(
        profile,
        exposure,
        facts=facts,
        as_of=as_of,
        group_profile=group_profile if group_exposure is not None else None,
        group_exposure=group_exposure,
        group_id=group_root.id if group_root is not None else None,
        customer_id=customer.id,
    )
    if override_id is not None:
        _approved_override(uow, override_id, customer, amount)
        decision = override(decision, override_id)
    return decision


#: No exchange rates at all: every conversion between two currencies is a missing rate.
_NO_RATES: Final = RateTable()


@functools.cache
def _plain_facts(status: CustomerStatus) -> CreditFacts:
    """The facts of a customer in ``status`` with nothing overdue and no cover test (values are immutable)."""
    return CreditFacts(customer_status=status.value)


def _home_currency(customer: Customer, profiles: Sequence[CreditProfile]) -> str | None:
    """The currency of the customer's home limit: its default currency, else its only profile's."""
    if customer.currency is not None:
        return customer.currency
    return profiles[0].currency if len(profiles) == 1 else None


def _limit_profile(
    uow: UnitOfWork, customer: Customer, currency: str, read: Callable[[str, str], CreditProfile | None]
) -> tuple[CreditProfile | None, str]:
    """The profile whose limit an order in ``currency`` counts against, and the limit's currency:
    the profile in ``currency``, else the home limit (see :func:`_home_currency`)."""
    profile = read(customer.id, currency)
    if profile is not None:
        return profile, currency
    home = (
        customer.currency
        if customer.currency is not None
        else _home_currency(customer, uow.credit.profiles(customer.id))
    )
    if home is not None and home != currency:
        found = read(customer.id, home)
        if found is not None:
            return found, home
    return None, currency


def _counted(
    uow: UnitOfWork,
    customer: Customer,
    currency: str,
    items: Sequence[OpenItem],
    held: Mapping[str, Money],
    order_currency: str,
) -> set[str] | None:
    """The currencies the limit in ``currency`` covers: its own and, for the home limit, those
    without a profile of their own (read only when the customer has items in other currencies).
    None when everything is in ``currency`` already (the usual case, checked without building sets)."""
    if order_currency == currency and all(c == currency for c in held) and all(i.currency == currency for i in items):
        return None
    foreign = ({i.currency for i in items} | set(held) | {order_currency}) - {currency}
    if not foreign:
        return {currency}
    profiles = uow.credit.profiles(customer.id)
    if _home_currency(customer, profiles) != currency:
        return {currency}
    return {currency} | (foreign - {p.currency for p in profiles})


def _prepaid_cover(
    uow: UnitOfWork, customer: Customer, amount: Money, now: dt.datetime
) -> tuple[str | None, Money | None]:
    """``("prepaid", prepayment + rebate available)`` for a prepaid customer, else ``(method, None)``."""
    account = uow.accounts.get(customer.id)
    method = (
        account.settlement_method
        if account is not None
        else SettlementMethod(uow.config.get(DEFAULT_METHOD) or SettlementMethod.PAY_NOW)
    )
    if method is not SettlementMethod.PREPAID:
        return method.value, None
    cover = Money.zero(amount.currency)
    if account is not None:
        balance = uow.balances.get(account.id, amount.currency)
        cover += balance.available if balance is not None else cover
        cover += rebate_available(uow.grants.for_account(account.id), amount.currency, now)
    return method.value, cover


def _refusal(decision: CreditDecision) -> BigLedgerError:
    blocking = [r for r in decision.reasons if r.severity is Severity.BLOCK]
    message = "credit refused: " + "; ".join(r.message for r in blocking)
    if any(r.code in ("over_limit", "group_over_limit", "no_credit") for r in blocking):
        return InsufficientFunds(message, code="credit_limit_exceeded", field="amount")
    return NotAllowed(message, code="credit_blocked", field="customer")


def check_hold_in(
    uow: UnitOfWork,
    services: Services,
    customer: Customer,
    amount: Money,
    *,
    reference: str,
    expires_at: dt.datetime,
    now: dt.datetime,
    actor: Actor,
    override_id: str | None = None,
    config: CreditConfig | None = None,
) -> tuple[Callable[[], CreditHold], CreditDecision]:
    """Lock the customer's credit and decide with ``amount`` as the new order; refused (raised) when
    blocked. Writes nothing: returns the writer that places the hold, and the decision."""
    decision = credit_decision_in(
        uow,
        customer,
        amount,
        now=now,
        lock=True,
        override_id=override_id,
        config=config,
        rates=services.settings.integrations.rates,
    )
    if decision.outcome is CreditOutcome.BLOCK:
        raise _refusal(decision)
    hold = CreditHold(
        id=services.new_id(),
        customer_id=customer.id,
        amount=amount,
        reference=reference,
        created_at=now,
        expires_at=expires_at,
    )

    def write() -> CreditHold:
        uow.credit.add_hold(hold)
        services.record(
            uow,
            actor=actor,
            action="credit.hold",
            entity_type="credit",
            entity_id=customer.id,
            changes={"hold": [None, hold.id], "amount": [None, str(amount)]},
            event="credit.hold_placed",
            payload={"customer_id": customer.id, "hold_id": hold.id, "amount": converter.unstructure(amount)},
        )
        return hold

    return write, decision


def place_hold_in(
    uow: UnitOfWork,
    services: Services,
    customer: Customer,
    amount: Money,
    *,
    reference: str,
    expires_at: dt.datetime,
    now: dt.datetime,
    actor: Actor,
    override_id: str | None = None,
) -> tuple[CreditHold, CreditDecision]:
    """Lock the customer's credit, decide with ``amount`` as the new order, and hold it unless blocked."""
    write, decision = check_hold_in(
        uow,
        services,
        customer,
        amount,
        reference=reference,
        expires_at=expires_at,
        now=now,
        actor=actor,
        override_id=override_id,
    )
    return write(), decision


def _open_hold(uow: UnitOfWork, hold_id: str, now: dt.datetime, customer_id: str | None = None) -> CreditHold:
    hold = uow.credit.get_hold(hold_id)
    if hold is None or (customer_id is not None and hold.customer_id != customer_id):
        raise NotFound(f"no credit hold {hold_id!r}", code="hold_not_found", field="hold")
    if hold.state is not HoldState.OPEN:
        raise NotAllowed(f"credit hold {hold_id} is already {hold.state}", code=f"hold_{hold.state}", field="hold")
    return hold


def check_release_in(
    uow: UnitOfWork,
    services: Services,
    hold_id: str,
    *,
    now: dt.datetime,
    actor: Actor,
    reason: str = "",
    customer_id: str | None = None,
) -> Callable[[], CreditHold]:
    """Check that the hold is open (of ``customer_id`` when given); returns the writer that releases
    it (an expired one is closed as expired)."""
    hold = _open_hold(uow, hold_id, now, customer_id)

    def write() -> CreditHold:
        state = HoldState.EXPIRED if hold.expires_at <= now else HoldState.RELEASED
        closed = attrs.evolve(hold, state=state, closed_at=now)
        uow.credit.close_hold(closed)
        services.record(
            uow,
            actor=actor,
            action="credit.release",
            entity_type="credit",
            entity_id=hold.customer_id,
            changes={"hold": [hold.id, state.value], "reason": [None, reason]},
            event="credit.hold_released",
            payload={"customer_id": hold.customer_id, "hold_id": hold.id, "state": state.value},
        )
        return closed

    return write


def release_hold_in(
    uow: UnitOfWork, services: Services, hold_id: str, *, now: dt.datetime, actor: Actor, reason: str = ""
) -> CreditHold:
    """Release an open hold (an expired one is closed as expired)."""
    return check_release_in(uow, services, hold_id, now=now, actor=actor, reason=reason)()


def check_settle_in(
    uow: UnitOfWork,
    services: Services,
    hold_id: str,
    *,
    amount: Money | None,
    invoice: str | None,
    issued: dt.date | None,
    now: dt.datetime,
    actor: Actor,
    customer_id: str | None = None,
) -> Callable[[], tuple[CreditHold, PostedDocument | None]]:
    """Check a settlement of an open hold (of ``customer_id`` when given) and its invoice; returns the
    writer. An expired hold is closed as expired (housekeeping) and the settlement refused."""
    hold = _open_hold(uow, hold_id, now, customer_id)
    if hold.expires_at <= now:
        uow.credit.close_hold(attrs.evolve(hold, state=HoldState.EXPIRED, closed_at=now))
        raise NotAllowed(f"credit hold {hold_id} has expired", code="hold_expired", field="hold")
    take = hold.amount if amount is None else amount
    if take.currency != hold.amount.currency or take.is_negative() or take > hold.amount:
        raise ValidationError(
            f"a settlement takes 0 to {hold.amount}", code="settle_exceeds_hold", field="amount", value=str(take)
        )
    post: Callable[[], PostedDocument] | None = None
    if not take.is_zero():
        customer = load_customer(uow, hold.customer_id)
        post = _check_invoice_in(
            uow,
            services,
            customer,
            invoice or hold.reference,
            take,
            issued=issued or _today(now),
            terms=None,
            due=None,
            now=now,
            actor=actor,
        )

    def write() -> tuple[CreditHold, PostedDocument | None]:
        closed = attrs.evolve(hold, state=HoldState.SETTLED, settled=take, closed_at=now)
        uow.credit.close_hold(closed)
        posted = post() if post is not None else None
        services.record(
            uow,
            actor=actor,
            action="credit.settle",
            entity_type="credit",
            entity_id=hold.customer_id,
            changes={"hold": [hold.id, "settled"], "settled": [None, str(take)]},
            event="credit.hold_settled",
            payload={"customer_id": hold.customer_id, "hold_id": hold.id, "amount": converter.unstructure(take)},
        )
        return closed, posted

    return write


def settle_hold_in(
    uow: UnitOfWork,
    services: Services,
    hold_id: str,
    *,
    amount: Money | None,
    invoice: str | None,
    issued: dt.date | None,
    now: dt.datetime,
    actor: Actor,
) -> tuple[CreditHold, PostedDocument | None]:
    """Settle an open hold: take ``amount`` (at most the hold; default all) and post it as an invoice
    numbered ``invoice`` (default the hold's reference). The rest is released. Never re-checks limits."""
    return check_settle_in(
        uow, services, hold_id, amount=amount, invoice=invoice, issued=issued, now=now, actor=actor
    )()


def _terms_for(uow: UnitOfWork, customer: Customer, currency: str, code: str | None) -> PaymentTerms | None:
    if code is None:
        account = uow.accounts.get(customer.id)
        code = account.payment_terms if account is not None else None
    if code is None:
        profile = uow.credit.get_profile(customer.id, currency)
        code = profile.terms if profile is not None else None
    if code is None:
        return None
    return _load_terms(uow, code)


def _load_terms(uow: UnitOfWork, code: str) -> PaymentTerms:
    terms = uow.credit.get_terms(code) or BUILT_IN_TERMS.get(code.strip().upper())
    if terms is None:
        raise ValidationError(f"no payment terms {code!r}", code="unknown_terms", field="terms", value=code)
    return terms


def _replay(uow: UnitOfWork, kind: DocumentKind, number: str, fp: str) -> PostedDocument | None:
    stored = uow.credit.get_document(kind, number)
    if stored is None:
        return None
    if stored.fingerprint != fp:
        raise Conflict(
            f"{kind.value} {number!r} was already posted with different content",
            code="document_number_reused",
            field="number",
            value=number,
        )
    return attrs.evolve(converter.structure(dict(stored.result), PostedDocument), replayed=True)


def _store(uow: UnitOfWork, posted: PostedDocument, fp: str, now: dt.datetime) -> None:
    uow.credit.add_document(
        ReceivableRecord(
            kind=posted.kind,
            number=posted.number,
            customer_id=posted.customer_id,
            fingerprint=fp,
            result=converter.unstructure(posted),
            created_at=now,
        )
    )


def _check_invoice_in(
    uow: UnitOfWork,
    services: Services,
    customer: Customer,
    number: str,
    amount: Money,
    *,
    issued: dt.date,
    terms: str | None,
    due: dt.date | None,
    now: dt.datetime,
    actor: Actor,
) -> Callable[[], PostedDocument]:
    """Check an invoice (number, terms, due date); returns the writer that posts it (or replays the
    same invoice posted before: its writer writes nothing)."""
    number = _number(number)
    _positive(amount)
    fp = fingerprint(
        "credit.invoice",
        {"customer": customer.id, "amount": amount, "issued": issued, "terms": terms, "due": due},
    )
    replayed = _replay(uow, DocumentKind.INVOICE, number, fp)
    if replayed is not None:
        return lambda: replayed
    rule = _terms_for(uow, customer, amount.currency, terms)
    if due is not None:
        if rule is not None and len(rule.instalments) > 1:
            raise ValidationError("a due date cannot override instalments", code="due_with_instalments", field="due")
        if due < issued:
            raise ValidationError("due date is before the invoice date", code="due_before_issue", field="due")
        schedule = [(1, due, amount)]
    elif rule is None:
        schedule = [(1, issued, amount)]
    else:
        schedule = [(p.line, p.due, p.amount) for p in rule.schedule(issued, amount)]
    items = tuple(
        OpenItem(
            id=services.new_id(),
            customer_id=customer.id,
            kind=ItemKind.INVOICE,
            document=number,
            document_kind=DocumentKind.INVOICE,
            line=line,
            issued=issued,
            due=line_due,
            amount=part,
            open=part,
        )
        for line, line_due, part in schedule
        if not part.is_zero()
    )

    def write() -> PostedDocument:
        for item in items:
            uow.credit.add_item(item)
        posted = PostedDocument(
            kind=DocumentKind.INVOICE, number=number, customer_id=customer.id, amount=amount, date=issued, items=items
        )
        _store(uow, posted, fp, now)
        services.record(
            uow,
            actor=actor,
            action="credit.post_invoice",
            entity_type="credit",
            entity_id=customer.id,
            changes={"invoice": [None, number], "amount": [None, str(amount)]},
            event="credit.invoice_posted",
            payload={
                "customer_id": customer.id,
                "number": number,
                "amount": converter.unstructure(amount),
                "due": [i.due.isoformat() for i in items],
            },
        )
        return posted

    return write


def _post_invoice_in(
    uow: UnitOfWork,
    services: Services,
    customer: Customer,
    number: str,
    amount: Money,
    *,
    issued: dt.date,
    terms: str | None,
    due: dt.date | None,
    now: dt.datetime,
    actor: Actor,
) -> PostedDocument:
    return _check_invoice_in(
        uow, services, customer, number, amount, issued=issued, terms=terms, due=due, now=now, actor=actor
    )()


def _number(number: object) -> str:
    if not isinstance(number, str) or not number.strip() or len(number.strip()) > 100:
        raise ValidationError("a document number is 1-100 characters", code="invalid_number", field="number")
    return number.strip()


# -- the service ---------------------------------------------------------------------------------


class CreditService:
    """Credit profiles, payment terms, receivables, exposure, decisions, holds, aging and dunning."""

    def __init__(self, services: Services) -> None:
        self._s = services

    # -- configuration ---------------------------------------------------------------------------

    def configure(
        self,
        *,
        aging_buckets: Sequence[int] | None = None,
        dunning: Sequence[ag.DunningLevel] | None = None,
        dso_days: int | None = None,
        actor: Actor | None = None,
    ) -> CreditConfig:
        """Change aging bucket bounds (days, e.g. ``(30, 60, 90, 120)``), dunning levels or the DSO period."""
        actor = self._s.authorize(actor, Permission.CREDIT_MANAGE, None)
        changes: dict[str, Any] = {}
        if aging_buckets is not None:
            changes[BUCKETS] = list(ag.AgingBuckets(aging_buckets).bounds)
        if dunning is not None:
            changes[DUNNING] = converter.unstructure(list(ag.DunningPolicy(dunning).levels))
        if dso_days is not None:
            if not 1 <= dso_days <= 3660:
                raise ValidationError("the DSO period is 1-3660 days", field="dso_days", value=dso_days)
            changes[DSO_DAYS] = dso_days
        with self._s.uow() as uow:
            save_config(self._s, uow, "credit", changes, actor)
            config = _config(uow)
            uow.commit()
        return config

    def config(self) -> CreditConfig:
        """The credit settings in force."""
        with self._s.uow(write=False) as uow:
            return _config(uow)

    # -- payment terms ---------------------------------------------------------------------------

    def define_terms(self, terms: PaymentTerms, *, actor: Actor | None = None) -> PaymentTerms:
        """Add or replace payment terms (reference data; ``COD`` and ``PREPAID`` exist already)."""
        actor = self._s.authorize(actor, Permission.CREDIT_MANAGE, None)
        if not isinstance(terms, PaymentTerms) or not terms.code:
            raise ValidationError("give PaymentTerms with a code", code="invalid_terms", field="terms")
        with self._s.uow() as uow:
            before = uow.credit.get_terms(terms.code)
            uow.credit.save_terms(terms)
            self._s.record(
                uow,
                actor=actor,
                action="credit.define_terms",
                entity_type="payment_terms",
                entity_id=terms.code,
                changes={"terms": [converter.unstructure(before) if before else None, converter.unstructure(terms)]},
                event="credit.terms_defined",
                payload={"code": terms.code},
            )
            uow.commit()
        return terms

    def terms(self, code: str) -> PaymentTerms:
        """Payment terms by code (ignoring case)."""
        with self._s.uow(write=False) as uow:
            return _load_terms(uow, code)

    def list_terms(self) -> list[PaymentTerms]:
        """Built-in and defined payment terms, by code."""
        with self._s.uow(write=False) as uow:
            stored = {t.code: t for t in uow.credit.list_terms()}
        return [t for _, t in sorted({**BUILT_IN_TERMS, **stored}.items())]

    # -- profiles --------------------------------------------------------------------------------

    def _read(self, ref: str, actor: Actor | None, read: Callable[[UnitOfWork, Customer], T]) -> T:
        """``read(uow, customer)`` when the reader holds ``credit.view`` over the customer."""
        return scoped_read(self._s, actor, Permission.CREDIT_VIEW, ref, read)

    def profile(self, ref: str, currency: str, *, actor: Actor | None = None) -> CreditProfile | None:
        """The customer's credit profile in ``currency``, or None (no credit).

        Credit queries are read access: with an actor (given or from ``acting_as``) they need
        ``credit.view`` over the customer (NotFound outside its scope, audited).
        """
        return self._read(ref, actor, lambda uow, customer: uow.credit.get_profile(customer.id, currency.upper()))

    def profiles(self, ref: str, *, actor: Actor | None = None) -> list[CreditProfile]:
        """Every credit profile of the customer."""
        return self._read(ref, actor, lambda uow, customer: list(uow.credit.profiles(customer.id)))

    def _whole_book(self, actor: Actor | None) -> None:
        """A report over every customer: ``credit.view`` over all customers (a scoped reader names one)."""
        require_whole_book(
            self._s, actor, Permission.CREDIT_VIEW, "may report on its own customers only: name one (customer=...)"
        )

    def set_profile(
        self,
        ref: str,
        currency: str,
        *,
        limit: Money | None = UNSET,
        terms: str | None = UNSET,
        rating: str | None = UNSET,
        last_review: dt.date | None = UNSET,
        review_months: int | None = UNSET,
        policy: str = UNSET,
        tolerance: Money | None = UNSET,
        max_overdue_days: int = UNSET,
        group: bool = UNSET,
        expected_version: int | None = None,
        actor: Actor | None = None,
    ) -> CreditProfile:
        """Create or change the customer's credit profile in ``currency``; only the arguments given change.

        ``limit=None`` means no credit. ``group=True`` shares the limit with every descendant. A
        limit increase that an approval rule for ``credit.limit`` governs is not applied: it waits in
        a request (see :meth:`change_limit`, which returns it) while the other fields apply.
        """
        return self._set_profile(
            ref,
            currency,
            limit=limit,
            terms=terms,
            rating=rating,
            last_review=last_review,
            review_months=review_months,
            policy=policy,
            tolerance=tolerance,
            max_overdue_days=max_overdue_days,
            group=group,
            expected_version=expected_version,
            actor=actor,
        )[0]

    def change_limit(self, ref: str, currency: str, limit: Money | None, *, actor: Actor | None = None) -> LimitChange:
        """Set the credit limit; an increase governed by a ``credit.limit`` approval rule (facts
        ``before``, ``after``, ``increase``, ``currency``) waits in the returned request instead."""
        profile, request = self._set_profile(ref, currency, limit=limit, actor=actor)
        return LimitChange(profile=profile, approval=request)

    def _set_profile(
        self,
        ref: str,
        currency: str,
        *,
        limit: Money | None = UNSET,
        terms: str | None = UNSET,
        rating: str | None = UNSET,
        last_review: dt.date | None = UNSET,
        review_months: int | None = UNSET,
        policy: str = UNSET,
        tolerance: Money | None = UNSET,
        max_overdue_days: int = UNSET,
        group: bool = UNSET,
        expected_version: int | None = None,
        actor: Actor | None = None,
    ) -> tuple[CreditProfile, ApprovalRequest | None]:
        actor = self._s.authorize(
            actor,
            Permission.CREDIT_CHANGE_LIMIT
            if limit is not UNSET or tolerance is not UNSET
            else Permission.CREDIT_MANAGE,
            ref,
        )
        given: dict[str, Any] = {
            k: v
            for k, v in {
                "limit": limit,
                "terms": terms,
                "rating": rating,
                "last_review": last_review,
                "review_months": review_months,
                "policy": policy,
                "tolerance": tolerance,
                "max_overdue_days": max_overdue_days,
                "group": group,
            }.items()
            if v is not UNSET
        }
        if "policy" in given:
            given["policy"] = structure_as(given["policy"], CreditPolicy, field="policy")
        if given.get("last_review") is not None:
            given["last_review"] = _date(given["last_review"], "last_review")
        with self._s.uow() as uow:
            now = self._s.clock.now()
            customer = load_customer(uow, ref)
            if customer.status in (CustomerStatus.VOIDED, CustomerStatus.MERGED):
                raise NotAllowed(f"customer {customer.code} is {customer.status}", code="customer_voided")
            before = uow.credit.lock_profile(customer.id, currency.upper())
            base = before or CreditProfile(customer_id=customer.id, currency=currency)
            if expected_version is not None and expected_version != base.version:
                raise Conflict("credit profile version differs", code="stale_version", field="version")
            if given.get("terms") is not None:
                given["terms"] = _load_terms(uow, given["terms"]).code
            request = _limit_request_in(self._s, uow, customer, base, given, actor, now)
            if request is not None:
                del given["limit"]
                if not given:
                    uow.commit()
                    return base, request
            try:
                after = attrs.evolve(base, **given, version=base.version + 1, updated_at=now)
            except (TypeError, ValueError) as error:
                if isinstance(error, BigLedgerError):
                    raise
                raise ValidationError(str(error), code="invalid_profile") from None
            uow.credit.save_profile(after, base.version)
            changes = {
                name: [converter.unstructure(getattr(before, name)) if before else None, converter.unstructure(value)]
                for name, value in given.items()
                if before is None or getattr(before, name) != getattr(after, name)
            }
            self._s.record(
                uow,
                actor=actor,
                action="credit.set_profile",
                entity_type="credit",
                entity_id=customer.id,
                changes=changes,
                event="credit.profile_changed",
                payload={"customer_id": customer.id, "currency": after.currency, "fields": sorted(changes)},
            )
            uow.commit()
        return after, request

    # -- receivables -----------------------------------------------------------------------------

    def post_invoice(
        self,
        ref: str,
        number: str,
        amount: Money,
        *,
        issued: dt.date,
        terms: str | None = None,
        due: dt.date | None = None,
        actor: Actor | None = None,
    ) -> PostedDocument:
        """Post an invoice; its lines fall due by ``terms`` (default: the account's, then the profile's,
        else on the invoice date). The same number with the same content replays; different content
        is Conflict ``document_number_reused``."""
        actor = self._s.authorize(actor, Permission.RECEIVABLES_POST, ref)
        issued = _date(issued, "issued")
        due = None if due is None else _date(due, "due")
        with self._s.uow() as uow:
            customer = load_customer(uow, ref)
            posted = _post_invoice_in(
                uow,
                self._s,
                customer,
                number,
                amount,
                issued=issued,
                terms=terms,
                due=due,
                now=self._s.clock.now(),
                actor=actor,
            )
            uow.commit()
        return posted

    def post_payment(
        self,
        ref: str,
        number: str,
        amount: Money,
        *,
        received: dt.date,
        invoices: Sequence[str] | Mapping[str, Money] | None = None,
        actor: Actor | None = None,
    ) -> PostedDocument:
        """Post a payment: to the named invoices (in order, or with explicit amounts), else oldest first.
        What is left stays as unapplied credit (it lowers exposure)."""
        return self._post_credit(
            DocumentKind.PAYMENT, ref, number, amount, _date(received, "received"), invoices, actor
        )

    def post_credit_note(
        self,
        ref: str,
        number: str,
        amount: Money,
        *,
        issued: dt.date,
        invoice: str | None = None,
        actor: Actor | None = None,
    ) -> PostedDocument:
        """Post a credit note against ``invoice`` (else oldest first), like a payment."""
        named = None if invoice is None else [invoice]
        return self._post_credit(DocumentKind.CREDIT_NOTE, ref, number, amount, _date(issued, "issued"), named, actor)

    def _post_credit(
        self,
        kind: DocumentKind,
        ref: str,
        number: str,
        amount: Money,
        on: dt.date,
        invoices: Sequence[str] | Mapping[str, Money] | None,
        actor: Actor | None = None,
    ) -> PostedDocument:
        number = _number(number)
        _positive(amount)
        actor = self._s.authorize(actor, Permission.RECEIVABLES_POST, ref)
        named: dict[str, Money | None] | None
        if invoices is None:
            named = None
        elif isinstance(invoices, Mapping):
            named = {_number(k): v for k, v in invoices.items()}
        elif isinstance(invoices, str):
            named = {_number(invoices): None}
        else:
            named = {_number(k): None for k in invoices}
        with self._s.uow() as uow:
            now = self._s.clock.now()
            customer = load_customer(uow, ref)
            fp = fingerprint(
                f"credit.{kind.value}", {"customer": customer.id, "amount": amount, "on": on, "invoices": named}
            )
            replayed = _replay(uow, kind, number, fp)
            if replayed is not None:
                return replayed
            items = uow.credit.items([customer.id], currency=amount.currency)
            pairs, rest = allocate(amount, items, named)
            lines = []
            for item, take in pairs:
                left = item.open - take
                uow.credit.set_open(item, attrs.evolve(item, open=left, closed_on=on if left.is_zero() else None))
                lines.append(AllocationLine(item_id=item.id, invoice=item.document, line=item.line, amount=take))
            opened: tuple[OpenItem, ...] = ()
            if not rest.is_zero():
                unapplied = OpenItem(
                    id=self._s.new_id(),
                    customer_id=customer.id,
                    kind=ItemKind.UNAPPLIED,
                    document=number,
                    document_kind=kind,
                    issued=on,
                    due=on,
                    amount=rest,
                    open=rest,
                )
                uow.credit.add_item(unapplied)
                opened = (unapplied,)
            posted = PostedDocument(
                kind=kind,
                number=number,
                customer_id=customer.id,
                amount=amount,
                date=on,
                items=opened,
                allocations=tuple(lines),
                unapplied=rest,
            )
            _store(uow, posted, fp, now)
            self._s.record(
                uow,
                actor=actor,
                action=f"credit.post_{kind.value}",
                entity_type="credit",
                entity_id=customer.id,
                changes={kind.value: [None, number], "amount": [None, str(amount)]},
                event=f"credit.{kind.value}_posted",
                payload={
                    "customer_id": customer.id,
                    "number": number,
                    "amount": converter.unstructure(amount),
                    "allocations": [
                        {"invoice": a.invoice, "line": a.line, "amount": str(a.amount.amount)} for a in lines
                    ],
                    "unapplied": str(rest.amount),
                },
            )
            uow.commit()
        return posted

    def open_items(self, ref: str, currency: str | None = None, *, actor: Actor | None = None) -> list[OpenItem]:
        """The customer's open items (invoice lines owed and unapplied credit), oldest due first."""
        wanted = currency.upper() if currency else None
        found = self._read(ref, actor, lambda uow, customer: uow.credit.items([customer.id], currency=wanted))
        return sorted(found, key=_item_order)

    def items(self, ref: str, *, actor: Actor | None = None) -> list[OpenItem]:
        """Every receivable line of the customer, open or settled."""
        found = self._read(ref, actor, lambda uow, customer: uow.credit.items([customer.id], open_only=False))
        return sorted(found, key=_item_order)

    # -- exposure and decisions ------------------------------------------------------------------

    def exposure(
        self, ref: str, currency: str, *, new_order: Money | None = None, actor: Actor | None = None
    ) -> Exposure:
        """Open receivables (net of unapplied credit) + open credit holds + ``new_order``."""
        return self._read(
            ref,
            actor,
            lambda uow, customer: _exposure(uow, [customer.id], new_order or Money.zero(currency), self._s.clock.now()),
        )

    def check(
        self,
        ref: str,
        amount: Money,
        *,
        as_of: dt.date | None = None,
        override: str | None = None,
        actor: Actor | None = None,
    ) -> CreditDecision:
        """May the customer order ``amount`` more on credit? Allow, warn or block, with every reason.

        ``override`` names an approved ``credit.override`` request: a block for limit or overdue
        reasons becomes a warning (a customer that is not active, or stopped by dunning, stays blocked).
        """
        access = self._s.read_access(actor, Permission.CREDIT_VIEW)
        if not isinstance(amount, Money) or amount.is_negative():
            raise ValidationError("amount is a Money value, not negative", code="invalid_amount", field="amount")
        with self._s.uow(write=False) as uow:
            customer = load_customer(uow, ref)
            if access.covers(customer):
                return credit_decision_in(
                    uow,
                    customer,
                    amount,
                    now=self._s.clock.now(),
                    as_of=as_of,
                    override_id=override,
                    rates=self._s.settings.integrations.rates,
                    prepaid_cover=True,
                )
        raise out_of_scope(self._s, access, Permission.CREDIT_VIEW, ref)

    def request_override(self, ref: str, amount: Money, *, reason: str, actor: Actor | None = None) -> ApprovalRequest:
        """Ask to let an order of up to ``amount`` through despite a block (maker-checker approval).

        Approve it with ``book.approvals.approve(request.id, actor=...)`` (the requester cannot), then
        pass its id as ``override=`` to :meth:`check` or to checkout.
        """
        actor = self._s.authorize(actor, Permission.CREDIT_VIEW, ref)
        _positive(amount)
        with self._s.uow() as uow:
            now = self._s.clock.now()
            customer = load_customer(uow, ref)
            steps = load_policy(uow).steps_for(OVERRIDE, {"amount": amount}) or (ApprovalStep(FINANCE),)
            request = open_in(
                self._s,
                uow,
                command=OVERRIDE,
                subject_type="customer",
                subject_id=customer.id,
                customer_id=customer.id,
                payload={"amount": converter.unstructure(amount), "reason": reason},
                steps=steps,
                actor=actor,
                now=now,
            )
            self._s.record(
                uow,
                actor=actor,
                action="credit.request_override",
                entity_type="credit",
                entity_id=customer.id,
                changes={"override": [None, request.id], "amount": [None, str(amount)]},
            )
            uow.commit()
        return request

    # -- holds -----------------------------------------------------------------------------------

    def _keyed(self, command: str, key: str, args: Mapping[str, Any], result_type: Any, run: Any) -> Any:
        """Claim ``key`` (the accounts idempotency store), run, store the first outcome (DESIGN.md section 5).

        A refusal raised by ``run`` is stored (an expired hold closed on the way is kept on purpose).
        """

        def check(uow: UnitOfWork, now: dt.datetime) -> Callable[[], Any]:
            result = run(uow, now)
            return lambda: result

        return run_keyed(self._s, command, key=key, args=args, result_type=result_type, check=check)

    def hold(
        self,
        ref: str,
        amount: Money,
        *,
        reference: str,
        expires_at: dt.datetime,
        key: str,
        actor: Actor | None = None,
        override: str | None = None,
    ) -> CreditHold:
        """Hold ``amount`` of credit (counted in exposure until settled, released or expired).

        Refused (InsufficientFunds ``credit_limit_exceeded`` or NotAllowed ``credit_blocked``) when
        the decision with ``amount`` as the new order blocks; concurrent holds never pass the limit.
        """
        actor = self._s.authorize(actor, Permission.ACCOUNTS_PAY, ref)
        _positive(amount)

        def run(uow: UnitOfWork, now: dt.datetime) -> CreditHold:
            customer = load_customer(uow, ref)
            return place_hold_in(
                uow,
                self._s,
                customer,
                amount,
                reference=reference,
                expires_at=expires_at,
                now=now,
                actor=actor,
                override_id=override,
            )[0]

        args = {"customer": ref, "amount": amount, "reference": reference, "expires_at": expires_at}
        return self._keyed("credit.hold", key, args, CreditHold, run)  # type: ignore[no-any-return]

    def release(self, hold_id: str, *, key: str, actor: Actor | None = None, reason: str = "") -> CreditHold:
        """Release an open hold; its credit room returns at once."""
        actor = self._s.authorize(actor, Permission.ACCOUNTS_PAY, None)

        def run(uow: UnitOfWork, now: dt.datetime) -> CreditHold:
            return release_hold_in(uow, self._s, hold_id, now=now, actor=actor, reason=reason)

        return self._keyed("credit.release", key, {"hold": hold_id}, CreditHold, run)  # type: ignore[no-any-return]

    def settle(
        self,
        hold_id: str,
        *,
        amount: Money | None = None,
        invoice: str | None = None,
        issued: dt.date | None = None,
        key: str,
        actor: Actor | None = None,
    ) -> CreditHold:
        """Settle a hold: its amount (or less) becomes an invoice receivable, the rest is released."""
        actor = self._s.authorize(actor, Permission.ACCOUNTS_PAY, None)

        def run(uow: UnitOfWork, now: dt.datetime) -> CreditHold:
            return settle_hold_in(
                uow, self._s, hold_id, amount=amount, invoice=invoice, issued=issued, now=now, actor=actor
            )[0]

        args = {"hold": hold_id, "amount": amount, "invoice": invoice, "issued": issued}
        return self._keyed("credit.settle", key, args, CreditHold, run)  # type: ignore[no-any-return]

    def get_hold(self, hold_id: str, *, actor: Actor | None = None) -> CreditHold:
        """A credit hold by id (with an actor: ``credit.view`` over its customer, else NotFound)."""
        access = self._s.read_access(actor, Permission.CREDIT_VIEW)
        with self._s.uow(write=False) as uow:
            hold = uow.credit.get_hold(hold_id)
            owner = uow.customers.get(hold.customer_id) if hold is not None and access.actor is not None else None
        if hold is None or (owner is not None and not access.covers(owner)):
            if hold is not None and access.actor is not None:
                deny(self._s, access.actor, Permission.CREDIT_VIEW, reason="out_of_scope", customer=hold.customer_id)
            raise NotFound(f"no credit hold {hold_id!r}", code="hold_not_found", field="hold")
        return hold

    # -- reports ---------------------------------------------------------------------------------

    def aging(
        self,
        as_of: dt.date | None = None,
        *,
        customer: str | None = None,
        currency: str | None = None,
        actor: Actor | None = None,
    ) -> ag.AgingReport:
        """Open receivables by days past due as of ``as_of`` (default today), per customer and in total.

        With an actor: ``credit.view``; a scoped reader names one of its customers (the whole book
        is refused, PermissionDenied ``out_of_scope``)."""
        self._visible(customer, actor)
        with self._s.uow(write=False) as uow:
            day = _date(as_of, "as_of") if as_of is not None else _today(self._s.clock.now())
            config = _config(uow)
            cur = currency.upper() if currency else None
            if customer is not None:
                items = uow.credit.items([load_customer(uow, customer).id], currency=cur)
            else:
                items = uow.credit.all_open_items(cur)
        return ag.aging_report(items, day, config.buckets)

    def dso(
        self, currency: str, *, as_of: dt.date | None = None, customer: str | None = None, actor: Actor | None = None
    ) -> Decimal | None:
        """Days sales outstanding: open receivables / credit sales of the DSO period x its days."""
        self._visible(customer, actor)
        with self._s.uow(write=False) as uow:
            day = _date(as_of, "as_of") if as_of is not None else _today(self._s.clock.now())
            config = _config(uow)
            cur = currency.upper()
            ids = None if customer is None else [load_customer(uow, customer).id]
            items = uow.credit.all_open_items(cur) if ids is None else uow.credit.items(ids, currency=cur)
            start = day - dt.timedelta(days=config.dso_days - 1)
            sales = uow.credit.invoiced(ids, cur, start, day)
        report = ag.aging_report(items, day, config.buckets)
        open_total = report.totals[0].net if report.totals else Money.zero(cur)
        return ag.days_sales_outstanding(open_total, sales, period_days=config.dso_days)

    def payment_behaviour(self, ref: str, *, actor: Actor | None = None) -> ag.PaymentBehaviour:
        """Average days late and share paid late over the customer's settled invoice lines."""
        return ag.payment_behaviour(self.items(ref, actor=actor))

    def _visible(self, customer: str | None, actor: Actor | None) -> None:
        """Check read access for a report on ``customer`` (None: the whole book)."""
        if customer is None:
            self._whole_book(actor)
        else:
            self.profiles(customer, actor=actor)

    def dunning(
        self, as_of: dt.date | None = None, *, customer: str | None = None, actor: Actor | None = None
    ) -> list[ag.DunningStatus]:
        """The dunning level and next action of every customer with overdue items (or of one customer)."""
        self._visible(customer, actor)
        with self._s.uow(write=False) as uow:
            day = _date(as_of, "as_of") if as_of is not None else _today(self._s.clock.now())
            config = _config(uow)
            if customer is not None:
                target = load_customer(uow, customer)
                return [ag.dunning_status(target.id, uow.credit.items([target.id]), day, config.dunning)]
            by_customer: dict[str, list[OpenItem]] = {}
            for item in uow.credit.all_open_items():
                by_customer.setdefault(item.customer_id, []).append(item)
        statuses = [ag.dunning_status(c, items, day, config.dunning) for c, items in sorted(by_customer.items())]
        return [s for s in statuses if s.oldest_overdue_days > 0]

    def run_dunning(self, as_of: dt.date | None = None, *, actor: Actor | None = None) -> list[ag.DunningStatus]:
        """Announce every dunning level reached: one ``credit.dunning_level_reached`` event (and audit
        entry) per customer that reached a higher level than it was last told of; returns their statuses.

        The library decides what to send, the host sends it: ``book.integrations.dispatch`` turns
        the events into e-mails and text messages to the customer through the host's Notifier. A
        rerun on the same day writes nothing new. When the oldest overdue item changes (paid, or a
        new episode), the customer is told its level again. Needs ``credit.manage``.
        """
        actor = self._s.authorize(actor, Permission.CREDIT_MANAGE)
        reached: list[ag.DunningStatus] = []
        with self._s.uow() as uow:
            now = self._s.clock.now()
            day = _date(as_of, "as_of") if as_of is not None else _today(now)
            config = _config(uow)
            by_customer: dict[str, list[OpenItem]] = {}
            for item in uow.credit.all_open_items():
                by_customer.setdefault(item.customer_id, []).append(item)
            for customer_id, items in sorted(by_customer.items()):
                status = ag.dunning_status(customer_id, items, day, config.dunning)
                if status.level is None:
                    continue
                since = (day - dt.timedelta(days=status.oldest_overdue_days)).isoformat()
                marker = f"{DUNNING_NOTIFIED}{customer_id}"
                told = uow.config.get(marker) or {}
                if told.get("overdue_since") == since and int(told.get("days") or 0) >= status.level.days:
                    continue
                customer = uow.customers.get(customer_id)
                if customer is None or customer.status is CustomerStatus.MERGED:
                    continue
                uow.config.put(marker, {"level": status.level.name, "days": status.level.days, "overdue_since": since})
                self._s.record(
                    uow,
                    actor=actor,
                    action="credit.dunning_level_reached",
                    entity_type="credit",
                    entity_id=customer_id,
                    changes={"dunning_level": [told.get("level"), status.level.name]},
                    event="credit.dunning_level_reached",
                    payload={
                        "customer_id": customer_id,
                        "code": customer.code,
                        "level": status.level.name,
                        "action": status.level.action,
                        "stop_supply": status.level.stop_supply,
                        "days_overdue": status.oldest_overdue_days,
                        "overdue": [converter.unstructure(m) for _, m in sorted(status.overdue.items())],
                        "as_of": day.isoformat(),
                    },
                )
                reached.append(status)
            uow.commit()
        return reached


def _limit_request_in(
    services: Services,
    uow: UnitOfWork,
    customer: Customer,
    base: CreditProfile,
    given: Mapping[str, Any],
    actor: Actor,
    now: dt.datetime,
) -> ApprovalRequest | None:
    """A ``credit.limit`` request when ``given`` raises the limit and a rule governs the increase."""
    if "limit" not in given or given["limit"] is None:
        return None
    new: Money = given["limit"]
    if not isinstance(new, Money) or new.currency != base.currency:
        return None  # the profile rejects it below
    old = base.limit if base.limit is not None else Money.zero(base.currency)
    if new <= old:
        return None
    facts = {"currency": base.currency, "before": old, "after": new, "increase": new - old}
    return request_in(
        services,
        uow,
        command=LIMIT,
        facts=facts,
        subject_type="credit",
        subject_id=customer.id,
        customer_id=customer.id,
        payload={
            "currency": base.currency,
            "before": converter.unstructure(base.limit),
            "after": converter.unstructure(new),
        },
        actor=actor,
        now=now,
    )


def _save_limit(
    services: Services,
    uow: UnitOfWork,
    base: CreditProfile,
    limit: Money | None,
    actor: Actor,
    now: dt.datetime,
    approval_id: str | None = None,
) -> CreditProfile:
    """Write the new limit of a locked profile, with its audit entry and event."""
    after = attrs.evolve(base, limit=limit, version=base.version + 1, updated_at=now)
    uow.credit.save_profile(after, base.version)
    changes: dict[str, Any] = {"limit": [converter.unstructure(base.limit), converter.unstructure(limit)]}
    if approval_id is not None:
        changes["approval"] = [None, approval_id]
    services.record(
        uow,
        actor=actor,
        action="credit.set_profile",
        entity_type="credit",
        entity_id=base.customer_id,
        changes=changes,
        event="credit.profile_changed",
        payload={"customer_id": base.customer_id, "currency": base.currency, "fields": ["limit"]},
    )
    return after


def change_limit_in(
    services: Services,
    uow: UnitOfWork,
    customer: Customer,
    currency: str,
    limit: Money | None,
    actor: Actor,
    now: dt.datetime,
) -> LimitChange:
    """Inside ``uow``: set the credit limit, or open a ``credit.limit`` request when a rule governs
    the increase (used by bulk import)."""
    if customer.status in (CustomerStatus.VOIDED, CustomerStatus.MERGED):
        raise NotAllowed(f"customer {customer.code} is {customer.status}", code="customer_voided")
    currency = currency.upper()
    base = uow.credit.lock_profile(customer.id, currency) or CreditProfile(customer_id=customer.id, currency=currency)
    request = _limit_request_in(services, uow, customer, base, {"limit": limit}, actor, now)
    if request is not None:
        return LimitChange(profile=base, approval=request)
    if base.limit == limit:
        return LimitChange(profile=base)
    try:
        return LimitChange(profile=_save_limit(services, uow, base, limit, actor, now))
    except (TypeError, ValueError) as error:
        if isinstance(error, BigLedgerError):
            raise
        raise ValidationError(str(error), code="invalid_profile", field="limit") from None


def approval_handlers(services: Services) -> dict[str, ApprovalHandler]:
    """The credit commands decided through ``book.approvals``."""

    def apply_limit(uow: UnitOfWork, request: ApprovalRequest, actor: Actor, now: dt.datetime) -> None:
        currency = request.payload["currency"]
        before = uow.credit.lock_profile(request.subject_id, currency) or CreditProfile(
            customer_id=request.subject_id, currency=currency
        )
        if converter.unstructure(before.limit) != request.payload["before"]:
            raise Conflict(
                "the limit changed since the request; reject it and ask again",
                code="stale_request",
                field="limit",
                value=str(before.limit),
            )
        limit = converter.structure(request.payload["after"], Money)
        _save_limit(services, uow, before, limit, actor, now, request.id)

    def approved_override(uow: UnitOfWork, request: ApprovalRequest, actor: Actor, now: dt.datetime) -> None:
        """The approved request is the override itself: checkout names it."""

    return {
        LIMIT: Handler(apply_limit, permission=Permission.CREDIT_OVERRIDE),
        OVERRIDE: Handler(approved_override, permission=Permission.CREDIT_OVERRIDE),
    }


@attrs.frozen
class LimitChange:
    """The profile after a limit change, or the approval request the increase waits in."""

    profile: CreditProfile
    approval: ApprovalRequest | None = None
