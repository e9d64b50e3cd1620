"""Property tests of the pure account rules: consumption order, caps, fees, allocation, reconcile."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from bigledger_customers.domain.accounts import (
    Balance,
    BalanceKey,
    Bucket,
    GrantShare,
    Hold,
    Move,
    PlatformFee,
    entry_for,
    reconcile,
    split_confirmation,
)
from bigledger_customers.domain.rebates import (
    CustomerFacts,
    GrantSource,
    GrantStatus,
    RebateGrant,
    UsageRule,
    allowed_rebate,
    consume,
    consumption_order,
    rebate_available,
    rebate_balance,
)
from bigledger_customers.errors import InsufficientFunds
from bigledger_customers.money import Money

NOW = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)

cents = st.integers(min_value=1, max_value=10_000_000)
currencies = st.sampled_from(["MYR", "CNY", "JPY", "BHD"])


def money(units: int, currency: str = "MYR") -> Money:
    return Money.from_minor(units, currency)


@st.composite
def grant_sets(draw: st.DrawFn) -> list[RebateGrant]:
    n = draw(st.integers(min_value=1, max_value=8))
    result = []
    for i in range(n):
        amount = draw(st.integers(min_value=1, max_value=100_000))
        until = draw(st.one_of(st.none(), st.integers(min_value=1, max_value=5)))
        result.append(
            RebateGrant.approved(
                id=f"g{i}",
                account_id="a",
                customer_id="c",
                amount=money(amount),
                valid_from=NOW - dt.timedelta(days=30),
                valid_until=NOW + dt.timedelta(days=until) if until else None,
                created_at=NOW - dt.timedelta(days=draw(st.integers(0, 3))),
            )
        )
    return result


@given(grant_sets(), st.integers(min_value=1, max_value=900_000))
def test_consumption_takes_exactly_the_amount_in_order_and_drains_smaller_grants_first(
    grants: list[RebateGrant], units: int
) -> None:
    amount = money(units)
    total = rebate_balance(grants, "MYR", NOW).available
    if amount > total:
        try:
            consume(grants, amount, as_of=NOW)
        except InsufficientFunds:
            return
        raise AssertionError("consuming more than available must be refused")
    shares = consume(grants, amount, as_of=NOW)
    by_id = {g.id: g for g in grants}
    assert sum((s.amount for s in shares), money(0)) == amount
    assert all(s.amount <= by_id[s.grant_id].available for s in shares)
    ordered = sorted(grants, key=consumption_order)
    used = [s.grant_id for s in shares]
    assert used == [g.id for g in ordered[: len(used)]]
    # every grant before the last one used is drained completely
    assert all(s.amount == by_id[s.grant_id].available for s in shares[:-1])


def _reference_rebate_balance(grants: list[RebateGrant], currency: str, as_of: dt.datetime) -> Balance:
    """The balance folded grant by grant through ``Balance`` (the rule as first written)."""
    result = Balance.zero(currency)
    for grant in grants:
        if grant.currency == currency and grant.counts(as_of):
            result = Balance(available=result.available + grant.available, locked=result.locked + grant.reserved)
    return result


@st.composite
def mixed_grants(draw: st.DrawFn) -> list[RebateGrant]:
    """Grants in two currencies, any status, partly reserved or spent, valid before, at or after ``NOW``."""
    result = []
    for i in range(draw(st.integers(min_value=0, max_value=6))):
        currency = draw(st.sampled_from(["MYR", "JPY"]))
        amount = draw(st.integers(min_value=1, max_value=100_000))
        remaining = draw(st.integers(min_value=0, max_value=amount))
        reserved = draw(st.integers(min_value=0, max_value=remaining))
        start = NOW + dt.timedelta(days=draw(st.sampled_from([-30, -1, 0, 1])))
        until = draw(st.sampled_from([None, -1, 0, 1, 30]))
        if until is not None and start + dt.timedelta(days=until) <= start:
            until = None
        result.append(
            RebateGrant(
                id=f"g{i}",
                account_id="a",
                customer_id="c",
                amount=money(amount, currency),
                remaining=money(remaining, currency),
                reserved=money(reserved, currency),
                valid_from=start,
                valid_until=start + dt.timedelta(days=until) if until is not None else None,
                source=draw(st.sampled_from(list(GrantSource))),
                status=draw(st.sampled_from(list(GrantStatus))),
                created_at=start,
            )
        )
    return result


@given(mixed_grants(), st.sampled_from(["MYR", "JPY", "USD", "myr"]), st.sampled_from([-2, 0, 1, 40]))
def test_rebate_balance_and_available_equal_the_grant_by_grant_fold(
    grants: list[RebateGrant], currency: str, days: int
) -> None:
    as_of = NOW + dt.timedelta(days=days)
    expected = _reference_rebate_balance(grants, currency, as_of)
    balance = rebate_balance(grants, currency, as_of)
    available = rebate_available(grants, currency, as_of)
    assert (balance, balance.available.amount.as_tuple()) == (expected, expected.available.amount.as_tuple())
    assert (available, available.amount.as_tuple()) == (expected.available, expected.available.amount.as_tuple())


@given(
    order=cents,
    share=st.one_of(st.none(), st.decimals(min_value=0, max_value=1, places=4)),
    per_use=st.one_of(st.none(), cents),
    minimum=st.one_of(st.none(), cents),
)
def test_rebate_allowed_never_exceeds_any_cap_or_the_order(
    order: int, share: Decimal | None, per_use: int | None, minimum: int | None
) -> None:
    rule = UsageRule(
        id="r",
        currency="MYR",
        max_share=share,
        max_per_use=money(per_use) if per_use else None,
        min_order_amount=money(minimum) if minimum else None,
    )
    amount = money(order)
    allowed = allowed_rebate([rule], CustomerFacts("c"), amount).amount
    assert money(0) <= allowed <= amount
    if per_use is not None:
        assert allowed <= money(per_use)
    if share is not None:
        assert allowed.amount <= amount.amount * share
    if minimum is not None and amount < money(minimum):
        assert allowed.is_zero()
    else:  # tight: the smallest cap, the share rounded down to the cent
        caps = [amount.amount]
        if share is not None:
            caps.append((amount.amount * share).quantize(Decimal("0.01"), rounding="ROUND_DOWN"))
        if per_use is not None:
            caps.append(money(per_use).amount)
        assert allowed.amount == min(caps)


@given(units=cents, currency=currencies)
def test_top_up_fee_is_half_up_rate_with_minimum_and_credit_is_untouched(units: int, currency: str) -> None:
    amount = Money.from_minor(units, currency)
    fee = PlatformFee().fee_for(amount)
    exact = amount.amount * Decimal("0.006")
    assert fee >= Money.of(1, currency)
    assert fee == max(Money.of(exact, currency), Money.of(1, currency))
    exponent = Money.zero(currency).amount.as_tuple().exponent
    assert isinstance(exponent, int)
    quantum = Decimal(1).scaleb(exponent)
    assert abs(Money.of(exact, currency).amount - exact) <= quantum / 2


@given(
    prepayment=st.integers(0, 100_000),
    shares=st.lists(st.integers(1, 50_000), max_size=4),
    take=st.integers(0, 300_000),
)
def test_partial_confirmation_parts_add_up_and_stay_within_the_hold(
    prepayment: int, shares: list[int], take: int
) -> None:
    hold = Hold(
        id="h",
        account_id="a",
        customer_id="c",
        currency="MYR",
        prepayment=money(prepayment),
        rebate=tuple(GrantShare(f"g{i}", money(s)) for i, s in enumerate(shares)),
        created_at=NOW,
        created_by="u",
    )
    if take > hold.total.minor:
        return
    part, rebate = split_confirmation(hold, amount=money(take))
    assert part + sum((s.amount for s in rebate), money(0)) == money(take)
    assert part <= hold.prepayment
    held = {s.grant_id: s.amount for s in hold.rebate}
    assert all(s.amount <= held[s.grant_id] for s in rebate)


moves = st.one_of(
    st.builds(Move.deposit, st.builds(money, cents)),
    st.builds(Move.hold, st.builds(money, cents)),
    st.builds(Move.release, st.builds(money, cents)),
    st.builds(Move.settle, st.builds(money, cents)),
    st.builds(Move.expire, st.builds(money, cents)),
)


@settings(max_examples=200)
@given(st.lists(st.tuples(st.sampled_from(["a1", "a2"]), moves), max_size=40))
def test_reconcile_equals_the_balances_that_applying_the_moves_gave(steps: list[tuple[str, Move]]) -> None:
    balances: dict[BalanceKey, Balance] = {}
    entries = []
    for i, (account, move) in enumerate(steps):
        key = BalanceKey(account, Bucket.PREPAYMENT, "MYR")
        before = balances.get(key, Balance.zero("MYR"))
        if not before.can_apply(move):
            continue  # refused: leaves no entry
        after = before.apply(move)
        assert after.actual == after.available + after.locked
        balances[key] = after
        entries.append(entry_for(move, after, id=str(i), key=key, customer_id="c", actor_id="u", at=NOW))
    assert reconcile(entries) == balances
