"""The adapter contract suite for customer accounts (DESIGN.md section 5).

Subclass each class in an adapter's test module; the classes use the ``book`` fixture (a fresh,
empty book on a :class:`~bigledger_customers.testing.FrozenClock`).
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
import uuid
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from bigledger_customers._book import Book
from bigledger_customers.domain.accounts import Balance, Bucket, EntryKind, HoldStatus, RecordStatus
from bigledger_customers.domain.approvals import DEFAULT_POLICY, ApprovalRule
from bigledger_customers.domain.rebates import GrantStatus, OrderRebateRule, RuleTrigger, UsageRule
from bigledger_customers.domain.records import Actor
from bigledger_customers.errors import (
    BigLedgerError,
    Conflict,
    InsufficientFunds,
    NotAllowed,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from bigledger_customers.money import Money
from bigledger_customers.services._base import Services
from bigledger_customers.services.accounts import AccountService

__all__ = [
    "AccountConcurrencyContract",
    "AccountContract",
    "AccountCrashContract",
    "AccountStateMachineContract",
    "crash_every_step",
]

ADMIN = Actor(id="admin", roles=frozenset({"sales_admin"}))
#: Submits money commands and also holds the approving role: maker-checker still stops it approving its own.
CLERK = Actor(id="clerk", roles=frozenset({"sales_admin", "finance_approver"}))
#: Changes approval and rebate rules (only ``admin`` holds those permissions by default).
ROOT = Actor(id="root", roles=frozenset({"admin"}))
FINANCE = Actor(id="finance-lead", roles=frozenset({"finance_approver"}))


def cny(amount: str | int) -> Money:
    return Money(amount, "CNY")


def _customer(book: Book, code: str = "CUS-1") -> str:
    book.customers.create({"code": code, "name": {"en": f"Customer {code}"}, "country": "CN"}, actor=ADMIN)
    return code


def _clock(book: Book) -> Any:
    return book.services.clock


def _now(book: Book) -> dt.datetime:
    return book.services.clock.now()


def _funded(book: Book, amount: str = "100.00", code: str = "CUS-1") -> str:
    _customer(book, code)
    book.accounts.top_up(code, cny(amount), key=f"fund-{code}", actor=ADMIN)
    return code


def _grant(book: Book, code: str, amount: str, *, days: int = 30, key: str | None = None) -> str:
    now = _now(book)
    grant = book.accounts.grant_rebate(
        code,
        cny(amount),
        valid_from=now,
        valid_until=now + dt.timedelta(days=days),
        key=key or f"g-{amount}-{days}",
        actor=CLERK,
    )
    assert grant.approval_id is not None
    book.accounts.approve(grant.approval_id, actor=FINANCE)
    return grant.id


class AccountContract:
    """Account rules every adapter must keep, with the examples of the specification."""

    def test_configuration_changes_are_audited_with_before_and_after(self, book: Book) -> None:
        book.accounts.configure(hold_ttl_minutes=30, actor=ROOT)
        book.accounts.configure(hold_ttl_minutes=45, actor=ROOT)
        with book.unit_of_work(write=False) as uow:
            changes = [e.changes for e in uow.audit.for_entity("config", "accounts")]
        assert [list(c.values()) for c in changes] == [[[None, 30]], [[30, 45]]]

    # -- enabling and settlement ---------------------------------------------------------------

    def test_enabling_creates_every_account_in_batches_and_is_safe_to_repeat(self, book: Book) -> None:
        for i in range(7):
            _customer(book, f"CUS-{i}")
        seen: list[tuple[int, int]] = []
        report = book.accounts.enable(
            batch_size=3, on_progress=lambda done, total: seen.append((done, total)), actor=ADMIN
        )
        assert (report.created, report.accounts, report.customers, report.enabled) == (7, 7, 7, True)
        assert seen[-1] == (7, 7)
        assert len(seen) >= 3
        assert book.accounts.enable(actor=ADMIN).created == 0
        assert [e.type for e in book.events.read(limit=1000)].count("accounts.enabled") == 1
        _customer(book, "CUS-NEW")
        assert book.accounts.account("CUS-NEW").customer_id == book.customers.get("CUS-NEW").id

    def test_enabling_resumes_after_accounts_made_on_first_use(self, book: Book) -> None:
        # A money command before enabling creates that one account; the job counts only the rest.
        for i in range(5):
            _customer(book, f"CUS-{i}")
        book.accounts.top_up("CUS-2", Money("10", "CNY"), key="early", actor=ADMIN)
        report = book.accounts.enable(batch_size=2, actor=ADMIN)
        assert (report.created, report.accounts, report.customers, report.enabled) == (4, 5, 5, True)

    def test_settlement_method_defaults_to_pay_now_and_changes_are_audited(self, book: Book) -> None:
        code = _customer(book)
        book.accounts.enable(actor=ADMIN)
        assert book.accounts.account(code).settlement_method == "pay_now"
        change = book.accounts.set_settlement_method(code, "prepaid", actor=ADMIN)
        assert change.approval is None
        assert (change.account.settlement_method, change.account.version) == ("prepaid", 2)
        assert "account.settlement_method_changed" in [e.type for e in book.events.read(limit=1000)]

    def test_settlement_method_change_can_require_approval(self, book: Book) -> None:
        code = _customer(book)
        book.accounts.configure(
            approval_policy=DEFAULT_POLICY.with_rules(ApprovalRule(command="account.settlement_method")), actor=ROOT
        )
        change = book.accounts.set_settlement_method(code, "credit", payment_terms="NET30", actor=CLERK)
        assert change.approval is not None
        assert book.accounts.account(code).settlement_method == "pay_now"
        book.accounts.approve(change.approval.id, actor=FINANCE)
        assert book.accounts.account(code).payment_terms == "NET30"

    # -- top-up and income -------------------------------------------------------------------------

    @pytest.mark.parametrize(("amount", "fee"), [("100.00", "1.00"), ("1000.00", "6.00"), ("257.50", "1.55")])
    def test_top_up_credits_the_full_amount_and_records_the_fee(self, book: Book, amount: str, fee: str) -> None:
        code = _customer(book)
        record = book.accounts.top_up(code, cny(amount), key="tp", actor=ADMIN)
        assert record.fee == cny(fee)
        balance = book.accounts.balance(code, "CNY")
        assert (balance.actual, balance.available, balance.locked) == (cny(amount), cny(amount), cny(0))
        assert book.accounts.top_ups(code) == [record]

    def test_top_up_whose_fee_is_at_least_its_amount_is_refused(self, book: Book) -> None:
        code = _customer(book)
        with pytest.raises(ValidationError) as caught:
            book.accounts.top_up(code, cny("1.00"), key="tp", actor=ADMIN)
        assert caught.value.code == "fee_exceeds_amount"
        assert book.accounts.balance(code, "CNY").actual == cny(0)

    def test_offline_income_waits_for_approval_by_someone_else(self, book: Book) -> None:
        code = _customer(book)
        income = book.accounts.record_income(code, cny(500), method="bank_transfer", key="in-1", actor=CLERK)
        assert income.status is RecordStatus.PENDING
        assert book.accounts.balance(code, "CNY").actual == cny(0)
        assert income.approval_id is not None
        with pytest.raises(NotAllowed) as caught:
            book.accounts.approve(income.approval_id, actor=CLERK)
        assert caught.value.code == "self_approval"
        book.accounts.approve(income.approval_id, actor=FINANCE)
        balance = book.accounts.balance(code, "CNY")
        assert (balance.actual, balance.available) == (cny(500), cny(500))
        assert book.accounts.incomes(code)[0].status is RecordStatus.APPROVED

    def test_rejected_income_changes_nothing(self, book: Book) -> None:
        code = _customer(book)
        income = book.accounts.record_income(code, cny(500), method="cash", key="in-1", actor=CLERK)
        assert income.approval_id is not None
        book.accounts.reject_approval(income.approval_id, actor=FINANCE, note="no receipt")
        assert book.accounts.balance(code, "CNY").actual == cny(0)
        assert book.accounts.ledger(code) == []
        assert book.accounts.incomes(code)[0].status is RecordStatus.REJECTED

    # -- expenses and payments -----------------------------------------------------------------------

    def test_manual_expense_locks_then_approval_confirms_it_with_an_expense_record(self, book: Book) -> None:
        code = _funded(book)
        hold = book.accounts.submit_expense(code, cny(40), reason="service fee", key="ex-1", actor=CLERK)
        balance = book.accounts.balance(code, "CNY")
        assert (balance.actual, balance.available, balance.locked) == (cny(100), cny(60), cny(40))
        [request] = book.accounts.pending_approvals()
        assert request.subject_id == hold.id
        book.accounts.approve(request.id, actor=FINANCE)
        balance = book.accounts.balance(code, "CNY")
        assert (balance.actual, balance.available, balance.locked) == (cny(60), cny(60), cny(0))
        [expense] = book.accounts.expenses(code)
        assert (expense.amount, expense.kind, expense.hold_id) == (cny(40), "manual", hold.id)

    def test_rejected_manual_expense_is_released(self, book: Book) -> None:
        code = _funded(book)
        book.accounts.submit_expense(code, cny(40), reason="service fee", key="ex-1", actor=CLERK)
        [request] = book.accounts.pending_approvals()
        book.accounts.reject_approval(request.id, actor=FINANCE)
        balance = book.accounts.balance(code, "CNY")
        assert (balance.actual, balance.available, balance.locked) == (cny(100), cny(100), cny(0))
        assert book.accounts.expenses(code) == []

    def test_payment_is_refused_when_available_is_short(self, book: Book) -> None:
        code = _funded(book, "20.00")
        with pytest.raises(InsufficientFunds):
            book.accounts.submit_payment(code, prepayment=cny(30), key="p-1", actor=ADMIN)
        assert book.accounts.balance(code, "CNY").available == cny(20)

    def test_confirm_may_take_less_and_releases_the_rest(self, book: Book) -> None:
        code = _funded(book)
        hold = book.accounts.submit_payment(code, prepayment=cny(30), order="SO-1", key="p-1", actor=ADMIN)
        done = book.accounts.confirm(hold.id, amount=cny(25), key="c-1", actor=ADMIN)
        assert (done.status, done.settled_prepayment) == (HoldStatus.CONFIRMED, cny(25))
        balance = book.accounts.balance(code, "CNY")
        assert (balance.actual, balance.available, balance.locked) == (cny(75), cny(75), cny(0))
        assert [e.amount for e in book.accounts.expenses(code)] == [cny(25)]
        with pytest.raises(NotAllowed) as caught:
            book.accounts.reject(hold.id, key="r-1", actor=ADMIN)
        assert caught.value.code == "hold_confirmed"

    def test_reject_releases_everything(self, book: Book) -> None:
        code = _funded(book)
        hold = book.accounts.submit_payment(code, prepayment=cny(30), key="p-1", actor=ADMIN)
        book.accounts.reject(hold.id, key="r-1", actor=ADMIN)
        balance = book.accounts.balance(code, "CNY")
        assert (balance.actual, balance.available, balance.locked) == (cny(100), cny(100), cny(0))

    def test_an_overdue_hold_is_released_and_cannot_be_confirmed(self, book: Book) -> None:
        code = _funded(book)
        hold = book.accounts.submit_payment(
            code, prepayment=cny(30), expires_in=dt.timedelta(minutes=5), key="p-1", actor=ADMIN
        )
        _clock(book).advance(minutes=5)
        with pytest.raises(NotAllowed) as caught:
            book.accounts.confirm(hold.id, key="c-1", actor=ADMIN)
        assert caught.value.code == "hold_expired"
        assert book.accounts.hold(hold.id).status is HoldStatus.EXPIRED
        assert book.accounts.balance(code, "CNY").available == cny(100)

    def test_the_expiry_job_releases_overdue_holds(self, book: Book) -> None:
        code = _funded(book)
        book.accounts.submit_payment(code, prepayment=cny(30), expires_in=dt.timedelta(minutes=5), key="p", actor=ADMIN)
        _clock(book).advance(minutes=6)
        assert book.accounts.expire().holds == 1
        assert book.accounts.balance(code, "CNY").locked == cny(0)

    # -- rebates -----------------------------------------------------------------------------------

    def test_rebate_is_consumed_smallest_grant_first(self, book: Book) -> None:
        code = _customer(book)
        ids = {amount: _grant(book, code, amount, days=30 + i) for i, amount in enumerate(["300", "100", "500"])}
        hold = book.accounts.submit_payment(code, rebate=cny(500), key="p-1", actor=ADMIN)
        assert [s.grant_id for s in hold.rebate] == [ids["100"], ids["300"], ids["500"]]
        book.accounts.confirm(hold.id, key="c-1", actor=ADMIN)
        remaining = {g.id: g.remaining for g in book.accounts.grants(code)}
        assert [remaining[ids[a]] for a in ("300", "100", "500")] == [cny(0), cny(0), cny(400)]
        assert book.accounts.balance(code, "CNY").rebate_available == cny(400)

    def test_manual_grants_wait_for_approval(self, book: Book) -> None:
        code = _customer(book)
        now = _now(book)
        grant = book.accounts.grant_rebate(
            code, cny(50), valid_from=now, valid_until=now + dt.timedelta(days=1), key="g", actor=CLERK
        )
        assert grant.status is GrantStatus.PENDING
        assert book.accounts.balance(code, "CNY").rebate_actual == cny(0)

    def test_a_grant_valid_from_tomorrow_does_not_count_today(self, book: Book) -> None:
        code = _customer(book)
        now = _now(book)
        grant = book.accounts.grant_rebate(
            code,
            cny(50),
            valid_from=now + dt.timedelta(days=1),
            valid_until=now + dt.timedelta(days=9),
            key="g",
            actor=CLERK,
        )
        assert grant.approval_id is not None
        book.accounts.approve(grant.approval_id, actor=FINANCE)
        assert book.accounts.balance(code, "CNY").rebate_available == cny(0)
        assert book.accounts.balance(code, "CNY", as_of=now + dt.timedelta(days=1)).rebate_available == cny(50)
        with pytest.raises(InsufficientFunds):
            book.accounts.submit_payment(code, rebate=cny(10), key="p", actor=ADMIN)

    def test_an_expired_grant_does_not_count_and_its_remainder_gets_an_expiry_record(self, book: Book) -> None:
        code = _customer(book)
        grant_id = _grant(book, code, "50", days=1)
        _clock(book).advance(days=2)
        assert book.accounts.balance(code, "CNY").rebate_available == cny(0)
        assert book.accounts.expire_grants().grants == 1
        [grant] = book.accounts.grants(code)
        assert (grant.id, grant.status, grant.remaining) == (grant_id, GrantStatus.EXPIRED, cny(0))
        assert [e.kind for e in book.accounts.ledger(code)] == [EntryKind.GRANT, EntryKind.EXPIRY]
        assert book.accounts.expire_grants().grants == 0

    def test_a_rebate_released_after_its_grant_expired_is_expired_at_once(self, book: Book) -> None:
        code = _customer(book)
        _grant(book, code, "50", days=1)
        hold = book.accounts.submit_payment(code, rebate=cny(20), expires_in=dt.timedelta(days=3), key="p", actor=ADMIN)
        _clock(book).advance(days=2)
        book.accounts.reject(hold.id, key="r", actor=ADMIN)
        [grant] = book.accounts.grants(code)
        assert (grant.status, grant.remaining, grant.reserved) == (GrantStatus.EXPIRED, cny(0), cny(0))
        kinds = [e.kind for e in book.accounts.ledger(code)]
        assert kinds == [EntryKind.GRANT, EntryKind.HOLD, EntryKind.EXPIRY, EntryKind.RELEASE, EntryKind.EXPIRY]

    def test_refund_to_rebate_is_valid_ten_years_from_the_refund(self, book: Book) -> None:
        code = _customer(book)
        created = dt.datetime(2025, 6, 30, tzinfo=dt.UTC)
        grant = book.accounts.refund_to_rebate(
            code, cny(80), refund_id="RF-1", refund_created_at=created, key="rf", actor=CLERK
        )
        assert grant.valid_until == dt.datetime(2035, 6, 30, tzinfo=dt.UTC)
        assert grant.approval_id is not None
        book.accounts.approve(grant.approval_id, actor=FINANCE)
        assert book.accounts.balance(code, "CNY").rebate_available == cny(80)

    def test_order_rule_grants_once_per_order_and_notifies(self, book: Book) -> None:
        code = _customer(book)
        book.accounts.configure(
            order_rules=[OrderRebateRule(id="r5", rate="0.05", trigger=RuleTrigger.ORDER_CONFIRMED)], actor=ROOT
        )
        [grant] = book.accounts.order_confirmed(code, order="SO-9", amount=cny(1500), rebate_used=cny(100))
        assert (grant.amount, grant.order_number, grant.status) == (cny(70), "SO-9", GrantStatus.APPROVED)
        assert book.accounts.order_confirmed(code, order="SO-9", amount=cny(1500)) == []
        assert book.accounts.receipt_confirmed(code, order="SO-9", amount=cny(1500)) == []
        events = [e for e in book.events.read(limit=1000) if e.type == "rebate.order_grant_created"]
        assert [e.payload["recipients"] for e in events] == [["administrators"]]

    def test_usage_rules_cap_the_rebate_of_a_payment(self, book: Book) -> None:
        code = _customer(book)
        _grant(book, code, "6000", days=30)
        book.accounts.configure(
            usage_rules=[UsageRule(id="u", currency="CNY", max_share="0.2", max_per_use=cny(5000))], actor=ROOT
        )
        assert book.accounts.allowed_rebate(code, cny(20000)).amount == cny(4000)
        with pytest.raises(NotAllowed) as caught:
            book.accounts.submit_payment(code, rebate=cny("4000.01"), order_amount=cny(20000), key="p", actor=ADMIN)
        assert caught.value.code == "rebate_not_allowed"
        book.accounts.submit_payment(code, rebate=cny(4000), order_amount=cny(20000), key="p2", actor=ADMIN)

    # -- access ------------------------------------------------------------------------------------

    def test_a_sales_rep_cannot_top_up_another_reps_customer_and_the_refusal_writes_nothing(self, book: Book) -> None:
        for rep_code in ("REP-1", "REP-2"):
            book.reference.add("sales_rep", rep_code, actor=ADMIN)
        create = book.customers.create
        create({"code": "CUS-MINE", "name": "Mine", "country": "CN", "sales_rep": "REP-1"}, actor=ADMIN)
        create({"code": "CUS-THEIRS", "name": "Theirs", "country": "CN", "sales_rep": "REP-2"}, actor=ADMIN)
        book.accounts.top_up("CUS-MINE", cny(100), key="fund-mine", actor=ADMIN)
        book.accounts.top_up("CUS-THEIRS", cny(100), key="fund-theirs", actor=ADMIN)
        rep = Actor(id="raj", roles=frozenset({"sales_rep"}), sales_rep="REP-1")
        theirs = book.customers.get("CUS-THEIRS").id

        def snapshot() -> tuple[Any, ...]:
            with book.unit_of_work(write=False) as uow:
                return (
                    tuple(uow.events.read(0, 100_000)),
                    tuple(uow.ledger.all(limit=100_000)),
                    tuple(uow.audit.for_entity("customer", theirs)),
                    tuple(uow.audit.for_entity("actor", rep.id)),
                )

        before = snapshot()
        # A sales rep holds no accounts.top_up at all (docs/permissions.md): refused before any look-up.
        with pytest.raises(PermissionDenied) as caught:
            book.accounts.top_up("CUS-THEIRS", cny(50), key="rep-tp", actor=rep)
        assert (caught.value.code, caught.value.field, caught.value.value) == (
            "permission_denied",
            "accounts.top_up",
            rep.id,
        )
        after = snapshot()
        assert after[:3] == before[:3], "a refused top-up wrote something"
        [denied] = after[3][len(before[3]) :]
        assert (denied.action, denied.actor_id, denied.changes["permission"]) == (
            "access.denied",
            rep.id,
            "accounts.top_up",
        )
        assert denied.changes["customer"] == "CUS-THEIRS"
        assert len(book.accounts.top_ups("CUS-THEIRS")) == 1
        assert book.accounts.balance("CUS-THEIRS", "CNY").actual == cny(100)
        # The key was not claimed: an allowed actor may use it afterwards.
        assert book.accounts.top_up("CUS-THEIRS", cny(50), key="rep-tp", actor=ADMIN).amount == cny(50)

        # accounts.pay is held over the rep's own customers only: another rep's customer is not found.
        with pytest.raises(NotFound):
            book.accounts.submit_payment("CUS-THEIRS", prepayment=cny(10), key="rep-pay-1", actor=rep)
        assert book.accounts.balance("CUS-THEIRS", "CNY").available == cny(150)
        hold = book.accounts.submit_payment("CUS-MINE", prepayment=cny(10), key="rep-pay-2", actor=rep)
        assert book.accounts.balance("CUS-MINE", "CNY").available == cny(90)
        reasons = [e.changes["reason"] for e in book.access.refusals(rep.id)]
        assert reasons[0] == "missing_permission"
        assert len(reasons) == 2
        assert book.accounts.confirm(hold.id, key="rep-confirm", actor=rep).status is HoldStatus.CONFIRMED

    def test_deciding_an_approval_needs_the_approve_permission_and_another_actor(self, book: Book) -> None:
        code = _customer(book)
        income = book.accounts.record_income(code, cny(500), method="cash", key="in-1", actor=CLERK)
        assert income.approval_id is not None
        # The maker holds accounts.income.submit but not accounts.income.approve.
        for decide in (book.accounts.approve, book.accounts.reject_approval):
            with pytest.raises(PermissionDenied) as caught:
                decide(income.approval_id, actor=ADMIN)
            assert (caught.value.code, caught.value.field) == ("permission_denied", "accounts.income.approve")
        # Holding the permission does not let the requester sign their own request.
        with pytest.raises(NotAllowed) as refused:
            book.accounts.approve(income.approval_id, actor=CLERK)
        assert refused.value.code == "self_approval"
        assert book.accounts.approval(income.approval_id).status == "pending"
        assert book.accounts.balance(code, "CNY").actual == cny(0)
        book.accounts.approve(income.approval_id, actor=FINANCE)
        assert book.accounts.balance(code, "CNY").actual == cny(500)

    # -- idempotency -------------------------------------------------------------------------------

    def test_a_replayed_key_returns_the_first_outcome_and_changes_nothing(self, book: Book) -> None:
        code = _customer(book)
        first = book.accounts.top_up(code, cny(100), key="tp-1", actor=ADMIN)
        again = book.accounts.top_up(code, cny("100.0"), key="tp-1", actor=ADMIN)
        assert again == first
        assert book.accounts.balance(code, "CNY").actual == cny(100)

    def test_a_refusal_is_replayed_even_after_funds_arrive(self, book: Book) -> None:
        code = _funded(book, "20.00")
        with pytest.raises(InsufficientFunds):
            book.accounts.submit_payment(code, prepayment=cny(30), key="p-1", actor=ADMIN)
        book.accounts.top_up(code, cny(100), key="tp-2", actor=ADMIN)
        with pytest.raises(InsufficientFunds):
            book.accounts.submit_payment(code, prepayment=cny(30), key="p-1", actor=ADMIN)
        assert book.accounts.balance(code, "CNY").locked == cny(0)

    def test_the_same_key_with_other_arguments_is_a_conflict(self, book: Book) -> None:
        code = _customer(book)
        book.accounts.top_up(code, cny(100), key="tp-1", actor=ADMIN)
        with pytest.raises(Conflict) as caught:
            book.accounts.top_up(code, cny(101), key="tp-1", actor=ADMIN)
        assert caught.value.code == "idempotency_key_reused"

    # -- ledger and history ------------------------------------------------------------------------

    def test_ledger_entries_record_who_when_why_and_reconcile(self, book: Book) -> None:
        code = _funded(book)
        hold = book.accounts.submit_payment(code, prepayment=cny(30), key="p-1", actor=ADMIN)
        book.accounts.confirm(hold.id, amount=cny(10), key="c-1", actor=ADMIN)
        entries = book.accounts.ledger(code)
        assert [e.kind for e in entries] == [EntryKind.TOP_UP, EntryKind.HOLD, EntryKind.SETTLE, EntryKind.RELEASE]
        assert entries[1].before == Balance.of(cny(100))
        assert entries[1].after == Balance.of(cny(70), cny(30))
        assert {e.actor_id for e in entries} == {"admin"}
        assert all(e.bucket is Bucket.PREPAYMENT for e in entries)
        report = book.accounts.reconcile()
        assert report.ok
        assert report.checked == 1

    def test_a_customer_with_account_entries_is_voided_not_deleted(self, book: Book) -> None:
        code = _funded(book)
        assert book.customers.delete(code, actor=ADMIN) == "voided"
        other = _customer(book, "CUS-2")
        assert book.customers.delete(other, actor=ADMIN) == "deleted"

    def test_a_voided_customer_cannot_top_up(self, book: Book) -> None:
        code = _funded(book)
        book.customers.delete(code, actor=ADMIN)
        with pytest.raises(NotAllowed) as caught:
            book.accounts.top_up(code, cny(50), key="tp-2", actor=ADMIN)
        assert caught.value.code == "customer_voided"


class AccountConcurrencyContract:
    """Concurrent writers never overdraw or lose an update (threads; SQL: separate connections)."""

    payments = 50

    def test_concurrent_payments_never_overdraw(self, book: Book) -> None:
        code = _funded(book, "100.00")
        outcomes: list[str] = []
        lock = threading.Lock()
        barrier = threading.Barrier(self.payments)

        def pay(i: int) -> None:
            barrier.wait()
            try:
                book.accounts.submit_payment(code, prepayment=cny(30), key=f"race-{i}", actor=ADMIN)
                result = "ok"
            except InsufficientFunds:
                result = "insufficient"
            except BaseException as error:  # reported below
                result = repr(error)
            with lock:
                outcomes.append(result)

        threads = [threading.Thread(target=pay, args=(i,)) for i in range(self.payments)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(set(outcomes)) == ["insufficient", "ok"], outcomes
        assert outcomes.count("ok") == 3
        assert outcomes.count("insufficient") == self.payments - 3
        balance = book.accounts.balance(code, "CNY")
        assert (balance.available, balance.locked, balance.actual) == (cny(10), cny(90), cny(100))
        assert book.accounts.reconcile().ok

    def test_confirm_reject_and_expiry_race_exactly_one_wins(self, book: Book) -> None:
        code = _funded(book, "100.00")
        for round_ in range(5):
            hold = book.accounts.submit_payment(code, prepayment=cny(10), key=f"h-{round_}", actor=ADMIN)
            barrier = threading.Barrier(3)
            outcomes: list[str] = []

            def run(
                name: str, action: Callable[[], object], out: list[str] = outcomes, gate: threading.Barrier = barrier
            ) -> None:
                gate.wait()
                try:
                    action()
                    out.append(name)
                except NotAllowed:
                    out.append("refused")
                except BaseException as error:  # reported below
                    out.append(repr(error))

            later = _now(book) + dt.timedelta(hours=1)
            actions: list[tuple[str, Callable[[], object]]] = [
                ("confirm", functools.partial(book.accounts.confirm, hold.id, key=f"c-{round_}", actor=ADMIN)),
                ("reject", functools.partial(book.accounts.reject, hold.id, key=f"r-{round_}", actor=ADMIN)),
                ("expire", functools.partial(book.accounts.expire, as_of=later)),
            ]
            threads = [threading.Thread(target=run, args=a) for a in actions]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            final = book.accounts.hold(hold.id).status
            assert final is not HoldStatus.OPEN
            winners = [o for o in outcomes if o in ("confirm", "reject")]
            assert all(o in ("confirm", "reject", "expire", "refused") for o in outcomes), outcomes
            # the expiry job always "succeeds" (it may find nothing); the hold closed exactly once
            if final is HoldStatus.EXPIRED:
                assert winners == []
            else:
                assert winners == [{"confirmed": "confirm", "rejected": "reject"}[final.value]]
        assert book.accounts.reconcile().ok


class _Crash(Exception):
    """The injected fault."""


_WRITES = frozenset(
    {
        "add",
        "update",
        "move",
        "put",
        "claim",
        "finish",
        "set_status",
        "add_top_up",
        "add_income",
        "update_income",
        "add_expense",
        "append",
        "lock",
        "create_missing",
        "remove",
        # credit (the credit repository's writes, and its row lock)
        "lock_profile",
        "save_profile",
        "add_hold",
        "close_hold",
        "add_item",
        "set_open",
        "add_document",
    }
)


class _FaultyRepo:
    def __init__(self, inner: Any, counter: _Counter) -> None:
        self._inner = inner
        self._counter = counter

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name not in _WRITES or not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            result = attr(*args, **kwargs)
            self._counter.tick()
            return result

        return call


@attrs.define
class _Counter:
    crash_at: int
    seen: int = 0

    def tick(self) -> None:
        self.seen += 1
        if self.seen == self.crash_at:
            raise _Crash(f"fault after write {self.seen}")


class _FaultyUow:
    def __init__(self, inner: Any, counter: _Counter) -> None:
        self._inner = inner
        self._counter = counter

    def __enter__(self) -> _FaultyUow:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._inner.__exit__(*exc)

    def commit(self) -> None:
        self._inner.commit()

    def rollback(self) -> None:
        self._inner.rollback()

    def __getattr__(self, name: str) -> Any:
        return _FaultyRepo(getattr(self._inner, name), self._counter)


def crash_every_step(snapshot: Callable[[], Any], base: Services, command: Callable[[Services], object]) -> int:
    """Run ``command`` on services whose units of work fail after the 1st, 2nd, ... write step until
    it finishes; after every injected fault ``snapshot()`` must equal its value before the command.
    Returns how many faults were injected (the command's write steps before its commit)."""
    steps = 0
    for crash_at in range(1, 200):
        counter = _Counter(crash_at=crash_at)

        def faulty(*, write: bool = True, _c: _Counter = counter, _b: Services = base) -> Any:
            return _FaultyUow(_b.uow(write=write), _c)

        before = snapshot()
        try:
            command(attrs.evolve(base, uow=faulty))
        except _Crash:
            assert snapshot() == before, f"half-written after write {crash_at}"
            steps += 1
            continue
        return steps
    raise AssertionError("the command never finished")


class AccountCrashContract:
    """A fault after any write step of a money command leaves the store as it was before the command."""

    def _snapshot(self, book: Book, code: str) -> Any:
        return (
            book.accounts.balance(code, "CNY"),
            book.accounts.ledger(code),
            book.accounts.grants(code),
            book.accounts.top_ups(code),
            book.accounts.expenses(code),
            [e.id for e in book.events.read(limit=10_000)],
        )

    def _crash_every_step(self, book: Book, code: str, command: Callable[[AccountService], object]) -> int:
        return crash_every_step(
            lambda: self._snapshot(book, code), book.services, lambda services: command(AccountService(services))
        )

    def test_top_up_is_all_or_nothing(self, book: Book) -> None:
        code = _customer(book)
        steps = self._crash_every_step(book, code, lambda s: s.top_up(code, cny(100), key="tp", actor=ADMIN))
        assert steps >= 3
        assert book.accounts.balance(code, "CNY").actual == cny(100)

    def test_submit_is_all_or_nothing(self, book: Book) -> None:
        code = _funded(book)
        _grant(book, code, "20")
        steps = self._crash_every_step(
            book, code, lambda s: s.submit_payment(code, prepayment=cny(30), rebate=cny(5), key="p", actor=ADMIN)
        )
        assert steps >= 4
        assert book.accounts.balance(code, "CNY").locked == cny(30)

    def test_confirm_is_all_or_nothing(self, book: Book) -> None:
        code = _funded(book)
        _grant(book, code, "20")
        hold = book.accounts.submit_payment(code, prepayment=cny(30), rebate=cny(5), key="p", actor=ADMIN)
        steps = self._crash_every_step(book, code, lambda s: s.confirm(hold.id, amount=cny(20), key="c", actor=ADMIN))
        assert steps >= 5
        assert book.accounts.hold(hold.id).status is HoldStatus.CONFIRMED
        assert book.accounts.reconcile().ok


class AccountStateMachineContract:
    """Random sequences of money commands keep every invariant (hypothesis RuleBasedStateMachine)."""

    max_examples = 15
    steps = 20

    def test_random_command_sequences_keep_the_invariants(self, book: Book) -> None:
        class Machine(_AccountMachine):
            def __init__(self) -> None:
                super().__init__(book)

        run_state_machine_as_test(
            Machine,
            settings=settings(
                max_examples=self.max_examples,
                stateful_step_count=self.steps,
                deadline=None,
                suppress_health_check=list(HealthCheck),
            ),
        )


amounts = st.integers(min_value=1, max_value=20_000).map(lambda units: Money.from_minor(units, "CNY"))


class _AccountMachine(RuleBasedStateMachine):
    def __init__(self, book: Book) -> None:
        super().__init__()
        # One book for every example (a fresh database per example is slow on servers): each example
        # gets a customer and keys of its own, and reconcile checks every account ever written.
        self.book = book
        self.code = _customer(book, f"SM-{uuid.uuid4().hex[:12]}")
        self.n = 0
        self.holds: list[str] = []
        self.pending: list[str] = []
        self.calls: list[tuple[Callable[[], object], str]] = []
        self.seen: set[str] = set()

    def _note(self, items: list[str], item: str | None) -> None:
        """Remember a new hold or approval once (a replayed call returns the same one)."""
        if item and item not in self.seen:
            self.seen.add(item)
            items.append(item)

    def _key(self) -> str:
        self.n += 1
        return f"{self.code}-{self.n}"

    def _run(self, action: Callable[[str], object]) -> None:
        key = self._key()
        outcome = self._call(lambda: action(key))
        event(outcome if outcome.startswith("refused") else "ok")
        self.calls.append((lambda: action(key), outcome))

    @staticmethod
    def _call(fn: Callable[[], object]) -> str:
        try:
            result = fn()
        except BigLedgerError as error:
            return f"refused:{error.code}"
        return f"ok:{getattr(result, 'id', '')}"

    @rule(amount=amounts)
    def top_up(self, amount: Money) -> None:
        self._run(lambda k: self.book.accounts.top_up(self.code, amount, key=k, actor=ADMIN))

    @rule(amount=amounts)
    def income(self, amount: Money) -> None:
        def go(k: str) -> object:
            income = self.book.accounts.record_income(self.code, amount, method="cash", key=k, actor=CLERK)
            self._note(self.pending, income.approval_id)
            return income

        self._run(go)

    @rule(approve=st.booleans())
    @precondition(lambda self: bool(self.pending))
    def decide(self, approve: bool) -> None:
        request = self.pending.pop(0)
        if approve:
            self.book.accounts.approve(request, actor=FINANCE)
        else:
            self.book.accounts.reject_approval(request, actor=FINANCE)

    @rule(amount=amounts, days=st.integers(1, 5))
    def grant(self, amount: Money, days: int) -> None:
        now = _now(self.book)

        def go(k: str) -> object:
            grant = self.book.accounts.grant_rebate(
                self.code, amount, valid_from=now, valid_until=now + dt.timedelta(days=days), key=k, actor=CLERK
            )
            self._note(self.pending, grant.approval_id)
            return grant

        self._run(go)

    @rule(prepayment=st.one_of(st.none(), amounts), rebate=st.one_of(st.none(), amounts), minutes=st.integers(1, 600))
    def submit(self, prepayment: Money | None, rebate: Money | None, minutes: int) -> None:
        if prepayment is None and rebate is None:
            prepayment = Money("1.00", "CNY")

        def go(k: str) -> object:
            hold = self.book.accounts.submit_payment(
                self.code,
                prepayment=prepayment,
                rebate=rebate,
                expires_in=dt.timedelta(minutes=minutes),
                key=k,
                actor=ADMIN,
            )
            self._note(self.holds, hold.id)
            return hold

        self._run(go)

    @rule(amount=amounts)
    def manual_expense(self, amount: Money) -> None:
        def go(k: str) -> object:
            hold = self.book.accounts.submit_expense(self.code, amount, reason="fee", key=k, actor=CLERK)
            found = [r.id for r in self.book.accounts.pending_approvals(limit=1000) if r.subject_id == hold.id]
            self._note(self.pending, found[0] if found else None)
            return hold

        self._run(go)

    @rule(data=st.data(), share=st.one_of(st.none(), st.integers(0, 100)))
    @precondition(lambda self: bool(self.holds))
    def confirm(self, data: st.DataObject, share: int | None) -> None:
        hold_id = data.draw(st.sampled_from(self.holds))

        def go(k: str) -> object:
            hold = self.book.accounts.hold(hold_id)
            amount = None
            if share is not None:
                amount = Money.from_minor(hold.total.minor * share // 100, "CNY")
            return self.book.accounts.confirm(hold_id, amount=amount, key=k, actor=ADMIN)

        self._run(go)

    @rule(data=st.data())
    @precondition(lambda self: bool(self.holds))
    def reject(self, data: st.DataObject) -> None:
        hold_id = data.draw(st.sampled_from(self.holds))
        self._run(lambda k: self.book.accounts.reject(hold_id, key=k, actor=ADMIN))

    @rule(minutes=st.integers(1, 3 * 24 * 60))
    def time_passes(self, minutes: int) -> None:
        _clock(self.book).advance(minutes=minutes)

    @rule()
    def expire(self) -> None:
        self.book.accounts.expire()

    @rule(data=st.data())
    @precondition(lambda self: bool(self.calls))
    def replay(self, data: st.DataObject) -> None:
        call, first = data.draw(st.sampled_from(self.calls))
        before = self._state()
        assert self._call(call) == first
        assert self._state() == before

    def _state(self) -> Any:
        return (self.book.accounts.ledger(self.code), self.book.accounts.grants(self.code))

    @invariant()
    def balances_hold_together(self) -> None:
        balance = self.book.accounts.balance(self.code, "CNY")
        assert balance.actual == balance.available + balance.locked
        assert not balance.available.is_negative()
        assert not balance.locked.is_negative()
        assert balance.rebate_actual == balance.rebate_available + balance.rebate_locked
        assert not balance.rebate_available.is_negative()
        for grant in self.book.accounts.grants(self.code):
            assert not grant.remaining.is_negative()
            assert not grant.available.is_negative()
        report = self.book.accounts.reconcile(self.code)
        assert report.ok, report.mismatches

    def teardown(self) -> None:
        assert self.book.accounts.reconcile().ok
