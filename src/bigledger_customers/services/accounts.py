"""Customer accounts (``book.accounts``): prepayment, top-ups, rebates, holds, approvals (DESIGN.md section 5).

Every money command takes ``key=`` (idempotency) and ``actor=`` and runs in one unit of work in
this order (DESIGN.md section 2): claim the key, expire overdue holds and grants of the touched
account, check everything, then write. A business refusal found by the checks is stored with the
key (and replayed); nothing of the command's effect has been written by then.

>>> from bigledger_customers import connect, Actor, Money
>>> book = connect("memory://")
>>> admin = Actor(id="u1", roles={"sales_admin"})
>>> _ = book.customers.create({"code": "CUS-001", "name": "ABC", "country": "CN"}, actor=admin)
>>> str(book.accounts.top_up("CUS-001", Money("257.50", "CNY"), key="tp-1", actor=admin).fee)
'1.55 CNY'
>>> hold = book.accounts.submit_payment("CUS-001", prepayment=Money("30", "CNY"), key="pay-1", actor=admin)
>>> str(book.accounts.balance("CUS-001", "CNY").available)
'227.50 CNY'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import attrs

from bigledger_customers.domain.access import Permission
from bigledger_customers.domain.accounts import (
    Account,
    Balance,
    BalanceKey,
    Bucket,
    EntryKind,
    ExpenseKind,
    ExpenseRecord,
    GrantShare,
    Hold,
    HoldKind,
    HoldStatus,
    IncomeMethod,
    IncomeRecord,
    LedgerEntry,
    Move,
    PlatformFee,
    RecordStatus,
    SettlementMethod,
    TopUpRecord,
    change_settlement_method,
    entry_for,
    reconcile,
    require_positive,
    shares_by_grant,
    split_confirmation,
)
from bigledger_customers.domain.approvals import (
    DEFAULT_POLICY,
    FINANCE,
    ApprovalPolicy,
    ApprovalRequest,
    ApprovalStep,
)
from bigledger_customers.domain.convert import converter, structure_as
from bigledger_customers.domain.customer import Customer, CustomerStatus
from bigledger_customers.domain.idempotency import (
    IdempotencyRecord,
    Outcome,
    check_key,
    fingerprint,
    is_stored_refusal,
    replay,
)
from bigledger_customers.domain.rebates import (
    CustomerFacts,
    GrantStatus,
    OrderRebateRule,
    RebateAllowance,
    RebateGrant,
    RuleTrigger,
    UsageRule,
    allowed_rebate,
    consume,
    expire_grants,
    expire_released,
    firing_rules,
    manual_grant,
    order_rule_grant,
    rebate_balance,
    refund_grant,
)
from bigledger_customers.domain.records import SYSTEM, Actor
from bigledger_customers.errors import BigLedgerError, NotAllowed, NotFound, ValidationError
from bigledger_customers.money import Money
from bigledger_customers.ports import UnitOfWork
from bigledger_customers.services._base import Services, load_customer, save_config
from bigledger_customers.services.access import deny, require_whole_book, scoped_read
from bigledger_customers.services.approvals import (
    ApprovalHandler,
    ApprovalService,
    Handler,
    open_in,
    policy_from_json,
    policy_to_json,
)

__all__ = [
    "AccountBalance",
    "AccountService",
    "EnableReport",
    "ExpiryReport",
    "Mismatch",
    "ReconcileReport",
    "SettlementChange",
    "ensure_account_on_create",
    "ensure_accounts_on_create",
    "run_keyed",
]

T = TypeVar("T")

#: Config documents (``uow.config``).
ENABLED = "accounts.enabled"
DEFAULT_METHOD = "accounts.default_settlement_method"
FEES = "accounts.platform_fees"
USAGE_RULES = "accounts.usage_rules"
ORDER_RULES = "accounts.order_rules"
POLICY = "approvals.policy"
HOLD_TTL = "accounts.hold_ttl_minutes"
DEFAULT_HOLD_TTL_MINUTES = 30
#: Customers per transaction of the enabling job (resumable after each batch, DESIGN.md section 5).
ENABLE_BATCH = 10_000


@attrs.frozen(kw_only=True)
class AccountBalance:
    """Prepayment and rebate of one account in one currency, as of a time."""

    customer_id: str
    currency: str
    as_of: dt.datetime
    actual: Money
    available: Money
    locked: Money
    rebate_actual: Money
    rebate_available: Money
    rebate_locked: Money


@attrs.frozen(kw_only=True)
class EnableReport:
    """Progress of enabling accounts: created so far in this run, accounts in all, and whether done."""

    created: int
    accounts: int
    customers: int
    enabled: bool


@attrs.frozen(kw_only=True)
class ExpiryReport:
    """What an expiry run released and expired."""

    holds: int = 0
    grants: int = 0


@attrs.frozen(kw_only=True)
class Mismatch:
    """A stored balance that differs from the sum of its ledger entries."""

    key: BalanceKey
    ledger: Balance
    stored: Balance | None


@attrs.frozen(kw_only=True)
class ReconcileReport:
    """Every balance recomputed from the ledger and compared with the stored one."""

    checked: int
    mismatches: tuple[Mismatch, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every balance matched."""
        return not self.mismatches


@attrs.frozen(kw_only=True)
class SettlementChange:
    """The account after a settlement-method change, or the approval request it is waiting for."""

    account: Account
    approval: ApprovalRequest | None = None


def _facts(customer: Customer) -> CustomerFacts:
    return CustomerFacts(customer.id, customer.code, customer.level, customer.category)


def _is_enabled(uow: UnitOfWork) -> bool:
    state = uow.config.get(ENABLED)
    return bool(state and state.get("enabled"))


def _default_method(uow: UnitOfWork) -> SettlementMethod:
    return SettlementMethod(uow.config.get(DEFAULT_METHOD) or SettlementMethod.PAY_NOW)


def ensure_account_on_create(uow: UnitOfWork, customer: Customer, now: dt.datetime) -> None:
    """Hook for customer creation: once accounts are enabled, a new customer gets its account at once."""
    if _is_enabled(uow) and uow.accounts.get(customer.id) is None:
        uow.accounts.add(
            Account(
                id=customer.id,
                customer_id=customer.id,
                settlement_method=_default_method(uow),
                created_at=now,
                updated_at=now,
            )
        )


def ensure_accounts_on_create(uow: UnitOfWork, customers: Iterable[Customer], now: dt.datetime) -> None:
    """:func:`ensure_account_on_create` for a batch of new customers (bulk import)."""
    if not _is_enabled(uow):
        return
    method = _default_method(uow)
    for customer in customers:
        if uow.accounts.get(customer.id) is None:
            uow.accounts.add(
                Account(
                    id=customer.id, customer_id=customer.id, settlement_method=method, created_at=now, updated_at=now
                )
            )


def run_keyed(
    services: Services,
    command: str,
    *,
    key: str,
    args: Mapping[str, Any],
    result_type: Any,
    check: Callable[[UnitOfWork, dt.datetime], Callable[[], T]],
) -> T:
    """One money command in one unit of work (DESIGN.md section 2): claim ``key``, run ``check``
    (lock, expiry, then every check; it returns the writer), then write, store the outcome, commit.

    A replayed key returns (or raises) its first outcome; a key used with other arguments is
    Conflict ``idempotency_key_reused``. A business refusal raised by ``check`` is stored with the
    key and raised; the writer's own failures roll everything back (nothing stored, so a retry can
    succeed).
    """
    key = check_key(key)
    fp = fingerprint(command, args)
    with services.uow() as uow:
        now = services.clock.now()
        found = uow.idempotency.claim(IdempotencyRecord(key=key, command=command, fingerprint=fp, created_at=now))
        if found is not None:
            outcome = replay(found, command, fp)
            assert outcome is not None
            return converter.structure(outcome.unwrap(), result_type)  # type: ignore[no-any-return]
        try:
            write = check(uow, now)
        except BigLedgerError as error:
            if not is_stored_refusal(error):
                raise
            uow.idempotency.finish(key, Outcome.refusal(error))
            uow.commit()
            raise
        result = write()
        uow.idempotency.finish(key, Outcome.success(converter.unstructure(result, result_type)))
        uow.commit()
        return result


# The approval policy's JSON form lives with the approvals service (re-exported here).


class AccountService:
    """Accounts, balances, top-ups, income, expenses, rebates, payments and their approvals."""

    def __init__(self, services: Services, approvals: ApprovalService | None = None) -> None:
        self._s = services
        self._approval_service = approvals  # book.approvals; a private one when built alone

    # -- configuration -----------------------------------------------------------------------------

    def configure(
        self,
        *,
        default_settlement_method: str | None = None,
        platform_fees: Iterable[PlatformFee] | None = None,
        usage_rules: Iterable[UsageRule] | None = None,
        order_rules: Iterable[OrderRebateRule] | None = None,
        approval_policy: ApprovalPolicy | None = None,
        hold_ttl_minutes: int | None = None,
        actor: Actor,
    ) -> None:
        """Change the account settings the host controls; only the arguments given change.

        Each kind of setting needs its permission: ``accounts.settlement`` for the default method,
        ``rebate.rules.manage`` for usage and order rules, ``approval.rules.manage`` for the approval
        policy, ``accounts.enable`` for fees and the hold expiry (and for a call changing nothing).
        """
        needed = [
            permission
            for permission, given in (
                (Permission.ACCOUNTS_SETTLEMENT, default_settlement_method is not None),
                (Permission.REBATE_RULES_MANAGE, usage_rules is not None or order_rules is not None),
                (Permission.APPROVAL_RULES_MANAGE, approval_policy is not None),
            )
            if given
        ]
        if platform_fees is not None or hold_ttl_minutes is not None or not needed:
            needed.insert(0, Permission.ACCOUNTS_ENABLE)
        for permission in needed:
            actor = self._s.authorize(actor, permission)
        changes: dict[str, Any] = {}
        if default_settlement_method is not None:
            changes[DEFAULT_METHOD] = structure_as(default_settlement_method, SettlementMethod, field="method").value
        if platform_fees is not None:
            changes[FEES] = {f.platform: {"rate": str(f.rate), "minimum": str(f.minimum)} for f in platform_fees}
        if usage_rules is not None:
            changes[USAGE_RULES] = converter.unstructure(list(usage_rules))
        if order_rules is not None:
            changes[ORDER_RULES] = converter.unstructure(list(order_rules))
        if approval_policy is not None:
            changes[POLICY] = policy_to_json(approval_policy)
        if hold_ttl_minutes is not None:
            if hold_ttl_minutes < 1:
                raise ValidationError("hold expiry is at least a minute", code="invalid_ttl", field="hold_ttl_minutes")
            changes[HOLD_TTL] = hold_ttl_minutes
        with self._s.uow() as uow:
            save_config(self._s, uow, "accounts", changes, actor)
            uow.commit()

    def approval_policy(self) -> ApprovalPolicy:
        """The approval rules in force (DESIGN.md defaults until configured)."""
        with self._s.uow(write=False) as uow:
            return self._policy(uow)

    def usage_rules(self) -> list[UsageRule]:
        """The rebate usage rules."""
        with self._s.uow(write=False) as uow:
            return self._usage_rules(uow)

    def order_rules(self) -> list[OrderRebateRule]:
        """The order rebate rules."""
        with self._s.uow(write=False) as uow:
            return self._order_rules(uow)

    @staticmethod
    def _policy(uow: UnitOfWork) -> ApprovalPolicy:
        data = uow.config.get(POLICY)
        return DEFAULT_POLICY if data is None else policy_from_json(data)

    @staticmethod
    def _usage_rules(uow: UnitOfWork) -> list[UsageRule]:
        return list(converter.structure(uow.config.get(USAGE_RULES) or [], list[UsageRule]))

    @staticmethod
    def _order_rules(uow: UnitOfWork) -> list[OrderRebateRule]:
        return list(converter.structure(uow.config.get(ORDER_RULES) or [], list[OrderRebateRule]))

    @staticmethod
    def _fee(uow: UnitOfWork, platform: str) -> PlatformFee:
        fees = uow.config.get(FEES) or {}
        if platform in fees:
            return PlatformFee(platform=platform, rate=fees[platform]["rate"], minimum=fees[platform]["minimum"])
        if platform == "online" or not fees:
            return PlatformFee(platform=platform)
        raise ValidationError(f"no fee configured for platform {platform!r}", code="unknown_platform", field="platform")

    # -- enabling ----------------------------------------------------------------------------------

    def enable(
        self, *, batch_size: int = ENABLE_BATCH, on_progress: Callable[[int, int], None] | None = None, actor: Actor
    ) -> EnableReport:
        """Create every customer's account; resumable and safe to run twice (DESIGN.md section 5).

        Runs in batches of ``batch_size`` customers, one transaction each; the position is saved
        with each batch, so after a crash a new run carries on. The feature counts as enabled, and
        the ``accounts.enabled`` event is emitted, in the transaction of the last batch.
        ``on_progress(done, total)`` is called after each batch. Needs ``accounts.enable``.
        """
        actor = self._s.authorize(actor, Permission.ACCOUNTS_ENABLE)
        created = 0
        # Counted once per run and kept up to date from each batch's count; counted again only at the
        # end of a pass (counting a million rows per batch cost more than the batches themselves).
        with self._s.uow(write=False) as uow:
            total, accounts = uow.customers.count(), uow.accounts.count()
        while True:
            with self._s.uow() as uow:
                state = dict(uow.config.get(ENABLED) or {"enabled": False, "after": ""})
                if state.get("enabled"):
                    return EnableReport(created=created, accounts=uow.accounts.count(), customers=total, enabled=True)
                now = self._s.clock.now()
                made, last = uow.accounts.create_missing(
                    after=state["after"], limit=batch_size, settlement_method=_default_method(uow), now=now
                )
                created += made
                accounts += made
                state["after"] = last or state["after"]
                if last is None:
                    total, accounts = uow.customers.count(), uow.accounts.count()
                if last is None and accounts < total:
                    # A customer created during the run below the position (ids are random) was
                    # passed over: go round once more rather than claim every account exists.
                    state["after"] = ""
                elif last is None:
                    # Done: a last full pass found nothing more; any customer created from now on gets
                    # its account in its own transaction (ensure_account_on_create).
                    state["enabled"] = True
                    self._s.record(
                        uow,
                        actor=actor,
                        action="accounts.enable",
                        entity_type="config",
                        entity_id="accounts",
                        changes={"enabled": [False, True]},
                        event="accounts.enabled",
                        payload={"accounts": accounts, "recipients": ["administrators"]},
                    )
                uow.config.put(ENABLED, state)
                uow.commit()
            if on_progress is not None:
                on_progress(accounts, total)
            if state["enabled"]:
                return EnableReport(created=created, accounts=accounts, customers=total, enabled=True)

    def is_enabled(self) -> bool:
        """True once every customer has an account."""
        with self._s.uow(write=False) as uow:
            return _is_enabled(uow)

    # -- queries -----------------------------------------------------------------------------------
    #
    # Account queries are read access (docs/permissions.md): with an actor (given or from
    # ``acting_as``) they need ``accounts.view`` over the customer (NotFound outside its scope,
    # audited); without any actor they are the host's own call and see everything.

    def _read(self, ref: str, actor: Actor | None, read: Callable[[UnitOfWork, Customer], T]) -> T:
        """``read(uow, customer)`` when the reader holds ``accounts.view`` over the customer."""
        return scoped_read(self._s, actor, Permission.ACCOUNTS_VIEW, ref, read)

    def _whole_book(self, actor: Actor | None) -> None:
        """A query over every account: ``accounts.view`` over all customers (a scoped reader names one)."""
        require_whole_book(
            self._s, actor, Permission.ACCOUNTS_VIEW, "may read its own customers' accounts only: name one"
        )

    def account(self, ref: str, *, actor: Actor | None = None) -> Account:
        """The customer's account (NotFound before it exists)."""

        def read(uow: UnitOfWork, customer: Customer) -> Account:
            account = uow.accounts.get(customer.id)
            if account is None:
                raise NotFound(f"customer {customer.code} has no account yet", code="account_not_found")
            return account

        return self._read(ref, actor, read)

    def balance(
        self, ref: str, currency: str, *, as_of: dt.datetime | None = None, actor: Actor | None = None
    ) -> AccountBalance:
        """Prepayment and rebate balance in ``currency`` as of ``as_of`` (now); writes nothing."""
        code = Money.zero(currency).currency

        def read(uow: UnitOfWork, customer: Customer) -> AccountBalance:
            when = as_of or self._s.clock.now()
            prepayment = uow.balances.get(customer.id, code) or Balance.zero(code)
            rebate = rebate_balance(uow.grants.for_account(customer.id), code, when)
            return AccountBalance(
                customer_id=customer.id,
                currency=code,
                as_of=when,
                actual=prepayment.actual,
                available=prepayment.available,
                locked=prepayment.locked,
                rebate_actual=rebate.actual,
                rebate_available=rebate.available,
                rebate_locked=rebate.locked,
            )

        return self._read(ref, actor, read)

    def grants(self, ref: str, *, actor: Actor | None = None) -> list[RebateGrant]:
        """Every rebate grant of the customer, by id."""
        return self._read(ref, actor, lambda uow, c: list(uow.grants.for_account(c.id)))

    def hold(self, hold_id: str, *, actor: Actor | None = None) -> Hold:
        """One hold (with an actor: ``accounts.view`` over its customer, else NotFound)."""
        access = self._s.read_access(actor, Permission.ACCOUNTS_VIEW)
        with self._s.uow(write=False) as uow:
            found = uow.holds.get(hold_id)
            owner = uow.customers.get(found.customer_id) if found is not None and access.actor is not None else None
        if found is None or (owner is not None and not access.covers(owner)):
            if found is not None and access.actor is not None:
                deny(self._s, access.actor, Permission.ACCOUNTS_VIEW, reason="out_of_scope", customer=found.customer_id)
            raise NotFound(f"no hold {hold_id!r}", code="hold_not_found", field="hold", value=hold_id)
        return found

    def ledger(self, ref: str, *, actor: Actor | None = None) -> list[LedgerEntry]:
        """The ledger entries of the customer's account, oldest first."""
        return self._read(ref, actor, lambda uow, c: list(uow.ledger.for_account(c.id)))

    def expenses(self, ref: str, *, actor: Actor | None = None) -> list[ExpenseRecord]:
        """The confirmed expenses of the customer's account."""
        return self._read(ref, actor, lambda uow, c: list(uow.account_records.expenses(c.id)))

    def top_ups(self, ref: str, *, actor: Actor | None = None) -> list[TopUpRecord]:
        """The online top-ups of the customer's account."""
        return self._read(ref, actor, lambda uow, c: list(uow.account_records.top_ups(c.id)))

    def incomes(self, ref: str, *, actor: Actor | None = None) -> list[IncomeRecord]:
        """Offline income records (pending, approved, rejected) of the customer's account."""
        return self._read(ref, actor, lambda uow, c: list(uow.account_records.incomes(c.id)))

    def allowed_rebate(self, ref: str, order_amount: Money, *, actor: Actor | None = None) -> RebateAllowance:
        """The most rebate the usage rules allow on an order of ``order_amount`` (with the reason)."""
        return self._read(ref, actor, lambda uow, c: allowed_rebate(self._usage_rules(uow), _facts(c), order_amount))

    def pending_approvals(
        self, *, command: str | None = None, limit: int = 100, actor: Actor | None = None
    ) -> list[ApprovalRequest]:
        """Approval requests waiting for a decision, oldest first (with an actor: ``accounts.view``
        over all customers, since the queue holds every customer's requests)."""
        self._whole_book(actor)
        with self._s.uow(write=False) as uow:
            return list(uow.approvals.pending(command=command, limit=limit))

    def approval(self, approval_id: str) -> ApprovalRequest:
        """One approval request."""
        with self._s.uow(write=False) as uow:
            return self._load_approval(uow, approval_id)

    def reconcile(self, ref: str | None = None, *, actor: Actor | None = None) -> ReconcileReport:
        """Recompute every balance and grant (of one customer, or of all) from its ledger entries and
        compare with the stored one.

        With an actor: ``accounts.view`` over the named customer, or over all customers for the
        whole book (a scoped reader names one of its customers, else PermissionDenied ``out_of_scope``).
        """
        if ref is None:
            self._whole_book(actor)
        else:
            self._read(ref, actor, lambda uow, c: None)
        with self._s.uow(write=False) as uow:
            entries: list[LedgerEntry] = []
            if ref is not None:
                entries.extend(uow.ledger.for_account(load_customer(uow, ref).id))
            after = 0
            while ref is None and (batch := uow.ledger.all(after=after, limit=10_000)):
                entries.extend(batch)
                after = batch[-1].seq
            computed = reconcile(entries)
            mismatches = []
            for key, balance in computed.items():
                stored: Balance | None
                if key.bucket is Bucket.PREPAYMENT:
                    stored = uow.balances.get(key.account_id, key.currency)
                else:
                    grant = uow.grants.get(key.grant_id)
                    stored = grant.balance if grant is not None else None
                if stored != balance:
                    mismatches.append(Mismatch(key=key, ledger=balance, stored=stored))
        return ReconcileReport(checked=len(computed), mismatches=tuple(mismatches))

    # -- the money-command frame -------------------------------------------------------------------

    def _command(
        self,
        command: str,
        *,
        key: str,
        args: Mapping[str, Any],
        result_type: Any,
        check: Callable[[UnitOfWork, dt.datetime], Callable[[], T]],
    ) -> T:
        """:func:`run_keyed` in a unit of work of this book."""
        return run_keyed(self._s, command, key=key, args=args, result_type=result_type, check=check)

    @staticmethod
    def _prepayment(uow: UnitOfWork, account_id: str, currency: str) -> Balance:
        return uow.balances.get(account_id, currency) or Balance.zero(currency)

    def _account(self, uow: UnitOfWork, customer: Customer, now: dt.datetime) -> Account:
        """The customer's account, locked for this unit of work (every money command on one account
        runs after the other); created on first use when the enabling job has not reached it yet."""
        account = uow.accounts.lock(customer.id)
        if account is None:
            account = Account(
                id=customer.id,
                customer_id=customer.id,
                settlement_method=_default_method(uow),
                created_at=now,
                updated_at=now,
            )
            uow.accounts.add(account)
        return account

    def _locked_state(self, uow: UnitOfWork, account_id: str, now: dt.datetime, currency: str | None) -> Balance | None:
        """Step 2 right after the lock: housekeeping when it is due, then the prepayment balance in
        ``currency``; one read on SQL when nothing is overdue (the usual case)."""
        state = uow.accounts.state(account_id, currency=currency, now=now)
        if not state.housekeeping:
            return state.balance
        self._housekeeping(uow, account_id, now)
        return uow.balances.get(account_id, currency) if currency is not None else None

    def _housekeeping(self, uow: UnitOfWork, account_id: str, now: dt.datetime) -> None:
        """Step 2 of every money command: release overdue holds and expire grants of the account."""
        for hold in uow.holds.overdue(now, account_id=account_id):
            self._release(uow, hold, HoldStatus.EXPIRED, SYSTEM, now, "hold expired")
        grants = [g for g in uow.grants.for_account(account_id) if g.status is GrantStatus.APPROVED]
        for grant, move in expire_grants(grants, now):
            self._expire_grant(uow, grant, move, now)

    def _expire_grant(self, uow: UnitOfWork, expired: RebateGrant, move: Move | None, now: dt.datetime) -> None:
        current = uow.grants.get(expired.id)
        assert current is not None
        if move is not None:
            self._move_grant(uow, current, move, SYSTEM, now, "grant expired", "grant", current.id)
            current = uow.grants.get(expired.id)
            assert current is not None
        if current.status is not GrantStatus.EXPIRED:
            uow.grants.set_status(current, GrantStatus.EXPIRED)

    def _move_prepayment(
        self,
        uow: UnitOfWork,
        account: Account,
        move: Move,
        actor: Actor,
        now: dt.datetime,
        reason: str,
        ref_type: str,
        ref_id: str,
    ) -> Balance:
        after = uow.balances.move(account.id, move)
        uow.ledger.add(
            entry_for(
                move,
                after,
                id=self._s.new_id(),
                key=BalanceKey(account.id, Bucket.PREPAYMENT, move.currency),
                customer_id=account.customer_id,
                actor_id=actor.id,
                at=now,
                reason=reason,
                ref_type=ref_type,
                ref_id=ref_id,
            )
        )
        return after

    def _move_grant(
        self,
        uow: UnitOfWork,
        grant: RebateGrant,
        move: Move,
        actor: Actor,
        now: dt.datetime,
        reason: str,
        ref_type: str,
        ref_id: str,
    ) -> RebateGrant:
        after = uow.grants.move(grant.id, move)
        uow.ledger.add(
            entry_for(
                move,
                after.balance,
                id=self._s.new_id(),
                key=BalanceKey(grant.account_id, Bucket.REBATE, grant.currency, grant.id),
                customer_id=grant.customer_id,
                actor_id=actor.id,
                at=now,
                reason=reason,
                ref_type=ref_type,
                ref_id=ref_id,
            )
        )
        return after

    def _grant_entry(self, uow: UnitOfWork, grant: RebateGrant, actor: Actor, now: dt.datetime) -> None:
        """The ledger entry of a grant that starts counting (its remaining becomes available)."""
        uow.ledger.add(
            entry_for(
                Move.deposit(grant.amount, EntryKind.GRANT),
                grant.balance,
                id=self._s.new_id(),
                key=BalanceKey(grant.account_id, Bucket.REBATE, grant.currency, grant.id),
                customer_id=grant.customer_id,
                actor_id=actor.id,
                at=now,
                reason=grant.source.value,
                ref_type="grant",
                ref_id=grant.id,
            )
        )

    def _release(
        self,
        uow: UnitOfWork,
        hold: Hold,
        status: HoldStatus,
        actor: Actor,
        now: dt.datetime,
        reason: str,
        *,
        account: Account | None = None,
    ) -> Hold:
        """Give back everything a hold holds and close it with ``status`` (rejected or expired)."""
        account = account or uow.accounts.get(hold.account_id)
        assert account is not None
        if hold.prepayment:
            self._move_prepayment(uow, account, Move.release(hold.prepayment), actor, now, reason, "hold", hold.id)
        self._release_rebate(uow, hold.rebate, actor, now, reason, hold.id)
        closed = hold.close(status, now=now, by=actor.id, reason=reason)
        uow.holds.update(closed, hold.version)
        return closed

    def _release_rebate(
        self, uow: UnitOfWork, shares: Iterable[GrantShare], actor: Actor, now: dt.datetime, reason: str, hold_id: str
    ) -> None:
        for share in shares:
            if not share.amount:
                continue
            grant = uow.grants.get(share.grant_id)
            assert grant is not None
            grant = self._move_grant(uow, grant, Move.release(share.amount), actor, now, reason, "hold", hold_id)
            # DESIGN.md section 5: a rebate released after its grant expired is expired at once.
            move = expire_released(grant, now)
            if move is not None:
                self._expire_grant(uow, grant, move, now)

    # -- prepayment: top-up, income ----------------------------------------------------------------

    def top_up(
        self,
        ref: str,
        amount: Money,
        *,
        platform: str = "online",
        reference: str = "",
        key: str,
        actor: Actor,
    ) -> TopUpRecord:
        """Online top-up: credited in full at once, the platform fee recorded beside it.

        Refused (ValidationError ``fee_exceeds_amount``) when the fee is at least the amount.
        Needs ``accounts.top_up`` over the customer.
        """
        actor = self._s.authorize(actor, Permission.ACCOUNTS_TOP_UP, ref)
        args = {"customer": ref, "amount": amount, "platform": platform, "reference": reference}

        def check(uow: UnitOfWork, now: dt.datetime) -> Callable[[], TopUpRecord]:
            customer = load_customer(uow, ref)
            account = self._account(uow, customer, now)
            self._housekeeping(uow, account.id, now)
            _ensure_can_receive(customer)
            fee = self._fee(uow, platform).check(amount)
            record = TopUpRecord(
                id=self._s.new_id(),
                account_id=account.id,
                customer_id=customer.id,
                amount=amount,
                fee=fee,
                platform=platform,
                reference=reference,
                at=now,
                actor_id=actor.id,
            )

            def write() -> TopUpRecord:
                move = Move.deposit(amount, EntryKind.TOP_UP)
                self._move_prepayment(uow, account, move, actor, now, f"top-up via {platform}", "top_up", record.id)
                uow.account_records.add_top_up(record)
                return record

            return write

        return self._command("accounts.top_up", key=key, args=args, result_type=TopUpRecord, check=check)

    def record_income(
        self, ref: str, amount: Money, *, method: str, reference: str = "", key: str, actor: Actor
    ) -> IncomeRecord:
        """Offline income (cash, card, bank transfer, wire, Alipay, cheque): pending until approved.

        Without an approval rule for ``prepayment.income`` it is approved at once. Needs
        ``accounts.income.submit`` over the customer.
        """
        actor = self._s.authorize(actor, Permission.ACCOUNTS_INCOME_SUBMIT, ref)
        method_ = structure_as(method, IncomeMethod, field="method")
        args = {"customer": ref, "amount": amount, "method": method_, "reference": reference}

        def check(uow: UnitOfWork, now: dt.datetime) -> Callable[[], IncomeRecord]:
            customer = load_customer(uow, ref)
            account = self._account(uow, customer, now)
            self._housekeeping(uow, account.id, now)
            _ensure_can_receive(customer)
            require_positive(amount)
            steps = self._policy(uow).steps_for("prepayment.income", {"amount": amount, "method": method_.value})
            record = IncomeRecord(
                id=self._s.new_id(),
                account_id=account.id,
                customer_id=customer.id,
                amount=amount,
                method=method_,
                reference=reference,
                requested_by=actor.id,
                requested_at=now,
            )

            def write() -> IncomeRecord:
                if not steps:
                    approved = attrs.evolve(record, status=RecordStatus.APPROVED, decided_by=actor.id, decided_at=now)
                    uow.account_records.add_income(approved)
                    self._apply_income(uow, approved, actor, now)
                    return approved
                request = self._open_request(
                    uow,
                    "prepayment.income",
                    "income",
                    record.id,
                    customer.id,
                    steps,
                    actor,
                    now,
                    {"amount": converter.unstructure(amount), "method": method_.value},
                )
                pending = attrs.evolve(record, approval_id=request.id)
                uow.account_records.add_income(pending)
                return pending

            return write

        return self._command("accounts.record_income", key=key, args=args, result_type=IncomeRecord, check=check)

    def _apply_income(self, uow: UnitOfWork, income: IncomeRecord, actor: Actor, now: dt.datetime) -> None:
        account = uow.accounts.get(income.account_id)
        assert account is not None
        move = Move.deposit(income.amount, EntryKind.INCOME)
        self._move_prepayment(uow, account, move, actor, now, f"income by {income.method}", "income", income.id)

    # -- holds: payments and manual expenses -------------------------------------------------------

    def submit_payment(
        self,
        ref: str,
        *,
        prepayment: Money | None = None,
        rebate: Money | None = None,
        order: str | None = None,
        order_amount: Money | None = None,
        expires_in: dt.timedelta | None = None,
        key: str,
        actor: Actor,
    ) -> Hold:
        """Hold prepayment and/or rebate for a payment (an automatic expense: never approval).

        Rebate is reserved from grants in consumption order; with ``order_amount`` the usage rules
        cap the rebate. Refused with InsufficientFunds when available prepayment or rebate is short.
        The hold expires after ``expires_in`` (default: the configured hold TTL, 30 minutes).
        Needs ``accounts.pay`` over the customer.
        """
        actor = self._s.authorize(actor, Permission.ACCOUNTS_PAY, ref)
        args = {
            "customer": ref,
            "prepayment": prepayment,
            "rebate": rebate,
            "order": order,
            "order_amount": order_amount,
            "expires_in": expires_in,
        }

        return self._command(
            "accounts.submit_payment",
            key=key,
            args=args,
            result_type=Hold,
            check=lambda uow, now: self.submit_payment_in(
                uow,
                now,
                load_customer(uow, ref),
                prepayment=prepayment,
                rebate=rebate,
                order=order,
                order_amount=order_amount,
                expires_in=expires_in,
                actor=actor,
            ),
        )

    def submit_payment_in(
        self,
        uow: UnitOfWork,
        now: dt.datetime,
        customer: Customer,
        *,
        prepayment: Money | None = None,
        rebate: Money | None = None,
        order: str | None = None,
        order_amount: Money | None = None,
        expires_in: dt.timedelta | None = None,
        actor: Actor,
    ) -> Callable[[], Hold]:
        """:meth:`submit_payment` inside a caller's unit of work, after the caller claimed its key.

        Locks the account, expires its overdue holds and grants, runs every check (raising a refusal
        before anything of the payment is written) and returns the writer that places the hold.
        """
        account = self._account(uow, customer, now)
        first = prepayment if prepayment is not None else rebate
        balance = self._locked_state(uow, account.id, now, first.currency if isinstance(first, Money) else None)
        if customer.status is not CustomerStatus.ACTIVE:
            raise NotAllowed(
                f"customer {customer.code} is {customer.status}: no new payments",
                code="customer_not_active",
                field="customer",
            )
        parts = [m for m in (prepayment, rebate) if m is not None]
        if not parts:
            raise ValidationError("give prepayment and/or rebate", code="required", field="prepayment")
        for part, field in ((prepayment, "prepayment"), (rebate, "rebate")):
            if part is not None:
                require_positive(part, field=field)
        currency = parts[0].currency
        if any(p.currency != currency for p in parts) or (order_amount and order_amount.currency != currency):
            raise ValidationError("one currency per payment", code="currency_mismatch", field="currency")
        shares: tuple[GrantShare, ...] = ()
        if rebate is not None:
            if order_amount is not None:
                allowance = allowed_rebate(self._usage_rules(uow), _facts(customer), order_amount)
                if rebate > allowance.amount:
                    raise NotAllowed(
                        f"usage rules allow at most {allowance.amount} of rebate ({', '.join(allowance.reasons)})",
                        code="rebate_not_allowed",
                        field="rebate",
                        value=str(rebate),
                    )
            shares = consume(uow.grants.for_account(account.id), rebate, as_of=now)
        if prepayment is not None:
            (balance or Balance.zero(currency)).apply(Move.hold(prepayment))  # InsufficientFunds
        ttl = expires_in or dt.timedelta(minutes=int(uow.config.get(HOLD_TTL) or DEFAULT_HOLD_TTL_MINUTES))
        hold = Hold(
            id=self._s.new_id(),
            account_id=account.id,
            customer_id=customer.id,
            currency=currency,
            kind=HoldKind.PAYMENT,
            order=order,
            prepayment=prepayment or Money.zero(currency),
            rebate=shares,
            created_at=now,
            created_by=actor.id,
            expires_at=now + ttl,
        )
        return lambda: self._place(uow, account, hold, actor, now)

    def _place(self, uow: UnitOfWork, account: Account, hold: Hold, actor: Actor, now: dt.datetime) -> Hold:
        reason = f"hold for {hold.order}" if hold.order else "hold"
        if hold.prepayment:
            self._move_prepayment(uow, account, Move.hold(hold.prepayment), actor, now, reason, "hold", hold.id)
        for share in hold.rebate:
            grant = uow.grants.get(share.grant_id)
            assert grant is not None
            self._move_grant(uow, grant, Move.hold(share.amount), actor, now, reason, "hold", hold.id)
        uow.holds.add(hold)
        return hold

    def submit_expense(self, ref: str, amount: Money, *, reason: str, key: str, actor: Actor) -> Hold:
        """A manual expense: locks the amount now; approval confirms it (rejection releases it).

        Without an approval rule for ``prepayment.expense.manual`` it is confirmed at once. Needs
        ``accounts.expense.submit`` over the customer.
        """
        actor = self._s.authorize(actor, Permission.ACCOUNTS_EXPENSE_SUBMIT, ref)
        args = {"customer": ref, "amount": amount, "reason": reason}

        def check(uow: UnitOfWork, now: dt.datetime) -> Callable[[], Hold]:
            customer = load_customer(uow, ref)
            account = self._account(uow, customer, now)
            self._housekeeping(uow, account.id, now)
            require_positive(amount)
            if not reason.strip():
                raise ValidationError("a manual expense needs a reason", code="required", field="reason")
            self._prepayment(uow, account.id, amount.currency).apply(Move.hold(amount))  # InsufficientFunds
            steps = self._policy(uow).steps_for("prepayment.expense.manual", {"amount": amount})
            hold = Hold(
                id=self._s.new_id(),
                account_id=account.id,
                customer_id=customer.id,
                currency=amount.currency,
                kind=HoldKind.MANUAL_EXPENSE,
                prepayment=amount,
                created_at=now,
                created_by=actor.id,
                reason=reason.strip(),
            )

            def write() -> Hold:
                placed = self._place(uow, account, hold, actor, now)
                if not steps:
                    return self._settle(uow, placed, placed.prepayment, (), actor, now)
                self._open_request(
                    uow,
                    "prepayment.expense.manual",
                    "hold",
                    hold.id,
                    customer.id,
                    steps,
                    actor,
                    now,
                    {"amount": converter.unstructure(amount), "reason": hold.reason},
                )
                return placed

            return write

        return self._command("accounts.submit_expense", key=key, args=args, result_type=Hold, check=check)

    def confirm(
        self,
        hold_id: str,
        *,
        amount: Money | None = None,
        prepayment: Money | None = None,
        rebate: Money | None = None,
        key: str,
        actor: Actor,
    ) -> Hold:
        """Settle a hold: take all, or less (``amount`` split in proportion, or the parts); the rest is released.

        Never re-checks limits. A hold past its expiry is released instead and the confirmation is
        refused (NotAllowed ``hold_expired``). Needs ``accounts.pay`` over the hold's customer.
        """
        actor = self._s.authorize(actor, Permission.ACCOUNTS_PAY, lambda: self._hold_customer(hold_id))
        args = {"hold": hold_id, "amount": amount, "prepayment": prepayment, "rebate": rebate}
        return self._command(
            "accounts.confirm",
            key=key,
            args=args,
            result_type=Hold,
            check=lambda uow, now: self.confirm_in(
                uow, now, hold_id, amount=amount, prepayment=prepayment, rebate=rebate, actor=actor
            ),
        )

    def confirm_in(
        self,
        uow: UnitOfWork,
        now: dt.datetime,
        hold_id: str,
        *,
        amount: Money | None = None,
        prepayment: Money | None = None,
        rebate: Money | None = None,
        customer_id: str | None = None,
        actor: Actor,
    ) -> Callable[[], Hold]:
        """:meth:`confirm` inside a caller's unit of work: lock, expire, check; returns the writer.

        With ``customer_id`` a hold of another customer is NotFound (a caller's reservation cannot
        reach other customers' holds).
        """
        hold, account = self._open_hold(uow, hold_id, now, customer_id=customer_id)
        if hold.kind is HoldKind.MANUAL_EXPENSE:
            raise NotAllowed("a manual expense is confirmed by its approval", code="needs_approval", field="hold")
        take_prepayment, take_rebate = split_confirmation(hold, amount=amount, prepayment=prepayment, rebate=rebate)
        return lambda: self._settle(uow, hold, take_prepayment, take_rebate, actor, now, account=account)

    def reject(self, hold_id: str, *, reason: str = "", key: str, actor: Actor) -> Hold:
        """Release everything a hold holds. A hold past its expiry is released as expired (and refused).

        Needs ``accounts.pay`` over the hold's customer.
        """
        actor = self._s.authorize(actor, Permission.ACCOUNTS_PAY, lambda: self._hold_customer(hold_id))
        args = {"hold": hold_id, "reason": reason}
        return self._command(
            "accounts.reject",
            key=key,
            args=args,
            result_type=Hold,
            check=lambda uow, now: self.reject_in(uow, now, hold_id, reason=reason, actor=actor),
        )

    def reject_in(
        self,
        uow: UnitOfWork,
        now: dt.datetime,
        hold_id: str,
        *,
        reason: str = "",
        customer_id: str | None = None,
        actor: Actor,
    ) -> Callable[[], Hold]:
        """:meth:`reject` inside a caller's unit of work: lock, expire, check; returns the writer."""
        hold, account = self._open_hold(uow, hold_id, now, customer_id=customer_id)
        if hold.kind is HoldKind.MANUAL_EXPENSE:
            raise NotAllowed("a manual expense is rejected through its approval", code="needs_approval")
        return lambda: self._release(uow, hold, HoldStatus.REJECTED, actor, now, reason or "rejected", account=account)

    def _hold_customer(self, hold_id: str) -> str | None:
        """The id of the customer of hold ``hold_id`` (None when there is no such hold), for access checks."""
        with self._s.uow(write=False) as uow:
            hold = uow.holds.get(hold_id) if isinstance(hold_id, str) else None
            return None if hold is None else hold.customer_id

    def _open_hold(
        self, uow: UnitOfWork, hold_id: str, now: dt.datetime, *, customer_id: str | None = None
    ) -> tuple[Hold, Account | None]:
        """The hold, read after its account is locked and housekept, checked open; and the account."""
        # A customer's account id is the customer's id: with ``customer_id`` lock first and read the
        # hold once; otherwise find the account from the hold and read the hold again under the lock.
        account = uow.accounts.lock(customer_id) if customer_id is not None else None
        hold = uow.holds.get(hold_id)
        if hold is None or (customer_id is not None and hold.customer_id != customer_id):
            raise NotFound(f"no hold {hold_id!r}", code="hold_not_found", field="hold", value=hold_id)
        if account is None or account.id != hold.account_id:
            account = uow.accounts.lock(hold.account_id)
            hold = uow.holds.get(hold_id)
            assert hold is not None
        if uow.accounts.state(hold.account_id, currency=None, now=now).housekeeping:
            self._housekeeping(uow, hold.account_id, now)
            hold = uow.holds.get(hold_id)
            assert hold is not None
        hold.ensure_open(now)
        return hold, account

    def _settle(
        self,
        uow: UnitOfWork,
        hold: Hold,
        take_prepayment: Money,
        take_rebate: Sequence[GrantShare],
        actor: Actor,
        now: dt.datetime,
        *,
        account: Account | None = None,
    ) -> Hold:
        account = account or uow.accounts.get(hold.account_id)
        assert account is not None
        reason = f"payment for {hold.order}" if hold.order else (hold.reason or "confirmed")
        if take_prepayment:
            self._move_prepayment(uow, account, Move.settle(take_prepayment), actor, now, reason, "hold", hold.id)
        rest = hold.prepayment - take_prepayment
        if rest:
            self._move_prepayment(uow, account, Move.release(rest), actor, now, "rest released", "hold", hold.id)
        taken = shares_by_grant(take_rebate)
        left: list[GrantShare] = []
        for share in hold.rebate:
            took = taken.get(share.grant_id, Money.zero(hold.currency))
            if took:
                grant = uow.grants.get(share.grant_id)
                assert grant is not None
                self._move_grant(uow, grant, Move.settle(took), actor, now, reason, "hold", hold.id)
            if share.amount - took:
                left.append(GrantShare(share.grant_id, share.amount - took))
        self._release_rebate(uow, left, actor, now, "rest released", hold.id)
        if take_prepayment:
            kind = ExpenseKind.MANUAL if hold.kind is HoldKind.MANUAL_EXPENSE else ExpenseKind.AUTOMATIC
            uow.account_records.add_expense(
                ExpenseRecord(
                    id=self._s.new_id(),
                    account_id=account.id,
                    customer_id=hold.customer_id,
                    amount=take_prepayment,
                    kind=kind,
                    hold_id=hold.id,
                    order=hold.order,
                    reason=reason,
                    at=now,
                    actor_id=actor.id,
                )
            )
        closed = hold.close(HoldStatus.CONFIRMED, now=now, by=actor.id, prepayment=take_prepayment, rebate=take_rebate)
        uow.holds.update(closed, hold.version)
        return closed

    def expire(self, *, as_of: dt.datetime | None = None, actor: Actor = SYSTEM) -> ExpiryReport:
        """The expiry job: release every overdue hold and expire every grant past its validity.

        Accounts are locked one by one in id order, the same lock every money command takes first.
        Runs over every customer, so it needs ``accounts.enable`` (the default actor, the library's
        ``system`` role, holds everything).
        """
        actor = self._s.authorize(actor, Permission.ACCOUNTS_ENABLE)
        holds = grants = 0
        with self._s.uow() as uow:
            now = as_of or self._s.clock.now()
            accounts = {h.account_id for h in uow.holds.overdue(now, limit=100_000)}
            accounts |= {g.account_id for g in uow.grants.expired(now, 100_000)}
            for account_id in sorted(accounts):
                uow.accounts.lock(account_id)
                for hold in uow.holds.overdue(now, account_id=account_id):
                    self._release(uow, hold, HoldStatus.EXPIRED, actor, now, "hold expired")
                    holds += 1
                current = [g for g in uow.grants.for_account(account_id) if g.status is GrantStatus.APPROVED]
                for grant, move in expire_grants(current, now):
                    self._expire_grant(uow, grant, move, now)
                    grants += 1
            uow.commit()
        return ExpiryReport(holds=holds, grants=grants)

    def expire_grants(self, as_of: dt.datetime | None = None, *, actor: Actor = SYSTEM) -> ExpiryReport:
        """Expire grants past their validity as of ``as_of`` (an expiry record per remainder)."""
        return self.expire(as_of=as_of, actor=actor)

    # -- rebates -----------------------------------------------------------------------------------

    def grant_rebate(
        self,
        ref: str,
        amount: Money,
        *,
        valid_from: dt.datetime,
        valid_until: dt.datetime,
        reason: str = "",
        key: str,
        actor: Actor,
    ) -> RebateGrant:
        """A manual grant (needs a validity period; finance approval by default).

        Needs ``rebate.grant.submit`` over the customer.
        """
        actor = self._s.authorize(actor, Permission.REBATE_GRANT_SUBMIT, ref)
        args = {"customer": ref, "amount": amount, "from": valid_from, "until": valid_until, "reason": reason}

        def check(uow: UnitOfWork, now: dt.datetime) -> Callable[[], RebateGrant]:
            customer = load_customer(uow, ref)
            account = self._account(uow, customer, now)
            self._housekeeping(uow, account.id, now)
            _ensure_can_receive(customer)
            steps = self._policy(uow).steps_for("rebate.grant.manual", {"amount": amount})
            grant = manual_grant(
                id=self._s.new_id(),
                account_id=account.id,
                customer_id=customer.id,
                amount=amount,
                valid_from=valid_from,
                valid_until=valid_until,
                needs_approval=bool(steps),
                created_at=now,
                created_by=actor.id,
                reason=reason,
            )
            return lambda: self._add_grant(uow, grant, "rebate.grant.manual", steps, actor, now)

        return self._command("accounts.grant_rebate", key=key, args=args, result_type=RebateGrant, check=check)

    def refund_to_rebate(
        self,
        ref: str,
        amount: Money,
        *,
        refund_id: str,
        refund_created_at: dt.datetime,
        key: str,
        actor: Actor,
    ) -> RebateGrant:
        """A refund paid out as rebate: a grant valid 10 years from the refund's creation, once approved.

        Needs ``rebate.grant.submit`` over the customer.
        """
        actor = self._s.authorize(actor, Permission.REBATE_GRANT_SUBMIT, ref)
        args = {"customer": ref, "amount": amount, "refund": refund_id, "created": refund_created_at}

        def check(uow: UnitOfWork, now: dt.datetime) -> Callable[[], RebateGrant]:
            customer = load_customer(uow, ref)
            account = self._account(uow, customer, now)
            self._housekeeping(uow, account.id, now)
            steps = self._policy(uow).steps_for("rebate.grant.refund", {"amount": amount})
            grant = refund_grant(
                id=self._s.new_id(),
                account_id=account.id,
                customer_id=customer.id,
                amount=amount,
                refund_id=refund_id,
                refund_created_at=refund_created_at,
                needs_approval=bool(steps),
                created_at=now,
                created_by=actor.id,
            )
            return lambda: self._add_grant(uow, grant, "rebate.grant.refund", steps, actor, now)

        return self._command("accounts.refund_to_rebate", key=key, args=args, result_type=RebateGrant, check=check)

    def _add_grant(
        self,
        uow: UnitOfWork,
        grant: RebateGrant,
        command: str,
        steps: Sequence[ApprovalStep],
        actor: Actor,
        now: dt.datetime,
    ) -> RebateGrant:
        if steps:
            request = self._open_request(
                uow,
                command,
                "grant",
                grant.id,
                grant.customer_id,
                steps,
                actor,
                now,
                {"amount": converter.unstructure(grant.amount), "source": grant.source.value},
            )
            grant = attrs.evolve(grant, approval_id=request.id)
        uow.grants.add(grant)
        if grant.status is GrantStatus.APPROVED:
            self._grant_entry(uow, grant, actor, now)
        return grant

    def order_confirmed(
        self,
        ref: str,
        *,
        order: str,
        amount: Money,
        rebate_used: Money | None = None,
        actor: Actor = SYSTEM,
    ) -> list[RebateGrant]:
        """The host reports a confirmed order: order rebate rules on ``order_confirmed`` give their grants."""
        return self._order_event(ref, RuleTrigger.ORDER_CONFIRMED, order, amount, rebate_used, actor)

    def receipt_confirmed(
        self,
        ref: str,
        *,
        order: str,
        amount: Money,
        rebate_used: Money | None = None,
        actor: Actor = SYSTEM,
    ) -> list[RebateGrant]:
        """The host reports a confirmed receipt: rules on ``receipt_confirmed`` give their grants."""
        return self._order_event(ref, RuleTrigger.RECEIPT_CONFIRMED, order, amount, rebate_used, actor)

    def _order_event(
        self, ref: str, trigger: RuleTrigger, order: str, amount: Money, rebate_used: Money | None, actor: Actor
    ) -> list[RebateGrant]:
        """One grant per order and rule, exactly once: a repeated event finds the grant and creates nothing.

        Needs ``rebate.grant.submit`` over the customer (the default actor, ``system``, holds it).
        """
        actor = self._s.authorize(actor, Permission.REBATE_GRANT_SUBMIT, ref)
        if not isinstance(order, str) or not order.strip():
            raise ValidationError("give the order number", code="required", field="order")
        require_positive(amount)
        created: list[RebateGrant] = []
        with self._s.uow() as uow:
            now = self._s.clock.now()
            customer = load_customer(uow, ref)
            account = self._account(uow, customer, now)
            self._housekeeping(uow, account.id, now)
            for rule in firing_rules(self._order_rules(uow), trigger, now, _facts(customer)):
                if uow.grants.for_order(rule.id, order.strip()) is not None:
                    continue
                grant = order_rule_grant(
                    rule,
                    id=self._s.new_id(),
                    account_id=account.id,
                    customer_id=customer.id,
                    order_number=order.strip(),
                    order_amount=amount,
                    rebate_used=rebate_used,
                    at=now,
                )
                if grant is None:
                    continue
                steps = (ApprovalStep(FINANCE),) if rule.needs_approval else ()
                grant = self._add_grant(uow, grant, "rebate.grant.order_rule", steps, actor, now)
                created.append(grant)
                uow.events.append(
                    id=self._s.new_id(),
                    type="rebate.order_grant_created",
                    aggregate_type="customer",
                    aggregate_id=customer.id,
                    occurred_at=now,
                    payload={
                        "grant_id": grant.id,
                        "order": grant.order_number,
                        "rule_id": rule.id,
                        "amount": converter.unstructure(grant.amount),
                        "recipients": list(rule.recipients),
                    },
                )
            uow.commit()
        return created

    # -- settlement method -------------------------------------------------------------------------

    def set_settlement_method(
        self, ref: str, method: str, *, payment_terms: str | None = None, actor: Actor
    ) -> SettlementChange:
        """Change how the customer pays; audited, and through approval when a rule for
        ``account.settlement_method`` says so (then the change waits in the returned request).

        Needs ``accounts.settlement`` over the customer."""
        actor = self._s.authorize(actor, Permission.ACCOUNTS_SETTLEMENT, ref)
        with self._s.uow() as uow:
            now = self._s.clock.now()
            change = self.settlement_in(uow, load_customer(uow, ref), method, payment_terms, actor, now)
            uow.commit()
        return change

    def settlement_in(
        self,
        uow: UnitOfWork,
        customer: Customer,
        method: str,
        payment_terms: str | None,
        actor: Actor,
        now: dt.datetime,
    ) -> SettlementChange:
        """:meth:`set_settlement_method` inside ``uow`` (bulk import uses it)."""
        account = self._account(uow, customer, now)
        changed = change_settlement_method(account, method, now=now, payment_terms=payment_terms)
        facts = {"from": account.settlement_method.value, "to": changed.settlement_method.value}
        steps = self._policy(uow).steps_for("account.settlement_method", facts)
        if steps:
            payload = {"method": changed.settlement_method.value, "payment_terms": payment_terms}
            request = self._open_request(
                uow, "account.settlement_method", "account", account.id, customer.id, steps, actor, now, payload
            )
            return SettlementChange(account=account, approval=request)
        return SettlementChange(account=self._apply_settlement(uow, account, changed, actor))

    def _apply_settlement(self, uow: UnitOfWork, before: Account, after: Account, actor: Actor) -> Account:
        uow.accounts.update(after, before.version)
        self._s.record(
            uow,
            actor=actor,
            action="account.settlement_method",
            entity_type="account",
            entity_id=after.id,
            changes={
                "settlement_method": [before.settlement_method.value, after.settlement_method.value],
                "payment_terms": [before.payment_terms, after.payment_terms],
            },
            event="account.settlement_method_changed",
            payload={"customer_id": after.customer_id, "method": after.settlement_method.value},
        )
        return after

    # -- approvals (decided by book.approvals: services/approvals.py) ------------------------------

    def _open_request(
        self,
        uow: UnitOfWork,
        command: str,
        subject_type: str,
        subject_id: str,
        customer_id: str,
        steps: Sequence[ApprovalStep],
        actor: Actor,
        now: dt.datetime,
        payload: Mapping[str, Any],
    ) -> ApprovalRequest:
        return open_in(
            self._s,
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

    @staticmethod
    def _load_approval(uow: UnitOfWork, approval_id: str) -> ApprovalRequest:
        request = uow.approvals.get(approval_id)
        if request is None:
            raise NotFound(f"no approval request {approval_id!r}", code="approval_not_found", field="approval")
        return request

    @property
    def _approvals(self) -> ApprovalService:
        if self._approval_service is None:
            self._approval_service = ApprovalService(self._s)
        return self._approval_service

    def approve(self, approval_id: str, *, note: str = "", actor: Actor) -> ApprovalRequest:
        """Sign the current step; the last signature applies the proposed change in the same transaction.

        The same as ``book.approvals.approve``. Maker-checker: not the requester, and the actor holds
        the step's role and the approve permission of the request's command over its customer.
        """
        return self._approvals.approve(approval_id, note=note, actor=actor)

    def reject_approval(self, approval_id: str, *, note: str = "", actor: Actor) -> ApprovalRequest:
        """Reject a request: the proposed change is discarded (a held expense is released).

        The same as ``book.approvals.reject``; needs the same role and permission as :meth:`approve`.
        """
        return self._approvals.reject(approval_id, note=note, actor=actor)

    def approval_handlers(self) -> dict[str, ApprovalHandler]:
        """How each accounts command is applied once approved and discarded once rejected."""
        grant = Handler(self._approve_grant, self._reject_grant, Permission.REBATE_GRANT_APPROVE)
        return {
            "prepayment.income": Handler(self._approve_income, self._reject_income, Permission.ACCOUNTS_INCOME_APPROVE),
            "prepayment.expense.manual": Handler(
                self._approve_expense, self._reject_expense, Permission.ACCOUNTS_EXPENSE_APPROVE
            ),
            "rebate.grant.manual": grant,
            "rebate.grant.refund": grant,
            "rebate.grant.order_rule": grant,
            "account.settlement_method": Handler(
                self._approve_settlement, permission=Permission.ACCOUNTS_SETTLEMENT_APPROVE
            ),
        }

    def _approve_income(self, uow: UnitOfWork, request: ApprovalRequest, actor: Actor, now: dt.datetime) -> None:
        income = uow.account_records.get_income(request.subject_id)
        assert income is not None
        done = attrs.evolve(income, status=RecordStatus.APPROVED, decided_by=actor.id, decided_at=now)
        uow.account_records.update_income(done)
        self._apply_income(uow, done, actor, now)

    def _reject_income(self, uow: UnitOfWork, request: ApprovalRequest, actor: Actor, now: dt.datetime) -> None:
        income = uow.account_records.get_income(request.subject_id)
        assert income is not None
        done = attrs.evolve(income, status=RecordStatus.REJECTED, decided_by=actor.id, decided_at=now)
        uow.account_records.update_income(done)

    def _approve_expense(self, uow: UnitOfWork, request: ApprovalRequest, actor: Actor, now: dt.datetime) -> None:
        hold = uow.holds.get(request.subject_id)
        assert hold is not None
        assert hold.is_open()
        self._settle(uow, hold, hold.prepayment, (), actor, now)

    def _reject_expense(self, uow: UnitOfWork, request: ApprovalRequest, actor: Actor, now: dt.datetime) -> None:
        hold = uow.holds.get(request.subject_id)
        assert hold is not None
        if hold.is_open():
            note = request.decisions[-1].note if request.decisions else ""
            self._release(uow, hold, HoldStatus.REJECTED, actor, now, note or "rejected")

    def _approve_grant(self, uow: UnitOfWork, request: ApprovalRequest, actor: Actor, now: dt.datetime) -> None:
        grant = uow.grants.get(request.subject_id)
        assert grant is not None
        grant = uow.grants.set_status(grant, GrantStatus.APPROVED)
        self._grant_entry(uow, grant, actor, now)

    def _reject_grant(self, uow: UnitOfWork, request: ApprovalRequest, actor: Actor, now: dt.datetime) -> None:
        grant = uow.grants.get(request.subject_id)
        assert grant is not None
        uow.grants.set_status(grant, GrantStatus.REJECTED)

    def _approve_settlement(self, uow: UnitOfWork, request: ApprovalRequest, actor: Actor, now: dt.datetime) -> None:
        account = uow.accounts.get(request.subject_id)
        assert account is not None
        changed = change_settlement_method(
            account, request.payload["method"], now=now, payment_terms=request.payload.get("payment_terms")
        )
        self._apply_settlement(uow, account, changed, actor)


def _ensure_can_receive(customer: Customer) -> None:
    """A voided customer gets nothing new: no top-ups, no income, no grants (DESIGN.md section 3)."""
    if customer.status in (CustomerStatus.VOIDED, CustomerStatus.MERGED):
        raise NotAllowed(f"customer {customer.code} is {customer.status}", code="customer_voided", field="customer")
