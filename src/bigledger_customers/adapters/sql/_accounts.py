"""Customer-account tables and repositories on SQLAlchemy Core (DESIGN.md sections 2 and 5).

Money is integer minor units plus the currency code; CHECK constraints back the balance invariants
(available >= 0, locked >= 0, actual = available + locked, remaining >= 0) so a bug cannot write an
impossible row. Every money command first locks its account row (``SELECT ... FOR UPDATE``; SQLite
serialises writers with ``BEGIN IMMEDIATE``), and balance moves are conditional updates
(``... WHERE available + :delta >= 0``) whose row count is checked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Final

import attrs
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from bigledger_customers.adapters.sql import _tables as t
from bigledger_customers.adapters.sql._repositories import ConnectionSource, _is_unique_violation, _savepoint, _upsert
from bigledger_customers.adapters.sql._types import UtcDateTime, json_type, key_string
from bigledger_customers.domain.accounts import (
    Account,
    Balance,
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
    RecordStatus,
    SettlementMethod,
    TopUpRecord,
)
from bigledger_customers.domain.approvals import ApprovalRequest, ApprovalStatus
from bigledger_customers.domain.convert import converter
from bigledger_customers.domain.idempotency import IdempotencyRecord, Outcome
from bigledger_customers.domain.privacy import erase_free_text
from bigledger_customers.domain.rebates import GrantSource, GrantStatus, RebateGrant
from bigledger_customers.errors import ConcurrencyError, Conflict, InsufficientFunds, NotAllowed
from bigledger_customers.money import Money
from bigledger_customers.ports import AccountState

__all__ = [
    "SqlAccountRecords",
    "SqlAccounts",
    "SqlApprovals",
    "SqlBalances",
    "SqlConfig",
    "SqlGrants",
    "SqlHolds",
    "SqlIdempotency",
    "SqlLedger",
]

ID: Final = 64
_BIGSERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _id(name: str, *, nullable: bool = False, primary_key: bool = False) -> sa.Column[str]:
    return sa.Column(name, key_string(ID), nullable=nullable, primary_key=primary_key)


def _minor(name: str, *, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=nullable)


def _currency() -> sa.Column[str]:
    return sa.Column("currency", sa.String(3), nullable=False)


accounts = sa.Table(
    "accounts",
    t.metadata,
    _id("id", primary_key=True),
    _id("customer_id"),
    sa.Column("settlement_method", sa.String(20), nullable=False),
    sa.Column("payment_terms", sa.String(50), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.CheckConstraint("version >= 1", name="version_positive"),
    sa.Index(None, "customer_id", unique=True),
)

account_balances = sa.Table(
    "account_balances",
    t.metadata,
    _id("account_id"),
    _currency(),
    _minor("actual"),
    _minor("available"),
    _minor("locked"),
    sa.PrimaryKeyConstraint("account_id", "currency"),
    sa.CheckConstraint("available >= 0", name="available_not_negative"),
    sa.CheckConstraint("locked >= 0", name="locked_not_negative"),
    sa.CheckConstraint("actual = available + locked", name="actual_is_available_plus_locked"),
)

rebate_grants = sa.Table(
    "rebate_grants",
    t.metadata,
    _id("id", primary_key=True),
    _id("account_id"),
    _id("customer_id"),
    _currency(),
    _minor("amount"),
    _minor("remaining"),
    _minor("reserved"),
    sa.Column("valid_from", UtcDateTime(), nullable=False),
    sa.Column("valid_until", UtcDateTime(), nullable=True),
    sa.Column("source", sa.String(20), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("created_by", sa.String(100), nullable=False),
    sa.Column("order_number", sa.String(100), nullable=True),
    sa.Column("rule_id", sa.String(100), nullable=True),
    sa.Column("refund_id", sa.String(100), nullable=True),
    sa.Column("reason", sa.Text(), nullable=False),
    _id("approval_id", nullable=True),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.CheckConstraint("amount > 0", name="amount_positive"),
    sa.CheckConstraint("remaining >= 0", name="remaining_not_negative"),
    sa.CheckConstraint("reserved >= 0", name="reserved_not_negative"),
    sa.CheckConstraint("reserved <= remaining", name="reserved_within_remaining"),
    sa.CheckConstraint("remaining <= amount", name="remaining_within_amount"),
    sa.Index(None, "account_id", "id"),
    sa.Index(None, "customer_id"),
    sa.Index(None, "status", "valid_until"),
    sa.Index(None, "rule_id", "order_number", unique=True),
)

holds = sa.Table(
    "account_holds",
    t.metadata,
    _id("id", primary_key=True),
    _id("account_id"),
    _id("customer_id"),
    _currency(),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("order_ref", sa.String(100), nullable=True),
    _minor("prepayment"),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("created_by", sa.String(100), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=True),
    _minor("settled_prepayment", nullable=True),
    sa.Column("closed_at", UtcDateTime(), nullable=True),
    sa.Column("closed_by", sa.String(100), nullable=True),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    #: The rebate reserved and taken, per grant: {"rebate": [[grant_id, minor], ...], "settled": [...]}.
    sa.Column("shares", json_type(), nullable=False),
    sa.CheckConstraint("prepayment >= 0", name="prepayment_not_negative"),
    sa.Index(None, "account_id", "status", "expires_at"),
    sa.Index(None, "status", "expires_at"),
)

top_ups = sa.Table(
    "account_top_ups",
    t.metadata,
    _id("id", primary_key=True),
    _id("account_id"),
    _id("customer_id"),
    _currency(),
    _minor("amount"),
    _minor("fee"),
    sa.Column("platform", sa.String(50), nullable=False),
    sa.Column("reference", sa.String(200), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("actor_id", sa.String(100), nullable=False),
    sa.CheckConstraint("amount > 0", name="amount_positive"),
    sa.CheckConstraint("fee >= 0 AND fee < amount", name="fee_below_amount"),
    sa.Index(None, "account_id", "at"),
)

incomes = sa.Table(
    "account_incomes",
    t.metadata,
    _id("id", primary_key=True),
    _id("account_id"),
    _id("customer_id"),
    _currency(),
    _minor("amount"),
    sa.Column("method", sa.String(20), nullable=False),
    sa.Column("reference", sa.String(200), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("requested_by", sa.String(100), nullable=False),
    sa.Column("requested_at", UtcDateTime(), nullable=False),
    sa.Column("decided_by", sa.String(100), nullable=True),
    sa.Column("decided_at", UtcDateTime(), nullable=True),
    _id("approval_id", nullable=True),
    sa.CheckConstraint("amount > 0", name="amount_positive"),
    sa.Index(None, "account_id", "requested_at"),
)

expenses = sa.Table(
    "account_expenses",
    t.metadata,
    _id("id", primary_key=True),
    _id("account_id"),
    _id("customer_id"),
    _currency(),
    _minor("amount"),
    sa.Column("kind", sa.String(20), nullable=False),
    _id("hold_id"),
    sa.Column("order_ref", sa.String(100), nullable=True),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("actor_id", sa.String(100), nullable=False),
    sa.CheckConstraint("amount > 0", name="amount_positive"),
    sa.Index(None, "account_id", "at"),
)

ledger_entries = sa.Table(
    "ledger_entries",
    t.metadata,
    sa.Column("seq", _BIGSERIAL, primary_key=True, autoincrement=True),
    _id("id"),
    _id("account_id"),
    _id("customer_id"),
    sa.Column("bucket", sa.String(20), nullable=False),
    _currency(),
    sa.Column("grant_id", key_string(ID), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    _minor("available_delta"),
    _minor("locked_delta"),
    _minor("available_after"),
    _minor("locked_after"),
    sa.Column("actor_id", sa.String(100), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("ref_type", sa.String(30), nullable=False),
    sa.Column("ref_id", sa.String(ID), nullable=False),
    sa.CheckConstraint("available_after >= 0", name="available_after_not_negative"),
    sa.CheckConstraint("locked_after >= 0", name="locked_after_not_negative"),
    sa.Index(None, "id", unique=True),
    sa.Index(None, "account_id", "seq"),
    sa.Index(None, "customer_id"),
    sqlite_autoincrement=True,
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    t.metadata,
    sa.Column("key", key_string(200), primary_key=True),
    sa.Column("command", sa.String(100), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("outcome", json_type(), nullable=True),
)

approval_requests = sa.Table(
    "approval_requests",
    t.metadata,
    _id("id", primary_key=True),
    sa.Column("command", sa.String(100), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("subject_type", sa.String(50), nullable=False),
    sa.Column("subject_id", key_string(ID), nullable=False),
    _id("customer_id", nullable=True),
    sa.Column("requested_at", UtcDateTime(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("doc", json_type(), nullable=False),
    sa.Index(None, "status", "requested_at"),
    sa.Index(None, "subject_type", "subject_id"),
)

account_config = sa.Table(
    "account_config",
    t.metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("value", json_type(), nullable=False),
)

# DESIGN.md section 3, Delete: a customer with ledger entries or grants is voided, never deleted.
t.FINANCIAL_HISTORY.extend([(ledger_entries, "customer_id"), (rebate_grants, "customer_id")])


def _money(minor: int, currency: str) -> Money:
    return Money.from_minor(int(minor), currency)


# Statements of the hot path built once (building a Core statement costs more than running it).
_LOCK = sa.select(accounts).where(accounts.c.id == sa.bindparam("id")).with_for_update()
_b, _h, _g = account_balances.c, holds.c, rebate_grants.c
_STATE = sa.select(
    sa.select(_b.available)
    .where(_b.account_id == sa.bindparam("id"), _b.currency == sa.bindparam("currency"))
    .scalar_subquery()
    .label("available"),
    sa.select(_b.locked)
    .where(_b.account_id == sa.bindparam("id"), _b.currency == sa.bindparam("currency"))
    .scalar_subquery()
    .label("locked"),
    sa.exists()
    .where(
        _h.account_id == sa.bindparam("id"),
        _h.status == HoldStatus.OPEN.value,
        _h.expires_at.is_not(None),
        _h.expires_at <= sa.bindparam("now", type_=UtcDateTime()),
    )
    .label("overdue"),
    sa.exists()
    .where(
        _g.account_id == sa.bindparam("id"),
        _g.status == GrantStatus.APPROVED.value,
        _g.valid_until.is_not(None),
        _g.valid_until <= sa.bindparam("now", type_=UtcDateTime()),
    )
    .label("expired"),
)
_da = sa.bindparam("da", type_=sa.BigInteger())
_dl = sa.bindparam("dl", type_=sa.BigInteger())
_MOVE = (
    sa.update(account_balances)
    .where(
        _b.account_id == sa.bindparam("b_account"),
        _b.currency == sa.bindparam("b_currency"),
        _b.available + _da >= 0,
        _b.locked + _dl >= 0,
    )
    .values(available=_b.available + _da, locked=_b.locked + _dl, actual=_b.actual + _da + _dl)
)
_MOVE_RETURNING = _MOVE.returning(_b.available, _b.locked, _b.currency)
_HOLD_GET = sa.select(holds).where(_h.id == sa.bindparam("id"))
_HOLD_UPDATE = sa.update(holds).where(_h.id == sa.bindparam("b_id"), _h.version == sa.bindparam("b_version"))
_CLAIMS: dict[str, Any] = {}
_FINISH = sa.update(idempotency_keys).where(idempotency_keys.c.key == sa.bindparam("b_key"))


class _Repo:
    def __init__(self, connection: ConnectionSource) -> None:
        self._conn = connection


class SqlAccounts(_Repo):
    """Accounts; :meth:`lock` is the per-account mutex of money commands."""

    @staticmethod
    def _load(row: Any) -> Account:
        return Account(
            id=row.id,
            customer_id=row.customer_id,
            settlement_method=SettlementMethod(row.settlement_method),
            payment_terms=row.payment_terms,
            created_at=row.created_at,
            updated_at=row.updated_at,
            version=row.version,
        )

    def get(self, account_id: str) -> Account | None:
        row = self._conn().execute(sa.select(accounts).where(accounts.c.id == account_id)).first()
        return self._load(row) if row else None

    def lock(self, account_id: str) -> Account | None:
        row = self._conn().execute(_LOCK, {"id": account_id}).first()
        return self._load(row) if row else None

    def state(self, account_id: str, *, currency: str | None, now: dt.datetime) -> AccountState:
        # One statement instead of three (balance, overdue holds, grants): it runs after the lock,
        # so under READ COMMITTED it sees what the previous holder of the lock committed.
        row = self._conn().execute(_STATE, {"id": account_id, "currency": currency or "", "now": now}).one()
        balance = None
        if row.available is not None and currency is not None:
            balance = Balance(available=_money(row.available, currency), locked=_money(row.locked, currency))
        return AccountState(balance=balance, housekeeping=bool(row.overdue or row.expired))

    @staticmethod
    def _row(account: Account) -> dict[str, Any]:
        return {
            "id": account.id,
            "customer_id": account.customer_id,
            "settlement_method": account.settlement_method.value,
            "payment_terms": account.payment_terms,
            "created_at": account.created_at,
            "updated_at": account.updated_at,
            "version": account.version,
        }

    def add(self, account: Account) -> None:
        conn = self._conn()
        try:
            with _savepoint(conn):
                conn.execute(sa.insert(accounts).values(**self._row(account)))
        except sa.exc.IntegrityError as error:
            if _is_unique_violation(conn, error):
                raise ConcurrencyError("the account was created concurrently", code="duplicate_account") from None
            raise

    def update(self, account: Account, expected_version: int) -> None:
        result = self._conn().execute(
            sa.update(accounts)
            .where(accounts.c.id == account.id, accounts.c.version == expected_version)
            .values(**self._row(account))
        )
        if result.rowcount != 1:
            raise ConcurrencyError("account was changed since it was read", field="version", value=expected_version)

    def create_missing(
        self, *, after: str, limit: int, settlement_method: SettlementMethod, now: dt.datetime
    ) -> tuple[int, str | None]:
        conn = self._conn()
        ids = sa.select(t.customers.c.id).where(t.customers.c.id > after).order_by(t.customers.c.id).limit(limit)
        columns = ["id", "customer_id", "settlement_method", "payment_terms", "created_at", "updated_at", "version"]
        if conn.dialect.name == "postgresql":
            # One statement per batch: the ids in order, the accounts of those without one, and back
            # only the count and the last id (PostgreSQL runs INSERT inside WITH).
            batch = ids.cte("batch")
            values = sa.select(
                batch.c.id,
                batch.c.id,
                sa.literal(settlement_method.value, sa.String(20)),
                sa.null(),
                sa.literal(now, UtcDateTime()),
                sa.literal(now, UtcDateTime()),
                sa.literal(1, sa.Integer()),
            )
            # ON CONFLICT skips the customers that have an account through the unique indexes (an
            # anti-join here came out as a scan of every account per batch: quadratic at 1M).
            inserted = (
                postgresql.insert(accounts)
                .from_select(columns, values)
                .on_conflict_do_nothing()
                .returning(accounts.c.id)
                .cte("inserted")
            )
            row = conn.execute(
                sa.select(
                    sa.select(sa.func.count()).select_from(inserted).scalar_subquery(),
                    sa.select(sa.func.max(batch.c.id)).scalar_subquery(),
                )
            ).one()
            return int(row[0]), (str(row[1]) if row[1] is not None else None)
        last = conn.execute(sa.select(sa.func.max(ids.subquery().c.id))).scalar()
        if last is None:
            return 0, None
        c = t.customers.c
        select = sa.select(
            c.id,
            c.id,
            sa.literal(settlement_method.value, sa.String(20)),
            sa.null(),
            sa.literal(now, UtcDateTime()),
            sa.literal(now, UtcDateTime()),
            sa.literal(1, sa.Integer()),
        ).where(c.id > after, c.id <= last, ~sa.exists().where(accounts.c.id == c.id))
        # preserve_rowcount: SQLAlchemy 2.1 on psycopg reports -1 for an INSERT ... SELECT otherwise.
        result = conn.execute(
            sa.insert(accounts).from_select(columns, select), execution_options={"preserve_rowcount": True}
        )
        return int(result.rowcount), str(last)

    def count(self) -> int:
        return int(self._conn().execute(sa.select(sa.func.count()).select_from(accounts)).scalar_one())


class SqlBalances(_Repo):
    """Prepayment balances; moves are one conditional UPDATE (``RETURNING`` where the dialect has it)."""

    @staticmethod
    def _load(row: Any) -> Balance:
        return Balance(available=_money(row.available, row.currency), locked=_money(row.locked, row.currency))

    def get(self, account_id: str, currency: str) -> Balance | None:
        b = account_balances.c
        row = (
            self._conn()
            .execute(sa.select(account_balances).where(b.account_id == account_id, b.currency == currency))
            .first()
        )
        return self._load(row) if row else None

    def for_account(self, account_id: str) -> Mapping[str, Balance]:
        b = account_balances.c
        rows = self._conn().execute(sa.select(account_balances).where(b.account_id == account_id).order_by(b.currency))
        return {row.currency: self._load(row) for row in rows}

    def move(self, account_id: str, move: Move) -> Balance:
        conn = self._conn()
        da, dl = move.available.minor, move.locked.minor
        params = {"b_account": account_id, "b_currency": move.currency, "da": da, "dl": dl}
        returning = conn.dialect.name in ("postgresql", "sqlite")
        if returning:
            row = conn.execute(_MOVE_RETURNING, params).first()
            if row is not None:
                return self._load(row)
        elif conn.execute(_MOVE, params).rowcount == 1:
            found = self.get(account_id, move.currency)
            assert found is not None
            return found
        current = self.get(account_id, move.currency)
        if current is None and da >= 0 and dl >= 0:
            conn.execute(
                sa.insert(account_balances).values(
                    account_id=account_id, currency=move.currency, actual=da + dl, available=da, locked=dl
                )
            )
            return Balance(available=move.available, locked=move.locked)
        (current or Balance.zero(move.currency)).apply(move)  # raises the right refusal
        raise InsufficientFunds("the balance moved concurrently", field="amount")  # pragma: no cover


class SqlGrants(_Repo):
    """Rebate grants; a move rewrites the row if its version is unchanged (the account is locked)."""

    @staticmethod
    def _load(row: Any) -> RebateGrant:
        return RebateGrant(
            id=row.id,
            account_id=row.account_id,
            customer_id=row.customer_id,
            amount=_money(row.amount, row.currency),
            remaining=_money(row.remaining, row.currency),
            reserved=_money(row.reserved, row.currency),
            valid_from=row.valid_from,
            valid_until=row.valid_until,
            source=GrantSource(row.source),
            status=GrantStatus(row.status),
            created_at=row.created_at,
            created_by=row.created_by,
            order_number=row.order_number,
            rule_id=row.rule_id,
            refund_id=row.refund_id,
            reason=row.reason,
            approval_id=row.approval_id,
            version=row.version,
        )

    @staticmethod
    def _row(grant: RebateGrant) -> dict[str, Any]:
        return {
            "id": grant.id,
            "account_id": grant.account_id,
            "customer_id": grant.customer_id,
            "currency": grant.currency,
            "amount": grant.amount.minor,
            "remaining": grant.remaining.minor,
            "reserved": grant.reserved.minor,
            "valid_from": grant.valid_from,
            "valid_until": grant.valid_until,
            "source": grant.source.value,
            "status": grant.status.value,
            "created_at": grant.created_at,
            "created_by": grant.created_by,
            "order_number": grant.order_number,
            "rule_id": grant.rule_id,
            "refund_id": grant.refund_id,
            "reason": grant.reason,
            "approval_id": grant.approval_id,
            "version": grant.version,
        }

    def get(self, grant_id: str) -> RebateGrant | None:
        row = self._conn().execute(sa.select(rebate_grants).where(rebate_grants.c.id == grant_id)).first()
        return self._load(row) if row else None

    def add(self, grant: RebateGrant) -> None:
        conn = self._conn()
        try:
            with _savepoint(conn):
                conn.execute(sa.insert(rebate_grants).values(**self._row(grant)))
        except sa.exc.IntegrityError as error:
            if _is_unique_violation(conn, error):
                raise Conflict("the rule already gave a grant for this order", code="duplicate_order_grant") from None
            raise

    def for_account(self, account_id: str) -> Sequence[RebateGrant]:
        g = rebate_grants.c
        rows = self._conn().execute(sa.select(rebate_grants).where(g.account_id == account_id).order_by(g.id))
        return [self._load(row) for row in rows]

    def for_order(self, rule_id: str, order_number: str) -> RebateGrant | None:
        g = rebate_grants.c
        row = (
            self._conn()
            .execute(sa.select(rebate_grants).where(g.rule_id == rule_id, g.order_number == order_number))
            .first()
        )
        return self._load(row) if row else None

    def _save(self, before: RebateGrant, after: RebateGrant) -> RebateGrant:
        g = rebate_grants.c
        result = self._conn().execute(
            sa.update(rebate_grants)
            .where(g.id == before.id, g.version == before.version)
            .values(
                remaining=after.remaining.minor,
                reserved=after.reserved.minor,
                status=after.status.value,
                version=after.version,
            )
        )
        if result.rowcount != 1:
            raise ConcurrencyError("grant was changed since it was read", field="version")
        return after

    def move(self, grant_id: str, move: Move) -> RebateGrant:
        before = self.get(grant_id)
        if before is None:
            raise NotAllowed(f"no grant {grant_id!r}", code="grant_not_found")
        return self._save(before, before.apply(move))

    def set_status(self, grant: RebateGrant, status: GrantStatus) -> RebateGrant:
        return self._save(grant, attrs.evolve(grant, status=status, version=grant.version + 1))

    def expired(self, as_of: dt.datetime, limit: int) -> Sequence[RebateGrant]:
        g = rebate_grants.c
        rows = self._conn().execute(
            sa.select(rebate_grants)
            .where(g.status == GrantStatus.APPROVED.value, g.valid_until.is_not(None), g.valid_until <= as_of)
            .order_by(g.id)
            .limit(limit)
        )
        return [self._load(row) for row in rows]

    def has_any(self, customer_id: str) -> bool:
        g = rebate_grants.c
        return bool(self._conn().execute(sa.select(sa.exists().where(g.customer_id == customer_id))).scalar())

    def erase_reasons(self, customer_id: str, text: str) -> Sequence[str]:
        return _erase_column(self._conn(), rebate_grants.c.reason, customer_id, text)


def _erase_column(conn: sa.Connection, column: sa.Column[str], customer_id: str, text: str) -> list[str]:
    """Overwrite the customer's non-empty values of ``column`` with ``text``; the distinct values overwritten."""
    owner = column.table.c.customer_id
    where = (owner == customer_id, column != "", column != text)
    found = sorted(conn.execute(sa.select(column).where(*where).distinct()).scalars())
    if found:
        conn.execute(sa.update(column.table).where(*where).values({column.name: text}))
    return found


def _shares(items: Sequence[GrantShare]) -> list[list[Any]]:
    return [[s.grant_id, s.amount.minor] for s in items]


class SqlHolds(_Repo):
    """Two-phase holds."""

    @staticmethod
    def _load(row: Any) -> Hold:
        cur = row.currency
        shares = row.shares

        def load(items: Sequence[Sequence[Any]]) -> tuple[GrantShare, ...]:
            return tuple(GrantShare(str(g), _money(m, cur)) for g, m in items)

        return Hold(
            id=row.id,
            account_id=row.account_id,
            customer_id=row.customer_id,
            currency=cur,
            kind=HoldKind(row.kind),
            order=row.order_ref,
            prepayment=_money(row.prepayment, cur),
            rebate=load(shares["rebate"]),
            status=HoldStatus(row.status),
            created_at=row.created_at,
            created_by=row.created_by,
            expires_at=row.expires_at,
            settled_prepayment=_money(row.settled_prepayment, cur) if row.settled_prepayment is not None else None,
            settled_rebate=load(shares["settled"]),
            closed_at=row.closed_at,
            closed_by=row.closed_by,
            reason=row.reason,
            version=row.version,
        )

    @staticmethod
    def _row(hold: Hold) -> dict[str, Any]:
        return {
            "id": hold.id,
            "account_id": hold.account_id,
            "customer_id": hold.customer_id,
            "currency": hold.currency,
            "kind": hold.kind.value,
            "order_ref": hold.order,
            "prepayment": hold.prepayment.minor,
            "status": hold.status.value,
            "created_at": hold.created_at,
            "created_by": hold.created_by,
            "expires_at": hold.expires_at,
            "settled_prepayment": hold.settled_prepayment.minor if hold.settled_prepayment is not None else None,
            "closed_at": hold.closed_at,
            "closed_by": hold.closed_by,
            "reason": hold.reason,
            "version": hold.version,
            "shares": {"rebate": _shares(hold.rebate), "settled": _shares(hold.settled_rebate)},
        }

    def add(self, hold: Hold) -> None:
        self._conn().execute(holds.insert(), self._row(hold))

    def get(self, hold_id: str) -> Hold | None:
        row = self._conn().execute(_HOLD_GET, {"id": hold_id}).first()
        return self._load(row) if row else None

    def update(self, hold: Hold, expected_version: int) -> None:
        result = self._conn().execute(_HOLD_UPDATE, {"b_id": hold.id, "b_version": expected_version, **self._row(hold)})
        if result.rowcount != 1:
            raise ConcurrencyError("hold was changed since it was read", field="version", value=expected_version)

    def overdue(self, now: dt.datetime, *, account_id: str | None = None, limit: int = 1000) -> Sequence[Hold]:
        h = holds.c
        query = sa.select(holds).where(
            h.status == HoldStatus.OPEN.value, h.expires_at.is_not(None), h.expires_at <= now
        )
        if account_id is not None:
            query = query.where(h.account_id == account_id)
        rows = self._conn().execute(query.order_by(h.expires_at, h.id).limit(limit))
        return [self._load(row) for row in rows]

    def erase_reasons(self, customer_id: str, text: str) -> Sequence[str]:
        return _erase_column(self._conn(), holds.c.reason, customer_id, text)


class SqlAccountRecords(_Repo):
    """Top-ups, offline income, expense records."""

    def add_top_up(self, record: TopUpRecord) -> None:
        self._conn().execute(
            sa.insert(top_ups).values(
                id=record.id,
                account_id=record.account_id,
                customer_id=record.customer_id,
                currency=record.amount.currency,
                amount=record.amount.minor,
                fee=record.fee.minor,
                platform=record.platform,
                reference=record.reference,
                at=record.at,
                actor_id=record.actor_id,
            )
        )

    @staticmethod
    def _income_row(record: IncomeRecord) -> dict[str, Any]:
        return {
            "id": record.id,
            "account_id": record.account_id,
            "customer_id": record.customer_id,
            "currency": record.amount.currency,
            "amount": record.amount.minor,
            "method": record.method.value,
            "reference": record.reference,
            "status": record.status.value,
            "requested_by": record.requested_by,
            "requested_at": record.requested_at,
            "decided_by": record.decided_by,
            "decided_at": record.decided_at,
            "approval_id": record.approval_id,
        }

    @staticmethod
    def _income(row: Any) -> IncomeRecord:
        return IncomeRecord(
            id=row.id,
            account_id=row.account_id,
            customer_id=row.customer_id,
            amount=_money(row.amount, row.currency),
            method=IncomeMethod(row.method),
            reference=row.reference,
            status=RecordStatus(row.status),
            requested_by=row.requested_by,
            requested_at=row.requested_at,
            decided_by=row.decided_by,
            decided_at=row.decided_at,
            approval_id=row.approval_id,
        )

    def add_income(self, record: IncomeRecord) -> None:
        self._conn().execute(sa.insert(incomes).values(**self._income_row(record)))

    def get_income(self, income_id: str) -> IncomeRecord | None:
        row = self._conn().execute(sa.select(incomes).where(incomes.c.id == income_id)).first()
        return self._income(row) if row else None

    def update_income(self, record: IncomeRecord) -> None:
        i = incomes.c
        result = self._conn().execute(
            sa.update(incomes)
            .where(i.id == record.id, i.status == RecordStatus.PENDING.value)
            .values(**self._income_row(record))
        )
        if result.rowcount != 1:
            raise ConcurrencyError("income is no longer pending", field="status")

    def add_expense(self, record: ExpenseRecord) -> None:
        self._conn().execute(
            expenses.insert(),
            {
                "id": record.id,
                "account_id": record.account_id,
                "customer_id": record.customer_id,
                "currency": record.amount.currency,
                "amount": record.amount.minor,
                "kind": record.kind.value,
                "hold_id": record.hold_id,
                "order_ref": record.order,
                "reason": record.reason,
                "at": record.at,
                "actor_id": record.actor_id,
            },
        )

    def top_ups(self, account_id: str) -> Sequence[TopUpRecord]:
        rows = self._conn().execute(
            sa.select(top_ups).where(top_ups.c.account_id == account_id).order_by(top_ups.c.at, top_ups.c.id)
        )
        return [
            TopUpRecord(
                id=r.id,
                account_id=r.account_id,
                customer_id=r.customer_id,
                amount=_money(r.amount, r.currency),
                fee=_money(r.fee, r.currency),
                platform=r.platform,
                reference=r.reference,
                at=r.at,
                actor_id=r.actor_id,
            )
            for r in rows
        ]

    def incomes(self, account_id: str) -> Sequence[IncomeRecord]:
        i = incomes.c
        rows = self._conn().execute(sa.select(incomes).where(i.account_id == account_id).order_by(i.requested_at, i.id))
        return [self._income(r) for r in rows]

    def expenses(self, account_id: str) -> Sequence[ExpenseRecord]:
        e = expenses.c
        rows = self._conn().execute(sa.select(expenses).where(e.account_id == account_id).order_by(e.at, e.id))
        return [
            ExpenseRecord(
                id=r.id,
                account_id=r.account_id,
                customer_id=r.customer_id,
                amount=_money(r.amount, r.currency),
                kind=ExpenseKind(r.kind),
                hold_id=r.hold_id,
                order=r.order_ref,
                reason=r.reason,
                at=r.at,
                actor_id=r.actor_id,
            )
            for r in rows
        ]

    def erase_text(self, customer_id: str, text: str) -> Sequence[str]:
        erased: set[str] = set()
        for column in (top_ups.c.reference, incomes.c.reference, expenses.c.reason):
            erased.update(_erase_column(self._conn(), column, customer_id, text))
        return sorted(erased)


class SqlLedger(_Repo):
    """Append-only ledger entries; ``seq`` is the table's auto-increment key."""

    @staticmethod
    def _load(r: Any) -> LedgerEntry:
        cur = r.currency
        return LedgerEntry(
            id=r.id,
            account_id=r.account_id,
            customer_id=r.customer_id,
            bucket=Bucket(r.bucket),
            currency=cur,
            grant_id=r.grant_id,
            kind=EntryKind(r.kind),
            available_delta=_money(r.available_delta, cur),
            locked_delta=_money(r.locked_delta, cur),
            available_after=_money(r.available_after, cur),
            locked_after=_money(r.locked_after, cur),
            actor_id=r.actor_id,
            at=r.at,
            reason=r.reason,
            ref_type=r.ref_type,
            ref_id=r.ref_id,
            seq=r.seq,
        )

    def add(self, entry: LedgerEntry) -> None:
        self._conn().execute(
            ledger_entries.insert(),
            {
                "id": entry.id,
                "account_id": entry.account_id,
                "customer_id": entry.customer_id,
                "bucket": entry.bucket.value,
                "currency": entry.currency,
                "grant_id": entry.grant_id,
                "kind": entry.kind.value,
                "available_delta": entry.available_delta.minor,
                "locked_delta": entry.locked_delta.minor,
                "available_after": entry.available_after.minor,
                "locked_after": entry.locked_after.minor,
                "actor_id": entry.actor_id,
                "at": entry.at,
                "reason": entry.reason,
                "ref_type": entry.ref_type,
                "ref_id": entry.ref_id,
            },
        )

    def for_account(self, account_id: str) -> Sequence[LedgerEntry]:
        e = ledger_entries.c
        rows = self._conn().execute(sa.select(ledger_entries).where(e.account_id == account_id).order_by(e.seq))
        return [self._load(r) for r in rows]

    def all(self, *, after: int = 0, limit: int = 10_000) -> Sequence[LedgerEntry]:
        e = ledger_entries.c
        rows = self._conn().execute(sa.select(ledger_entries).where(e.seq > after).order_by(e.seq).limit(limit))
        return [self._load(r) for r in rows]

    def has_entries(self, customer_id: str) -> bool:
        e = ledger_entries.c
        return bool(self._conn().execute(sa.select(sa.exists().where(e.customer_id == customer_id))).scalar())

    def erase_reasons(self, customer_id: str, values: Collection[str], text: str) -> int:
        if not values:
            return 0
        e = ledger_entries.c
        where = (e.customer_id == customer_id, e.reason.in_(sorted(values)))
        return int(self._conn().execute(sa.update(ledger_entries).where(*where).values(reason=text)).rowcount)


class SqlIdempotency(_Repo):
    """Idempotency keys: the claim is an insert that waits on a concurrent claim of the same key."""

    def claim(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        conn = self._conn()
        values = {
            "key": record.key,
            "command": record.command,
            "fingerprint": record.fingerprint,
            "created_at": record.created_at,
        }
        name = conn.dialect.name
        if name in ("postgresql", "sqlite"):
            claim = _CLAIMS.get(name)
            if claim is None:
                insert = (postgresql.insert if name == "postgresql" else sqlite.insert)(idempotency_keys)
                claim = insert.on_conflict_do_nothing(index_elements=["key"]).returning(idempotency_keys.c.key)
                _CLAIMS[name] = claim
            claimed = conn.execute(claim, values).first()  # outcome stays NULL until finish()
            if claimed is not None:
                return None
        else:
            try:
                with _savepoint(conn):
                    conn.execute(sa.insert(idempotency_keys).values(**values))
                return None
            except sa.exc.IntegrityError as error:
                if not _is_unique_violation(conn, error):
                    raise
        row = conn.execute(sa.select(idempotency_keys).where(idempotency_keys.c.key == record.key)).one()
        outcome = converter.structure(row.outcome, Outcome) if row.outcome is not None else None
        return IdempotencyRecord(
            key=row.key, command=row.command, fingerprint=row.fingerprint, created_at=row.created_at, outcome=outcome
        )

    def finish(self, key: str, outcome: Outcome) -> None:
        self._conn().execute(_FINISH, {"b_key": key, "outcome": converter.unstructure(outcome)})

    def erase_text(self, customer_id: str, values: Collection[str], text: str) -> int:
        # Outcomes carry no customer column: an erasure (rare) scans for the id in their text.
        k = idempotency_keys.c
        conn = self._conn()
        query = sa.select(k.key, k.outcome).where(
            k.outcome.is_not(None), sa.cast(k.outcome, sa.Text).contains(customer_id)
        )
        count = 0
        for key, outcome in conn.execute(query).all():
            scrubbed = erase_free_text(outcome, values, text)
            if scrubbed != outcome:
                conn.execute(sa.update(idempotency_keys).where(k.key == key).values(outcome=scrubbed))
                count += 1
        return count


class SqlApprovals(_Repo):
    """Approval requests as JSON documents with the columns they are found by."""

    @staticmethod
    def _row(request: ApprovalRequest) -> dict[str, Any]:
        return {
            "id": request.id,
            "command": request.command,
            "status": request.status.value,
            "subject_type": request.subject_type,
            "subject_id": request.subject_id,
            "customer_id": request.customer_id,
            "requested_at": request.requested_at,
            "version": request.version,
            "doc": converter.unstructure(request),
        }

    def add(self, request: ApprovalRequest) -> None:
        self._conn().execute(sa.insert(approval_requests).values(**self._row(request)))

    def get(self, request_id: str) -> ApprovalRequest | None:
        doc = (
            self._conn()
            .execute(sa.select(approval_requests.c.doc).where(approval_requests.c.id == request_id))
            .scalar()
        )
        return converter.structure(doc, ApprovalRequest) if doc is not None else None

    def update(self, request: ApprovalRequest, expected_version: int) -> None:
        a = approval_requests.c
        result = self._conn().execute(
            sa.update(approval_requests)
            .where(a.id == request.id, a.version == expected_version)
            .values(**self._row(request))
        )
        if result.rowcount != 1:
            raise ConcurrencyError("approval request was changed since it was read", field="version")

    def pending(self, *, command: str | None = None, limit: int = 100) -> Sequence[ApprovalRequest]:
        a = approval_requests.c
        query = sa.select(a.doc).where(a.status == ApprovalStatus.PENDING.value)
        if command is not None:
            query = query.where(a.command == command)
        docs = self._conn().execute(query.order_by(a.requested_at, a.id).limit(limit)).scalars()
        return [converter.structure(doc, ApprovalRequest) for doc in docs]

    def erase_text(self, customer_id: str, values: Collection[str], text: str) -> int:
        a = approval_requests.c
        conn = self._conn()
        count = 0
        for request_id, doc in conn.execute(sa.select(a.id, a.doc).where(a.customer_id == customer_id)).all():
            scrubbed = erase_free_text(doc, values, text)
            if scrubbed != doc:
                conn.execute(sa.update(approval_requests).where(a.id == request_id).values(doc=scrubbed))
                count += 1
        return count


class SqlConfig(_Repo):
    """Named JSON documents."""

    def get(self, name: str) -> Any:
        return self._conn().execute(sa.select(account_config.c.value).where(account_config.c.name == name)).scalar()

    def put(self, name: str, value: Any) -> None:
        _upsert(self._conn(), account_config, ["name"], {"name": name, "value": value}, ["value"])
