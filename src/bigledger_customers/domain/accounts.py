"""Customer accounts: balances, holds, top-up fees and the ledger (DESIGN.md section 5). Pure.

Every balance, the prepayment of an account in one currency as much as one rebate grant, is the
triple actual / available / locked with ``actual = available + locked`` and neither part negative.
A :class:`Balance` keeps only ``available`` and ``locked`` so the triple cannot disagree with itself.

Every change is a :class:`Move` (how much ``available`` and ``locked`` change, and why); applying
a move to a balance gives the new balance and a :class:`LedgerEntry` carrying the amounts before
and after, so :func:`reconcile` recomputes every balance from its entries alone.

>>> b = Balance.zero("CNY").apply(Move.deposit(Money("100.00", "CNY")))
>>> b = b.apply(Move.hold(Money("30.00", "CNY")))
>>> (str(b.actual), str(b.available), str(b.locked))
('100.00 CNY', '70.00 CNY', '30.00 CNY')
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Final

import attrs

from bigledger_customers.errors import InsufficientFunds, NotAllowed, ValidationError
from bigledger_customers.money import ROUND_HALF_UP, Money, validate_currency

__all__ = [
    "OFFLINE_METHODS",
    "Account",
    "Balance",
    "BalanceKey",
    "Bucket",
    "EntryKind",
    "ExpenseKind",
    "ExpenseRecord",
    "GrantShare",
    "Hold",
    "HoldKind",
    "HoldStatus",
    "IncomeMethod",
    "IncomeRecord",
    "LedgerEntry",
    "Move",
    "PlatformFee",
    "RecordStatus",
    "SettlementMethod",
    "TopUpRecord",
    "change_settlement_method",
    "entry_for",
    "reconcile",
    "require_positive",
    "split_confirmation",
]


class SettlementMethod(enum.StrEnum):
    """How the customer pays (DESIGN.md section 5); pay now is the default."""

    PAY_NOW = "pay_now"
    PREPAID = "prepaid"
    CREDIT = "credit"


class IncomeMethod(enum.StrEnum):
    """How offline prepayment income arrived. Offline income waits for approval."""

    CASH = "cash"
    CARD = "card"
    BANK_TRANSFER = "bank_transfer"
    WIRE = "wire"
    ALIPAY = "alipay"
    CHEQUE = "cheque"


OFFLINE_METHODS: Final = frozenset(IncomeMethod)


class RecordStatus(enum.StrEnum):
    """State of a record that may wait for approval (offline income, a manual expense)."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class ExpenseKind(enum.StrEnum):
    """A manual expense (approval by default) or an automatic one (a payment; never approval)."""

    MANUAL = "manual"
    AUTOMATIC = "automatic"


class Bucket(enum.StrEnum):
    """Which balance a ledger entry moves: the prepayment of a currency or one rebate grant."""

    PREPAYMENT = "prepayment"
    REBATE = "rebate"


class EntryKind(enum.StrEnum):
    """Why a balance moved."""

    INCOME = "income"  # approved offline income: available and actual rise
    TOP_UP = "top_up"  # online top-up: available and actual rise
    GRANT = "grant"  # an approved rebate grant: available and actual rise
    HOLD = "hold"  # submission: available falls, locked rises
    RELEASE = "release"  # rejection, expiry or the untaken rest of a confirmation
    SETTLE = "settle"  # confirmation: locked and actual fall
    EXPIRY = "expiry"  # an expired rebate remainder leaves the grant
    TRANSFER = "transfer"  # a merge moves a balance between customers: out negative, in positive


def require_positive(amount: Money, *, field: str = "amount") -> Money:
    """``amount`` when it is above zero, else :class:`ValidationError` ``non_positive_amount``."""
    if not isinstance(amount, Money):
        raise ValidationError("amounts are Money values", code="invalid_amount", field=field, value=amount)
    if amount.amount <= 0:
        raise ValidationError("amount must be above zero", code="non_positive_amount", field=field, value=str(amount))
    return amount


@attrs.frozen(kw_only=True)
class Account:
    """One customer's account; balances per currency hang off it."""

    id: str
    customer_id: str
    settlement_method: SettlementMethod = SettlementMethod.PAY_NOW
    #: Payment terms code for credit customers (None = the credit profile's default).
    payment_terms: str | None = None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int = 1


def change_settlement_method(
    account: Account, method: SettlementMethod | str, *, now: dt.datetime, payment_terms: str | None = None
) -> Account:
    """The account with a new settlement method (terms only make sense for credit)."""
    try:
        method_ = SettlementMethod(method)
    except ValueError:
        raise ValidationError(
            f"unknown settlement method {method!r}", code="invalid_settlement_method", field="method", value=method
        ) from None
    if payment_terms is not None and method_ is not SettlementMethod.CREDIT:
        raise ValidationError(
            "payment terms apply to credit accounts only", code="terms_without_credit", field="payment_terms"
        )
    return attrs.evolve(
        account, settlement_method=method_, payment_terms=payment_terms, updated_at=now, version=account.version + 1
    )


# -- balances and moves -------------------------------------------------------------------------


def _money(value: object, field: str) -> Money:
    if not isinstance(value, Money):
        raise ValidationError("amounts are Money values", code="invalid_amount", field=field, value=value)
    return value


@attrs.frozen(kw_only=True)
class Move:
    """A change to one balance: deltas of available and locked, and why.

    The constructors name the only legal shapes; see :class:`EntryKind`.
    """

    kind: EntryKind
    available: Money
    locked: Money

    @property
    def currency(self) -> str:
        """The currency moved."""
        return self.available.currency

    @property
    def actual(self) -> Money:
        """How much actual changes (available + locked)."""
        return self.available + self.locked

    @classmethod
    def deposit(cls, amount: Money, kind: EntryKind = EntryKind.TOP_UP) -> Move:
        """Money arrives (income, top-up, a grant): available and actual rise."""
        require_positive(amount)
        if kind not in (EntryKind.INCOME, EntryKind.TOP_UP, EntryKind.GRANT):
            raise ValueError(f"{kind} is not a deposit")
        return cls(kind=kind, available=amount, locked=Money.zero(amount.currency))

    @classmethod
    def hold(cls, amount: Money) -> Move:
        """Submission: available falls, locked rises."""
        require_positive(amount)
        return cls(kind=EntryKind.HOLD, available=-amount, locked=amount)

    @classmethod
    def release(cls, amount: Money) -> Move:
        """Rejection, expiry, or the rest of a partial confirmation: locked goes back to available."""
        require_positive(amount)
        return cls(kind=EntryKind.RELEASE, available=amount, locked=-amount)

    @classmethod
    def settle(cls, amount: Money) -> Move:
        """Confirmation: locked and actual fall."""
        require_positive(amount)
        return cls(kind=EntryKind.SETTLE, available=Money.zero(amount.currency), locked=-amount)

    @classmethod
    def expire(cls, amount: Money) -> Move:
        """An expired rebate remainder leaves its grant: available and actual fall."""
        require_positive(amount)
        return cls(kind=EntryKind.EXPIRY, available=-amount, locked=Money.zero(amount.currency))


@attrs.frozen(kw_only=True)
class Balance:
    """Available and locked of one balance; ``actual`` is their sum, so the invariant always holds.

    Neither part may be negative: a move that would make one so raises :class:`InsufficientFunds`
    (available short) and is never applied.
    """

    available: Money
    locked: Money

    def __attrs_post_init__(self) -> None:
        _money(self.available, "available")
        _money(self.locked, "locked")
        if self.available.currency != self.locked.currency:
            raise ValidationError("available and locked differ in currency", code="currency_mismatch")
        if self.available.is_negative() or self.locked.is_negative():
            raise ValidationError(
                f"a balance cannot be negative ({self.available}, {self.locked})", code="negative_balance"
            )

    @classmethod
    def zero(cls, currency: str) -> Balance:
        """An empty balance."""
        z = Money.zero(validate_currency(currency))
        return cls(available=z, locked=z)

    @classmethod
    def of(cls, available: Money, locked: Money | None = None) -> Balance:
        """Build from amounts (locked defaults to zero)."""
        return cls(available=available, locked=locked if locked is not None else Money.zero(available.currency))

    @property
    def currency(self) -> str:
        """The currency of the balance."""
        return self.available.currency

    @property
    def actual(self) -> Money:
        """What the balance holds in all: available plus locked."""
        return self.available + self.locked

    def can_apply(self, move: Move) -> bool:
        """True when ``move`` leaves neither part negative."""
        return not (self.available + move.available).is_negative() and not (self.locked + move.locked).is_negative()

    def apply(self, move: Move) -> Balance:
        """The balance after ``move``; :class:`InsufficientFunds` when available would go negative."""
        available = self.available + move.available
        locked = self.locked + move.locked
        if available.is_negative():
            raise InsufficientFunds(
                f"available {self.available} does not cover {-move.available}",
                field="amount",
                value=str(-move.available),
            )
        if locked.is_negative():
            raise NotAllowed(f"locked {self.locked} does not cover {-move.locked}", code="exceeds_locked")
        return Balance(available=available, locked=locked)


@attrs.frozen
class BalanceKey:
    """Which balance: an account's prepayment in a currency, or one rebate grant (``grant_id``)."""

    account_id: str
    bucket: Bucket
    currency: str
    grant_id: str = ""


@attrs.frozen(kw_only=True)
class LedgerEntry:
    """One move of one balance: who, when, why, and the amounts before and after.

    ``seq`` orders the entries of one balance (1, 2, ...); adapters assign it when they store
    the entry. ``ref_type``/``ref_id`` name the record that caused the move (a hold, a top-up).
    """

    id: str
    account_id: str
    customer_id: str
    bucket: Bucket
    currency: str
    grant_id: str = ""
    kind: EntryKind
    available_delta: Money
    locked_delta: Money
    available_after: Money
    locked_after: Money
    actor_id: str
    at: dt.datetime
    reason: str = ""
    ref_type: str = ""
    ref_id: str = ""
    seq: int = 0

    @property
    def key(self) -> BalanceKey:
        """The balance this entry moves."""
        return BalanceKey(self.account_id, self.bucket, self.currency, self.grant_id)

    @property
    def available_before(self) -> Money:
        """Available before the move."""
        return self.available_after - self.available_delta

    @property
    def locked_before(self) -> Money:
        """Locked before the move."""
        return self.locked_after - self.locked_delta

    @property
    def after(self) -> Balance:
        """The balance after the move."""
        return Balance(available=self.available_after, locked=self.locked_after)

    @property
    def before(self) -> Balance:
        """The balance before the move."""
        return Balance(available=self.available_before, locked=self.locked_before)


def entry_for(
    move: Move,
    after: Balance,
    *,
    id: str,
    key: BalanceKey,
    customer_id: str,
    actor_id: str,
    at: dt.datetime,
    reason: str = "",
    ref_type: str = "",
    ref_id: str = "",
) -> LedgerEntry:
    """The ledger entry of ``move`` that left the balance at ``after``."""
    return LedgerEntry(
        id=id,
        account_id=key.account_id,
        customer_id=customer_id,
        bucket=key.bucket,
        currency=key.currency,
        grant_id=key.grant_id,
        kind=move.kind,
        available_delta=move.available,
        locked_delta=move.locked,
        available_after=after.available,
        locked_after=after.locked,
        actor_id=actor_id,
        at=at,
        reason=reason,
        ref_type=ref_type,
        ref_id=ref_id,
    )


def reconcile(entries: Iterable[LedgerEntry]) -> dict[BalanceKey, Balance]:
    """Recompute every balance from its ledger entries alone (sum of the deltas).

    Raises :class:`ValidationError` ``ledger_gap`` when an entry's "before" is not the running
    total, i.e. an entry is missing or was changed (entries of one balance ordered by ``seq``, then
    the order given).

    >>> m = Money("5.00", "USD")
    >>> key = BalanceKey("a1", Bucket.PREPAYMENT, "USD")
    >>> e = entry_for(Move.deposit(m), Balance.of(m), id="e1", key=key, customer_id="c1",
    ...               actor_id="u1", at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    >>> str(reconcile([e])[key].available)
    '5.00 USD'
    """
    by_key: dict[BalanceKey, list[LedgerEntry]] = {}
    for entry in entries:
        by_key.setdefault(entry.key, []).append(entry)
    result: dict[BalanceKey, Balance] = {}
    for key, items in by_key.items():
        balance = Balance.zero(key.currency)
        for entry in sorted(items, key=lambda e: e.seq) if any(e.seq for e in items) else items:
            if entry.before != balance:
                raise ValidationError(
                    f"entry {entry.id} starts from {entry.before.available}/{entry.before.locked}, "
                    f"the entries before it add up to {balance.available}/{balance.locked}",
                    code="ledger_gap",
                    field="entries",
                    value=entry.id,
                )
            balance = Balance(
                available=balance.available + entry.available_delta, locked=balance.locked + entry.locked_delta
            )
        result[key] = balance
    return result


# -- top-ups, income and expenses ---------------------------------------------------------------


@attrs.frozen(kw_only=True)
class PlatformFee:
    """A payment platform's fee on online top-ups (DESIGN.md section 5).

    ``rate`` of the amount, at least ``minimum`` major units of the currency, rounded half up to the
    minor unit; the customer is credited the full amount; the fee is only recorded.

    >>> fees = PlatformFee(platform="online")
    >>> [str(fees.fee_for(Money(a, "CNY"))) for a in ("100.00", "1000.00", "257.50")]
    ['1.00 CNY', '6.00 CNY', '1.55 CNY']
    """

    platform: str = "online"
    rate: Decimal = attrs.field(default=Decimal("0.006"), converter=Decimal)
    minimum: Decimal = attrs.field(default=Decimal(1), converter=Decimal)

    def __attrs_post_init__(self) -> None:
        if self.rate < 0 or self.minimum < 0:
            raise ValidationError("fee rate and minimum cannot be negative", code="invalid_fee", field="rate")

    def fee_for(self, amount: Money) -> Money:
        """The fee on a top-up of ``amount``."""
        by_rate = amount.multiply(self.rate, rounding=ROUND_HALF_UP)
        floor = Money.of(self.minimum, amount.currency, rounding=ROUND_HALF_UP)
        return max(by_rate, floor)

    def check(self, amount: Money) -> Money:
        """The fee, or :class:`ValidationError` ``fee_exceeds_amount`` when it is at least the amount."""
        require_positive(amount)
        fee = self.fee_for(amount)
        if fee >= amount:
            raise ValidationError(
                f"the {self.platform} fee {fee} is not less than the top-up {amount}",
                code="fee_exceeds_amount",
                field="amount",
                value=str(amount),
            )
        return fee


@attrs.frozen(kw_only=True)
class TopUpRecord:
    """An online top-up: credited in full at once; the platform fee recorded beside it."""

    id: str
    account_id: str
    customer_id: str
    amount: Money
    fee: Money
    platform: str
    reference: str = ""
    at: dt.datetime
    actor_id: str


@attrs.frozen(kw_only=True)
class IncomeRecord:
    """Offline prepayment income: nothing moves until it is approved; a rejection moves nothing."""

    id: str
    account_id: str
    customer_id: str
    amount: Money
    method: IncomeMethod
    reference: str = ""
    status: RecordStatus = RecordStatus.PENDING
    requested_by: str
    requested_at: dt.datetime
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
    approval_id: str | None = None


@attrs.frozen(kw_only=True)
class ExpenseRecord:
    """A confirmed expense: what left the prepayment balance, why, and for which hold."""

    id: str
    account_id: str
    customer_id: str
    amount: Money
    kind: ExpenseKind
    hold_id: str
    order: str | None = None
    reason: str = ""
    at: dt.datetime
    actor_id: str


# -- holds ---------------------------------------------------------------------------------------


class HoldKind(enum.StrEnum):
    """A payment from the account (automatic) or a manual expense (waits for approval)."""

    PAYMENT = "payment"
    MANUAL_EXPENSE = "manual_expense"


class HoldStatus(enum.StrEnum):
    """An open hold closes exactly once: confirmed, rejected or expired."""

    OPEN = "open"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    EXPIRED = "expired"


@attrs.frozen
class GrantShare:
    """How much of one rebate grant a hold reserves (or a confirmation takes)."""

    grant_id: str
    amount: Money


@attrs.frozen(kw_only=True)
class Hold:
    """Locked prepayment and reserved rebate for one payment or manual expense (two-phase).

    Confirm may take less than held (the rest is released); reject releases all; a hold past
    ``expires_at`` is released. ``settled_*`` say what a confirmation took.
    """

    id: str
    account_id: str
    customer_id: str
    currency: str
    kind: HoldKind = HoldKind.PAYMENT
    order: str | None = None
    prepayment: Money
    rebate: tuple[GrantShare, ...] = ()
    status: HoldStatus = HoldStatus.OPEN
    created_at: dt.datetime
    created_by: str
    expires_at: dt.datetime | None = None
    settled_prepayment: Money | None = None
    settled_rebate: tuple[GrantShare, ...] = ()
    closed_at: dt.datetime | None = None
    closed_by: str | None = None
    reason: str = ""
    version: int = 1

    @property
    def rebate_total(self) -> Money:
        """The rebate reserved over every grant."""
        result = Money.zero(self.currency)
        for share in self.rebate:
            result = result + share.amount
        return result

    @property
    def total(self) -> Money:
        """Everything held: prepayment plus rebate."""
        return self.prepayment + self.rebate_total

    def is_open(self) -> bool:
        """True until confirmed, rejected or expired."""
        return self.status is HoldStatus.OPEN

    def is_overdue(self, now: dt.datetime) -> bool:
        """True for an open hold whose expiry has come."""
        return self.is_open() and self.expires_at is not None and now >= self.expires_at

    def ensure_open(self, now: dt.datetime) -> None:
        """:class:`NotAllowed` unless the hold is open and not overdue."""
        if not self.is_open():
            raise NotAllowed(f"hold {self.id} is already {self.status}", code=f"hold_{self.status}", field="hold")
        if self.is_overdue(now):
            raise NotAllowed(f"hold {self.id} has expired", code="hold_expired", field="hold")

    def close(
        self,
        status: HoldStatus,
        *,
        now: dt.datetime,
        by: str,
        reason: str = "",
        prepayment: Money | None = None,
        rebate: Sequence[GrantShare] = (),
    ) -> Hold:
        """The hold closed with ``status``; for a confirmation, what it took."""
        return attrs.evolve(
            self,
            status=status,
            closed_at=now,
            closed_by=by,
            reason=reason,
            settled_prepayment=prepayment,
            settled_rebate=tuple(rebate),
            version=self.version + 1,
        )


def split_confirmation(
    hold: Hold, *, amount: Money | None = None, prepayment: Money | None = None, rebate: Money | None = None
) -> tuple[Money, tuple[GrantShare, ...]]:
    """What a confirmation takes: prepayment and rebate (per grant), each at most what is held.

    Give either ``amount`` (the total to take, split between prepayment and rebate in proportion
    to what is held, exact to the minor unit) or ``prepayment`` and/or ``rebate``; nothing takes all.
    Rebate is taken from the hold's grants in the order they were reserved (consumption order).
    """
    held_rebate = hold.rebate_total
    if amount is not None:
        if prepayment is not None or rebate is not None:
            raise ValidationError("give amount or the parts, not both", code="ambiguous_amount", field="amount")
        _check_within(amount, hold.total, "amount")
        if hold.total.is_zero():
            prepayment, rebate = amount, Money.zero(hold.currency)
        else:
            prepayment, rebate = amount.allocate([hold.prepayment.amount, held_rebate.amount])
    if prepayment is None and rebate is None:
        prepayment, rebate = hold.prepayment, held_rebate
    prepayment = Money.zero(hold.currency) if prepayment is None else prepayment
    rebate = Money.zero(hold.currency) if rebate is None else rebate
    _check_within(prepayment, hold.prepayment, "prepayment")
    _check_within(rebate, held_rebate, "rebate")
    shares: list[GrantShare] = []
    left = rebate
    for share in hold.rebate:
        if left.is_zero():
            break
        take = min(left, share.amount)
        shares.append(GrantShare(share.grant_id, take))
        left = left - take
    return prepayment, tuple(shares)


def _check_within(amount: Money, held: Money, field: str) -> None:
    if not isinstance(amount, Money):
        raise ValidationError("amounts are Money values", code="invalid_amount", field=field, value=amount)
    if amount.currency != held.currency:
        raise ValidationError(
            f"the hold is in {held.currency}", code="currency_mismatch", field=field, value=amount.currency
        )
    if amount.is_negative():
        raise ValidationError("amount cannot be negative", code="negative_amount", field=field, value=str(amount))
    if amount > held:
        raise ValidationError(
            f"{amount} is more than the {held} held", code="exceeds_hold", field=field, value=str(amount)
        )


def shares_by_grant(shares: Iterable[GrantShare]) -> Mapping[str, Money]:
    """Sum shares per grant id."""
    result: dict[str, Money] = {}
    for share in shares:
        result[share.grant_id] = result[share.grant_id] + share.amount if share.grant_id in result else share.amount
    return result
