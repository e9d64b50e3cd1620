"""The pure rules of customer accounts and rebates (DESIGN.md section 5), one behaviour per test."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from bigledger_customers.domain.accounts import (
    Account,
    Balance,
    BalanceKey,
    Bucket,
    EntryKind,
    GrantShare,
    Hold,
    HoldStatus,
    Move,
    PlatformFee,
    SettlementMethod,
    change_settlement_method,
    entry_for,
    reconcile,
    split_confirmation,
)
from bigledger_customers.domain.rebates import (
    CustomerFacts,
    GrantSource,
    GrantStatus,
    OrderRebateRule,
    RebateGrant,
    RuleBase,
    RuleTrigger,
    Scope,
    ScopeKind,
    UsageRule,
    allowed_rebate,
    consume,
    expire_grants,
    expire_released,
    firing_rules,
    manual_grant,
    order_rebate_amount,
    order_rule_grant,
    rebate_balance,
    refund_grant,
)
from bigledger_customers.errors import InsufficientFunds, NotAllowed, ValidationError
from bigledger_customers.money import Money

NOW = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def cny(x: str | int) -> Money:
    return Money(x, "CNY")


def myr(x: str | int) -> Money:
    return Money(x, "MYR")


def grant(gid: str, amount: Money, *, until: dt.datetime | None = None, created: dt.datetime = NOW) -> RebateGrant:
    return RebateGrant.approved(
        id=gid,
        account_id="a1",
        customer_id="c1",
        amount=amount,
        valid_from=NOW - 10 * DAY,
        valid_until=until,
        created_at=created,
    )


# -- settlement method ------------------------------------------------------------------------


def test_new_account_pays_now_by_default() -> None:
    account = Account(id="a1", customer_id="c1", created_at=NOW, updated_at=NOW)
    assert account.settlement_method is SettlementMethod.PAY_NOW


def test_changing_the_settlement_method_bumps_the_version() -> None:
    account = Account(id="a1", customer_id="c1", created_at=NOW, updated_at=NOW)
    changed = change_settlement_method(account, "credit", now=NOW + DAY, payment_terms="NET30")
    assert (changed.settlement_method, changed.payment_terms, changed.version) == (SettlementMethod.CREDIT, "NET30", 2)


def test_payment_terms_without_credit_are_refused() -> None:
    account = Account(id="a1", customer_id="c1", created_at=NOW, updated_at=NOW)
    with pytest.raises(ValidationError) as caught:
        change_settlement_method(account, "prepaid", now=NOW, payment_terms="NET30")
    assert caught.value.code == "terms_without_credit"


# -- balances ----------------------------------------------------------------------------------


def test_a_deposit_raises_actual_and_available() -> None:
    balance = Balance.zero("CNY").apply(Move.deposit(cny("100.00"), EntryKind.INCOME))
    assert (balance.actual, balance.available, balance.locked) == (cny(100), cny(100), cny(0))


def test_submission_moves_available_to_locked() -> None:
    balance = Balance.of(cny(100)).apply(Move.hold(cny(30)))
    assert (balance.actual, balance.available, balance.locked) == (cny(100), cny(70), cny(30))


def test_expense_is_refused_when_available_is_short() -> None:
    with pytest.raises(InsufficientFunds) as caught:
        Balance.of(cny(20)).apply(Move.hold(cny(30)))
    assert caught.value.code == "insufficient_funds"


def test_confirmation_lowers_actual_and_locked() -> None:
    balance = Balance.of(cny(70), cny(30)).apply(Move.settle(cny(30)))
    assert (balance.actual, balance.available, balance.locked) == (cny(70), cny(70), cny(0))


def test_rejection_returns_locked_to_available() -> None:
    balance = Balance.of(cny(70), cny(30)).apply(Move.release(cny(30)))
    assert (balance.actual, balance.available, balance.locked) == (cny(100), cny(100), cny(0))


def test_a_balance_can_never_be_negative() -> None:
    with pytest.raises(ValidationError):
        Balance(available=cny(-1), locked=cny(0))


# -- top-up fees -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "fee"), [("100.00", "1.00"), ("1000.00", "6.00"), ("257.50", "1.55"), ("166.67", "1.00")]
)
def test_top_up_fee_is_0_6_percent_with_one_unit_minimum(amount: str, fee: str) -> None:
    assert PlatformFee().check(cny(amount)) == cny(fee)


def test_top_up_fee_rate_and_minimum_are_configurable() -> None:
    fees = PlatformFee(platform="stripe", rate="0.029", minimum="2")
    assert fees.fee_for(cny("100.00")) == cny("2.90")
    assert fees.fee_for(cny("10.00")) == cny("2.00")


def test_top_up_whose_fee_is_at_least_its_amount_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        PlatformFee().check(cny("1.00"))
    assert caught.value.code == "fee_exceeds_amount"


def test_fee_minimum_is_one_major_unit_in_zero_decimal_currencies() -> None:
    assert PlatformFee().fee_for(Money(100, "JPY")) == Money(1, "JPY")


# -- ledger and reconcile ---------------------------------------------------------------------


def test_reconcile_recomputes_each_balance_from_its_entries() -> None:
    key = BalanceKey("a1", Bucket.PREPAYMENT, "CNY")
    balance, entries = Balance.zero("CNY"), []
    for i, move in enumerate([Move.deposit(cny(100)), Move.hold(cny(30)), Move.settle(cny(20)), Move.release(cny(10))]):
        balance = balance.apply(move)
        entries.append(entry_for(move, balance, id=f"e{i}", key=key, customer_id="c1", actor_id="u", at=NOW))
    assert reconcile(entries) == {key: balance}
    assert balance == Balance.of(cny(80))
    assert entries[1].before == Balance.of(cny(100))


def test_reconcile_detects_a_missing_entry() -> None:
    key = BalanceKey("a1", Bucket.PREPAYMENT, "CNY")
    first = entry_for(
        Move.deposit(cny(100)), Balance.of(cny(100)), id="e1", key=key, customer_id="c", actor_id="u", at=NOW
    )
    second = entry_for(
        Move.deposit(cny(5)), Balance.of(cny(105)), id="e2", key=key, customer_id="c", actor_id="u", at=NOW
    )
    with pytest.raises(ValidationError) as caught:
        reconcile([second])
    assert caught.value.code == "ledger_gap"
    assert reconcile([first, second])[key] == Balance.of(cny(105))


# -- holds -----------------------------------------------------------------------------------


def hold(prepayment: Money, *shares: GrantShare, expires: dt.datetime | None = None) -> Hold:
    return Hold(
        id="h1",
        account_id="a1",
        customer_id="c1",
        currency=prepayment.currency,
        prepayment=prepayment,
        rebate=shares,
        created_at=NOW,
        created_by="u",
        expires_at=expires,
    )


def test_confirming_without_amounts_takes_everything_held() -> None:
    h = hold(myr(30), GrantShare("g1", myr(5)))
    assert split_confirmation(h) == (myr(30), (GrantShare("g1", myr(5)),))


def test_partial_confirmation_splits_in_proportion_to_what_is_held() -> None:
    h = hold(myr(30), GrantShare("g1", myr(2)), GrantShare("g2", myr(8)))
    prepayment, shares = split_confirmation(h, amount=myr(20))
    assert prepayment == myr(15)
    assert shares == (GrantShare("g1", myr(2)), GrantShare("g2", myr(3)))


def test_confirming_more_than_held_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        split_confirmation(hold(myr(30)), prepayment=myr(31))
    assert caught.value.code == "exceeds_hold"


def test_an_overdue_hold_cannot_be_confirmed() -> None:
    h = hold(myr(30), expires=NOW + DAY)
    h.ensure_open(NOW)
    with pytest.raises(NotAllowed) as caught:
        h.ensure_open(NOW + DAY)
    assert caught.value.code == "hold_expired"


def test_a_closed_hold_cannot_be_closed_again() -> None:
    h = hold(myr(30)).close(HoldStatus.REJECTED, now=NOW, by="u")
    with pytest.raises(NotAllowed) as caught:
        h.ensure_open(NOW)
    assert caught.value.code == "hold_rejected"


# -- rebate grants -----------------------------------------------------------------------------


def test_grants_are_consumed_smallest_available_first() -> None:
    grants = [grant("g1", myr(300)), grant("g2", myr(100)), grant("g3", myr(500))]
    shares = consume(grants, myr(500), as_of=NOW)
    assert shares == (GrantShare("g2", myr(100)), GrantShare("g1", myr(300)), GrantShare("g3", myr(100)))
    after = {
        g.id: g.apply(Move.hold(s.amount)).apply(Move.settle(s.amount))
        for g in grants
        for s in shares
        if s.grant_id == g.id
    }
    assert [after[g].remaining for g in ("g1", "g2", "g3")] == [myr(0), myr(0), myr(400)]
    assert after["g1"].status is GrantStatus.EXHAUSTED


def test_consumption_ties_go_to_earliest_expiry_then_no_expiry_last_then_oldest_then_id() -> None:
    grants = [
        grant("g-none", myr(10)),
        grant("g-late", myr(10), until=NOW + 10 * DAY),
        grant("g-soon", myr(10), until=NOW + 2 * DAY),
        grant("b-old", myr(10), created=NOW - DAY),
        grant("a-old", myr(10), created=NOW - DAY),
    ]
    shares = consume(grants, myr(50), as_of=NOW)
    assert [s.grant_id for s in shares] == ["g-soon", "g-late", "a-old", "b-old", "g-none"]


def test_spending_more_rebate_than_available_is_refused() -> None:
    with pytest.raises(InsufficientFunds) as caught:
        consume([grant("g1", myr(10))], myr(11), as_of=NOW)
    assert caught.value.field == "rebate"


def test_a_grant_valid_from_tomorrow_does_not_count_today() -> None:
    future = RebateGrant.approved(
        id="g",
        account_id="a1",
        customer_id="c1",
        amount=myr(50),
        valid_from=NOW + DAY,
        valid_until=None,
        created_at=NOW,
    )
    assert rebate_balance([future], "MYR", NOW) == Balance.zero("MYR")
    assert rebate_balance([future], "MYR", NOW + DAY).available == myr(50)


def test_a_grant_that_expired_yesterday_does_not_count_and_its_remainder_gets_an_expiry_record() -> None:
    old = grant("g", myr(50), until=NOW - dt.timedelta(hours=1))
    assert rebate_balance([old], "MYR", NOW) == Balance.zero("MYR")
    [(expired, move)] = expire_grants([old], NOW)
    assert move == Move.expire(myr(50))
    assert (expired.status, expired.remaining) == (GrantStatus.EXPIRED, myr(0))
    assert expire_grants([expired], NOW) == []


def test_computing_the_balance_writes_nothing() -> None:
    grants = (grant("g", myr(50), until=NOW - DAY),)
    rebate_balance(grants, "MYR", NOW)
    assert grants[0].status is GrantStatus.APPROVED


def test_pending_grants_do_not_count() -> None:
    pending = manual_grant(
        id="g",
        account_id="a1",
        customer_id="c1",
        amount=myr(5),
        valid_from=NOW,
        valid_until=NOW + DAY,
        needs_approval=True,
        created_at=NOW,
        created_by="u",
    )
    assert pending.status is GrantStatus.PENDING
    assert rebate_balance([pending], "MYR", NOW).actual == myr(0)
    assert rebate_balance([pending.decide(approved=True)], "MYR", NOW).actual == myr(5)


def test_manual_grants_need_a_validity_period() -> None:
    with pytest.raises(ValidationError) as caught:
        manual_grant(
            id="g",
            account_id="a1",
            customer_id="c1",
            amount=myr(5),
            valid_from=NOW,
            valid_until=None,
            needs_approval=False,
            created_at=NOW,
            created_by="u",
        )
    assert caught.value.code == "validity_required"


def test_a_reserved_part_of_an_expired_grant_expires_when_released() -> None:
    g = grant("g", myr(50), until=NOW + DAY).apply(Move.hold(myr(20)))
    [(expired, move)] = expire_grants([g], NOW + DAY)
    assert move == Move.expire(myr(30))
    assert (expired.remaining, expired.reserved, expired.available) == (myr(20), myr(20), myr(0))
    released = expired.apply(Move.release(myr(20)))
    assert expire_released(released, NOW + DAY) == Move.expire(myr(20))
    assert released.apply(Move.expire(myr(20))).remaining == myr(0)


def test_refund_grant_is_valid_for_ten_years_from_the_refund() -> None:
    created = dt.datetime(2024, 2, 29, tzinfo=dt.UTC)
    g = refund_grant(
        id="g",
        account_id="a1",
        customer_id="c1",
        amount=myr(80),
        refund_id="RF-1",
        refund_created_at=created,
        needs_approval=True,
        created_at=NOW,
        created_by="u",
    )
    assert (g.source, g.status, g.valid_from) == (GrantSource.REFUND, GrantStatus.PENDING, created)
    assert g.valid_until == dt.datetime(2034, 2, 28, tzinfo=dt.UTC)


# -- usage rules ---------------------------------------------------------------------------------


def test_the_smaller_cap_wins() -> None:
    rule = UsageRule(id="r", currency="MYR", max_share=Decimal("0.20"), max_per_use=myr(5000))
    allowance = allowed_rebate([rule], CustomerFacts("c1"), myr(20000))
    assert allowance.amount == myr(4000)
    assert allowance.reasons == ("max_share",)
    assert allowed_rebate([rule], CustomerFacts("c1"), myr(30000)).amount == myr(5000)


def test_an_order_below_the_minimum_allows_no_rebate_with_the_reason() -> None:
    rule = UsageRule(id="r", currency="MYR", min_order_amount=myr(100))
    allowance = allowed_rebate([rule], CustomerFacts("c1"), myr("99.99"))
    assert (allowance.amount, allowance.reasons) == (myr(0), ("below_min_order_amount",))


def test_share_caps_round_down() -> None:
    rule = UsageRule(id="r", currency="MYR", max_share=Decimal("0.15"))
    assert allowed_rebate([rule], CustomerFacts("c1"), myr("0.99")).amount == myr("0.14")


def test_the_most_specific_rule_wins() -> None:
    everyone = UsageRule(id="all", currency="MYR", max_per_use=myr(10))
    gold = UsageRule(id="gold", scope=Scope(ScopeKind.LEVEL, {"GOLD"}), currency="MYR", max_per_use=myr(50))
    named = UsageRule(id="vip", scope=Scope(ScopeKind.CUSTOMERS, {"CUS-1"}), currency="MYR", max_per_use=myr(100))
    rules = [everyone, gold, named]
    assert allowed_rebate(rules, CustomerFacts("c9", "CUS-9"), myr(1000)).rule_id == "all"
    assert allowed_rebate(rules, CustomerFacts("c9", "CUS-9", level="gold"), myr(1000)).rule_id == "gold"
    assert allowed_rebate(rules, CustomerFacts("c1", "cus-1", level="GOLD"), myr(1000)).amount == myr(100)


def test_without_a_rule_the_whole_order_may_be_paid_by_rebate() -> None:
    assert allowed_rebate([], CustomerFacts("c1"), myr(70)).amount == myr(70)


# -- order rebate rules --------------------------------------------------------------------------


def test_order_rebate_base_excludes_rebate_used_unless_the_rule_says_otherwise() -> None:
    net = OrderRebateRule(id="r", rate="0.05")
    gross = OrderRebateRule(id="r", rate="0.05", base=RuleBase.ORDER_AMOUNT)
    assert order_rebate_amount(net, myr("1500"), myr("100")) == myr("70.00")
    assert order_rebate_amount(gross, myr("1500"), myr("100")) == myr("75.00")
    assert order_rebate_amount(net, myr("0.30")) == myr("0.02")  # 0.015 rounds half up


def test_order_rule_grant_records_the_order_and_takes_the_rule_validity() -> None:
    rule = OrderRebateRule(id="r5", rate="0.05", grant_valid_months=1)
    at = dt.datetime(2026, 1, 31, tzinfo=dt.UTC)
    g = order_rule_grant(
        rule,
        id="g",
        account_id="a1",
        customer_id="c1",
        order_number="SO-9",
        order_amount=myr(1500),
        rebate_used=None,
        at=at,
    )
    assert g is not None
    assert (g.amount, g.order_number, g.rule_id, g.status) == (myr(75), "SO-9", "r5", GrantStatus.APPROVED)
    assert g.valid_until == dt.datetime(2026, 2, 28, tzinfo=dt.UTC)


def test_order_rules_fire_only_for_their_trigger_and_window() -> None:
    on_receipt = OrderRebateRule(id="b", rate="0.01", trigger=RuleTrigger.RECEIPT_CONFIRMED)
    on_order = OrderRebateRule(id="a", rate="0.05", active_from=NOW, active_until=NOW + DAY)
    facts = CustomerFacts("c1")
    assert firing_rules([on_receipt, on_order], RuleTrigger.ORDER_CONFIRMED, NOW, facts) == [on_order]
    assert firing_rules([on_receipt, on_order], RuleTrigger.ORDER_CONFIRMED, NOW + DAY, facts) == []
    assert firing_rules([on_receipt, on_order], RuleTrigger.RECEIPT_CONFIRMED, NOW, facts) == [on_receipt]
