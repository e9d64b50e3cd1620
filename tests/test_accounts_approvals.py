"""The approval mechanism and idempotency helpers (pure parts)."""

from __future__ import annotations

import datetime as dt

import pytest

from bigledger_customers.domain.approvals import (
    DEFAULT_POLICY,
    ApprovalPolicy,
    ApprovalRequest,
    ApprovalRule,
    ApprovalStatus,
    ApprovalStep,
    Comparison,
    Condition,
    approve,
    cancel,
    reject,
)
from bigledger_customers.domain.idempotency import IdempotencyRecord, Outcome, check_key, fingerprint, replay
from bigledger_customers.domain.records import Actor
from bigledger_customers.errors import Conflict, InsufficientFunds, NotAllowed, PermissionDenied, ValidationError
from bigledger_customers.money import Money

AT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
CLERK = Actor(id="clerk", roles={"finance_approver", "sales"})
BOSS = Actor(id="boss", roles={"finance_approver"})
CFO = Actor(id="cfo", roles={"finance_approver", "cfo"})


def request(steps: tuple[ApprovalStep, ...] = (ApprovalStep("finance_approver"),)) -> ApprovalRequest:
    return ApprovalRequest.open(
        id="r1",
        command="rebate.grant.manual",
        subject_type="grant",
        subject_id="g1",
        payload={"amount": "5.00"},
        steps=steps,
        requested_by=CLERK.id,
        at=AT,
    )


@pytest.mark.parametrize(
    "command", ["prepayment.income", "prepayment.expense.manual", "rebate.grant.manual", "rebate.grant.refund"]
)
def test_default_policy_asks_finance_to_approve(command: str) -> None:
    assert DEFAULT_POLICY.steps_for(command, {}) == (ApprovalStep("finance_approver"),)


@pytest.mark.parametrize("command", ["prepayment.top_up", "prepayment.expense.automatic", "rebate.grant.order_rule"])
def test_default_policy_lets_automatic_commands_through(command: str) -> None:
    assert not DEFAULT_POLICY.needs_approval(command, {})


def test_automatic_deductions_can_never_require_approval() -> None:
    with pytest.raises(ValidationError) as caught:
        ApprovalRule(command="prepayment.expense.automatic")
    assert caught.value.code == "never_approved"


def test_a_host_can_turn_a_default_off_and_add_conditional_chains() -> None:
    policy = DEFAULT_POLICY.with_rules(
        ApprovalRule(command="prepayment.income", required=False),
        ApprovalRule(
            command="customer.credit_limit",
            conditions=[Condition("increase", Comparison.GT, Money(10000, "MYR"))],
            steps=[ApprovalStep("finance_approver"), ApprovalStep("cfo")],
        ),
    )
    assert not policy.needs_approval("prepayment.income", {})
    assert not policy.needs_approval("customer.credit_limit", {"increase": Money(10000, "MYR")})
    assert len(policy.steps_for("customer.credit_limit", {"increase": Money("10000.01", "MYR")})) == 2
    assert policy.needs_approval("customer.credit_limit", {"increase": Money(1, "USD")})  # unclear: ask


def test_one_step_request_is_approved_by_another_person_with_the_role() -> None:
    done = approve(request(), BOSS, at=AT)
    assert done.status is ApprovalStatus.APPROVED
    assert done.decisions[0].actor_id == "boss"


def test_the_requester_cannot_approve_their_own_request() -> None:
    with pytest.raises(NotAllowed) as caught:
        approve(request(), CLERK, at=AT)
    assert caught.value.code == "self_approval"


def test_an_approver_needs_the_step_role() -> None:
    with pytest.raises(PermissionDenied) as caught:
        approve(request(), Actor(id="x", roles={"sales"}), at=AT)
    assert caught.value.code == "missing_role"


def test_chain_steps_are_signed_in_order_by_different_people() -> None:
    req = request((ApprovalStep("finance_approver"), ApprovalStep("cfo")))
    first = approve(req, BOSS, at=AT)
    assert (first.status, first.current_step) == (ApprovalStatus.PENDING, 1)
    with pytest.raises(PermissionDenied):
        approve(first, Actor(id="other", roles={"finance_approver"}), at=AT)
    signed_by_cfo = approve(req, CFO, at=AT)
    with pytest.raises(NotAllowed) as caught:
        approve(signed_by_cfo, CFO, at=AT)
    assert caught.value.code == "duplicate_approver"
    assert approve(first, CFO, at=AT).status is ApprovalStatus.APPROVED


def test_rejection_discards_and_nothing_more_can_be_decided() -> None:
    rejected = reject(request(), BOSS, at=AT, note="no")
    assert rejected.status is ApprovalStatus.REJECTED
    with pytest.raises(NotAllowed) as caught:
        approve(rejected, CFO, at=AT)
    assert caught.value.code == "not_pending"


def test_only_the_requester_withdraws() -> None:
    with pytest.raises(NotAllowed):
        cancel(request(), BOSS, at=AT)
    assert cancel(request(), CLERK, at=AT).status is ApprovalStatus.CANCELLED


def test_an_empty_policy_needs_nothing() -> None:
    assert ApprovalPolicy().steps_for("rebate.grant.manual", {}) == ()


# -- idempotency ---------------------------------------------------------------------------------


def test_fingerprint_ignores_argument_order_and_trailing_zeros() -> None:
    a = fingerprint("top_up", {"amount": Money("100.0", "CNY"), "customer": "C1", "n": None})
    b = fingerprint("top_up", {"customer": "C1", "n": None, "amount": Money("100.00", "CNY")})
    assert a == b
    assert a != fingerprint("top_up", {"customer": "C1", "n": None, "amount": Money("100.01", "CNY")})
    assert a != fingerprint("other", {"customer": "C1", "n": None, "amount": Money("100.00", "CNY")})


def test_a_replay_returns_the_first_outcome() -> None:
    fp = fingerprint("pay", {"x": 1})
    record = IdempotencyRecord(
        key="k", command="pay", fingerprint=fp, outcome=Outcome.success({"id": "h1"}), created_at=AT
    )
    assert replay(None, "pay", fp) is None
    assert replay(record, "pay", fp) == Outcome.success({"id": "h1"})


def test_a_stored_refusal_is_raised_again_with_its_class_and_code() -> None:
    outcome = Outcome.refusal(InsufficientFunds("short", field="amount"))
    with pytest.raises(InsufficientFunds) as caught:
        outcome.unwrap()
    assert (caught.value.code, caught.value.field) == ("insufficient_funds", "amount")


def test_the_same_key_with_other_arguments_is_a_conflict() -> None:
    record = IdempotencyRecord(
        key="k", command="pay", fingerprint=fingerprint("pay", {"x": 1}), outcome=Outcome.success(None), created_at=AT
    )
    with pytest.raises(Conflict) as caught:
        replay(record, "pay", fingerprint("pay", {"x": 2}))
    assert caught.value.code == "idempotency_key_reused"


@pytest.mark.parametrize("key", ["", "   ", "x" * 201, 5])
def test_keys_are_short_text(key: object) -> None:
    with pytest.raises(ValidationError):
        check_key(key)
