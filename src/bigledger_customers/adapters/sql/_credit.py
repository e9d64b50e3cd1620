"""Credit tables and the SQL credit repository (DESIGN.md sections 2 and 4; migration 0005_credit).

Money is integer minor units plus the currency code; CHECK constraints keep open amounts between
zero and the item's amount and holds positive. Holds are serialised per customer (or group) by
locking the credit profile row (``SELECT ... FOR UPDATE`` on PostgreSQL and MariaDB; SQLite's
``BEGIN IMMEDIATE`` already serialises writers).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, Final

import attrs
import sqlalchemy as sa

from bigledger_customers.adapters.sql import _tables as t
from bigledger_customers.adapters.sql._types import UtcDateTime, json_type, key_string
from bigledger_customers.domain.convert import structure, unstructure
from bigledger_customers.domain.credit import (
    CreditHold,
    CreditPolicy,
    CreditProfile,
    DocumentKind,
    HoldState,
    ItemKind,
    OpenItem,
    ReceivableRecord,
)
from bigledger_customers.domain.terms import PaymentTerms
from bigledger_customers.domain.validation import code_key
from bigledger_customers.errors import ConcurrencyError, Conflict
from bigledger_customers.money import Money

__all__ = ["SqlCredit", "credit_documents", "credit_holds", "credit_items", "credit_profiles", "payment_terms"]

ID: Final = 64
NUMBER: Final = 100

credit_profiles = sa.Table(
    "credit_profiles",
    t.metadata,
    sa.Column("customer_id", key_string(ID), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("limit_minor", sa.BigInteger(), nullable=True),
    sa.Column("terms", sa.String(50), nullable=True),
    sa.Column("rating", sa.String(50), nullable=True),
    sa.Column("last_review", sa.Date(), nullable=True),
    sa.Column("review_months", sa.Integer(), nullable=True),
    sa.Column("policy", sa.String(10), nullable=False),
    sa.Column("tolerance_minor", sa.BigInteger(), nullable=True),
    sa.Column("max_overdue_days", sa.Integer(), nullable=False),
    sa.Column("group_limit", sa.Boolean(create_constraint=False), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=True),
    sa.PrimaryKeyConstraint("customer_id", "currency"),
    sa.CheckConstraint("limit_minor IS NULL OR limit_minor >= 0", name="limit_not_negative"),
    sa.CheckConstraint("tolerance_minor IS NULL OR tolerance_minor >= 0", name="tolerance_not_negative"),
    sa.CheckConstraint("max_overdue_days >= 0", name="overdue_days_not_negative"),
    sa.CheckConstraint("version >= 1", name="version_positive"),
)

payment_terms = sa.Table(
    "payment_terms",
    t.metadata,
    sa.Column("code_key", key_string(50), primary_key=True),
    sa.Column("code", sa.String(50), nullable=False),
    sa.Column("doc", json_type(), nullable=False),
)

credit_documents = sa.Table(
    "credit_documents",
    t.metadata,
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("number_key", key_string(NUMBER), nullable=False),
    sa.Column("number", sa.String(NUMBER), nullable=False),
    sa.Column("customer_id", key_string(ID), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("result", json_type(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint("kind", "number_key"),
    sa.Index(None, "customer_id"),
)

credit_items = sa.Table(
    "credit_items",
    t.metadata,
    sa.Column("id", key_string(ID), primary_key=True),
    sa.Column("customer_id", key_string(ID), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("document", sa.String(NUMBER), nullable=False),
    sa.Column("document_kind", sa.String(20), nullable=False),
    sa.Column("line", sa.Integer(), nullable=False),
    sa.Column("issued", sa.Date(), nullable=False),
    sa.Column("due", sa.Date(), nullable=False),
    sa.Column("amount_minor", sa.BigInteger(), nullable=False),
    sa.Column("open_minor", sa.BigInteger(), nullable=False),
    sa.Column("closed_on", sa.Date(), nullable=True),
    sa.CheckConstraint("amount_minor > 0", name="amount_positive"),
    sa.CheckConstraint("open_minor >= 0 AND open_minor <= amount_minor", name="open_within_amount"),
    sa.Index(None, "customer_id", "currency", "open_minor"),
    sa.Index(None, "issued"),
)

credit_holds = sa.Table(
    "credit_holds",
    t.metadata,
    sa.Column("id", key_string(ID), primary_key=True),
    sa.Column("customer_id", key_string(ID), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("amount_minor", sa.BigInteger(), nullable=False),
    sa.Column("reference", sa.String(200), nullable=False),
    sa.Column("state", sa.String(10), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
    sa.Column("settled_minor", sa.BigInteger(), nullable=True),
    sa.Column("closed_at", UtcDateTime(), nullable=True),
    sa.CheckConstraint("amount_minor > 0", name="amount_positive"),
    sa.CheckConstraint(
        "settled_minor IS NULL OR (settled_minor >= 0 AND settled_minor <= amount_minor)", name="settled_within_amount"
    ),
    sa.Index(None, "customer_id", "state"),
)

# Customers with receivables or credit holds are voided, never deleted (DESIGN.md section 3).
t.FINANCIAL_HISTORY.extend([(credit_items, "customer_id"), (credit_holds, "customer_id")])


def _money(minor: int | None, currency: str) -> Money | None:
    return None if minor is None else Money.from_minor(int(minor), currency)


def _minor(amount: Money | None) -> int | None:
    return None if amount is None else amount.minor


def _profile(row: Any) -> CreditProfile:
    return CreditProfile(
        customer_id=row.customer_id,
        currency=row.currency,
        limit=_money(row.limit_minor, row.currency),
        terms=row.terms,
        rating=row.rating,
        last_review=row.last_review,
        review_months=row.review_months,
        policy=CreditPolicy(row.policy),
        tolerance=_money(row.tolerance_minor, row.currency),
        max_overdue_days=row.max_overdue_days,
        group=bool(row.group_limit),
        version=row.version,
        updated_at=row.updated_at,
    )


def _item(row: Any) -> OpenItem:
    return OpenItem(
        id=row.id,
        customer_id=row.customer_id,
        kind=ItemKind(row.kind),
        document=row.document,
        document_kind=DocumentKind(row.document_kind),
        line=row.line,
        issued=row.issued,
        due=row.due,
        amount=Money.from_minor(int(row.amount_minor), row.currency),
        open=Money.from_minor(int(row.open_minor), row.currency),
        closed_on=row.closed_on,
    )


def _hold(row: Any) -> CreditHold:
    return CreditHold(
        id=row.id,
        customer_id=row.customer_id,
        amount=Money.from_minor(int(row.amount_minor), row.currency),
        reference=row.reference,
        state=HoldState(row.state),
        created_at=row.created_at,
        expires_at=row.expires_at,
        settled=_money(row.settled_minor, row.currency),
        closed_at=row.closed_at,
    )


class SqlCredit:
    """:class:`~bigledger_customers.ports.CreditRepository` on SQLAlchemy Core."""

    def __init__(self, connection: Callable[[], sa.Connection]) -> None:
        self._conn = connection

    # -- profiles --------------------------------------------------------------------------------

    def _select_profile(self, customer_id: str, currency: str) -> sa.Select[Any]:
        c = credit_profiles.c
        return sa.select(credit_profiles).where(c.customer_id == customer_id, c.currency == currency)

    def get_profile(self, customer_id: str, currency: str) -> CreditProfile | None:
        row = self._conn().execute(self._select_profile(customer_id, currency)).first()
        return None if row is None else _profile(row)

    def lock_profile(self, customer_id: str, currency: str) -> CreditProfile | None:
        conn = self._conn()
        stmt = self._select_profile(customer_id, currency)
        if conn.dialect.name != "sqlite":
            stmt = stmt.with_for_update()
        row = conn.execute(stmt).first()
        return None if row is None else _profile(row)

    def profiles(self, customer_id: str) -> Sequence[CreditProfile]:
        rows = self._conn().execute(
            sa.select(credit_profiles)
            .where(credit_profiles.c.customer_id == customer_id)
            .order_by(credit_profiles.c.currency)
        )
        return [_profile(r) for r in rows]

    def save_profile(self, profile: CreditProfile, expected_version: int) -> None:
        if profile.version != expected_version + 1:
            raise ConcurrencyError("credit profile version must advance by one", field="version")
        values = {
            "limit_minor": _minor(profile.limit),
            "terms": profile.terms,
            "rating": profile.rating,
            "last_review": profile.last_review,
            "review_months": profile.review_months,
            "policy": profile.policy.value,
            "tolerance_minor": _minor(profile.tolerance),
            "max_overdue_days": profile.max_overdue_days,
            "group_limit": profile.group,
            "version": profile.version,
            "updated_at": profile.updated_at,
        }
        conn = self._conn()
        if expected_version == 0:
            try:
                with conn.begin_nested():
                    conn.execute(
                        sa.insert(credit_profiles).values(
                            customer_id=profile.customer_id, currency=profile.currency, **values
                        )
                    )
            except sa.exc.IntegrityError:
                raise ConcurrencyError("credit profile was created meanwhile", field="version") from None
            return
        c = credit_profiles.c
        done = conn.execute(
            sa.update(credit_profiles)
            .where(c.customer_id == profile.customer_id, c.currency == profile.currency, c.version == expected_version)
            .values(**values)
        )
        if done.rowcount != 1:
            raise ConcurrencyError("credit profile was changed since it was read", field="version")

    # -- terms -----------------------------------------------------------------------------------

    def get_terms(self, code: str) -> PaymentTerms | None:
        doc = self._conn().execute(sa.select(payment_terms.c.doc).where(payment_terms.c.code_key == code_key(code)))
        found = doc.scalar()
        return None if found is None else structure(found, PaymentTerms)

    def save_terms(self, terms: PaymentTerms) -> None:
        conn = self._conn()
        key = code_key(terms.code)
        conn.execute(sa.delete(payment_terms).where(payment_terms.c.code_key == key))
        conn.execute(sa.insert(payment_terms).values(code_key=key, code=terms.code, doc=unstructure(terms)))

    def list_terms(self) -> Sequence[PaymentTerms]:
        rows = self._conn().execute(sa.select(payment_terms.c.doc).order_by(payment_terms.c.code_key)).scalars()
        return [structure(doc, PaymentTerms) for doc in rows]

    # -- receivables -----------------------------------------------------------------------------

    def get_document(self, kind: DocumentKind, number: str) -> ReceivableRecord | None:
        c = credit_documents.c
        row = (
            self._conn()
            .execute(sa.select(credit_documents).where(c.kind == kind.value, c.number_key == code_key(number)))
            .first()
        )
        if row is None:
            return None
        return ReceivableRecord(
            kind=DocumentKind(row.kind),
            number=row.number,
            customer_id=row.customer_id,
            fingerprint=row.fingerprint,
            result=dict(row.result),
            created_at=row.created_at,
        )

    def add_document(self, record: ReceivableRecord) -> None:
        conn = self._conn()
        try:
            with conn.begin_nested():
                conn.execute(
                    sa.insert(credit_documents).values(
                        kind=record.kind.value,
                        number_key=code_key(record.number),
                        number=record.number,
                        customer_id=record.customer_id,
                        fingerprint=record.fingerprint,
                        result=dict(record.result),
                        created_at=record.created_at,
                    )
                )
        except sa.exc.IntegrityError:
            raise Conflict(
                f"{record.kind} {record.number!r} exists", code="duplicate_document", field="number"
            ) from None

    def add_item(self, item: OpenItem) -> None:
        self._conn().execute(
            sa.insert(credit_items).values(
                id=item.id,
                customer_id=item.customer_id,
                currency=item.currency,
                kind=item.kind.value,
                document=item.document,
                document_kind=item.document_kind.value,
                line=item.line,
                issued=item.issued,
                due=item.due,
                amount_minor=item.amount.minor,
                open_minor=item.open.minor,
                closed_on=item.closed_on,
            )
        )

    def set_open(self, item: OpenItem, open_after: OpenItem) -> None:
        c = credit_items.c
        done = self._conn().execute(
            sa.update(credit_items)
            .where(c.id == item.id, c.open_minor == item.open.minor)
            .values(open_minor=open_after.open.minor, closed_on=open_after.closed_on)
        )
        if done.rowcount != 1:
            raise ConcurrencyError("open item changed since it was read", field="open")

    def items(
        self, customer_ids: Sequence[str], *, currency: str | None = None, open_only: bool = True
    ) -> Sequence[OpenItem]:
        if not customer_ids:
            return []
        c = credit_items.c
        stmt = sa.select(credit_items).where(c.customer_id.in_(list(customer_ids)))
        if currency is not None:
            stmt = stmt.where(c.currency == currency)
        if open_only:
            stmt = stmt.where(c.open_minor > 0)
        rows = self._conn().execute(stmt.order_by(c.customer_id, c.due, c.issued, c.document, c.line, c.id))
        return [_item(r) for r in rows]

    def all_open_items(self, currency: str | None = None) -> Sequence[OpenItem]:
        c = credit_items.c
        stmt = sa.select(credit_items).where(c.open_minor > 0)
        if currency is not None:
            stmt = stmt.where(c.currency == currency)
        rows = self._conn().execute(stmt.order_by(c.customer_id, c.due, c.issued, c.document, c.line, c.id))
        return [_item(r) for r in rows]

    def reassign_open(self, customer_from: str, customer_to: str) -> Sequence[OpenItem]:
        c = credit_items.c
        stmt = sa.select(credit_items).where(c.customer_id == customer_from, c.open_minor > 0)
        conn = self._conn()
        if conn.dialect.name != "sqlite":
            stmt = stmt.with_for_update()
        items = [_item(r) for r in conn.execute(stmt.order_by(c.due, c.issued, c.document, c.line, c.id))]
        self.reassign_items([i.id for i in items], customer_from, customer_to)
        return [attrs.evolve(i, customer_id=customer_to) for i in items]

    def reassign_items(self, item_ids: Sequence[str], customer_from: str, customer_to: str) -> int:
        if not item_ids:
            return 0
        c = credit_items.c
        done = self._conn().execute(
            sa.update(credit_items)
            .where(c.id.in_(list(item_ids)), c.customer_id == customer_from)
            .values(customer_id=customer_to)
        )
        return int(done.rowcount)

    def open_total(self, customer_ids: Sequence[str], currency: str) -> Money:
        if not customer_ids:
            return Money.zero(currency)
        c = credit_items.c
        signed = sa.case((c.kind == ItemKind.INVOICE.value, c.open_minor), else_=-c.open_minor)
        total = (
            self._conn()
            .execute(
                sa.select(sa.func.coalesce(sa.func.sum(signed), 0)).where(
                    c.customer_id.in_(list(customer_ids)), c.currency == currency, c.open_minor > 0
                )
            )
            .scalar_one()
        )
        return Money.from_minor(int(total), currency)

    def invoiced(self, customer_ids: Sequence[str] | None, currency: str, start: dt.date, end: dt.date) -> Money:
        c = credit_items.c
        stmt = sa.select(sa.func.coalesce(sa.func.sum(c.amount_minor), 0)).where(
            c.kind == ItemKind.INVOICE.value, c.currency == currency, c.issued >= start, c.issued <= end
        )
        if customer_ids is not None:
            stmt = stmt.where(c.customer_id.in_(list(customer_ids)))
        return Money.from_minor(int(self._conn().execute(stmt).scalar_one()), currency)

    # -- holds -----------------------------------------------------------------------------------

    def add_hold(self, hold: CreditHold) -> None:
        self._conn().execute(
            sa.insert(credit_holds).values(
                id=hold.id,
                customer_id=hold.customer_id,
                currency=hold.amount.currency,
                amount_minor=hold.amount.minor,
                reference=hold.reference,
                state=hold.state.value,
                created_at=hold.created_at,
                expires_at=hold.expires_at,
                settled_minor=_minor(hold.settled),
                closed_at=hold.closed_at,
            )
        )

    def get_hold(self, hold_id: str) -> CreditHold | None:
        row = self._conn().execute(sa.select(credit_holds).where(credit_holds.c.id == hold_id)).first()
        return None if row is None else _hold(row)

    def close_hold(self, hold: CreditHold) -> None:
        c = credit_holds.c
        done = self._conn().execute(
            sa.update(credit_holds)
            .where(c.id == hold.id, c.state == HoldState.OPEN.value)
            .values(state=hold.state.value, settled_minor=_minor(hold.settled), closed_at=hold.closed_at)
        )
        if done.rowcount != 1:
            raise ConcurrencyError("credit hold is no longer open", field="hold")

    def held_total(self, customer_ids: Sequence[str], currency: str, now: dt.datetime) -> Money:
        if not customer_ids:
            return Money.zero(currency)
        c = credit_holds.c
        total = (
            self._conn()
            .execute(
                sa.select(sa.func.coalesce(sa.func.sum(c.amount_minor), 0)).where(
                    c.customer_id.in_(list(customer_ids)),
                    c.state == HoldState.OPEN.value,
                    c.currency == currency,
                    c.expires_at > now,
                )
            )
            .scalar_one()
        )
        return Money.from_minor(int(total), currency)

    def held_totals(self, customer_ids: Sequence[str], now: dt.datetime) -> dict[str, Money]:
        if not customer_ids:
            return {}
        c = credit_holds.c
        rows = self._conn().execute(
            sa.select(c.currency, sa.func.sum(c.amount_minor))
            .where(
                c.customer_id.in_(list(customer_ids)),
                c.state == HoldState.OPEN.value,
                c.expires_at > now,
            )
            .group_by(c.currency)
            .order_by(c.currency)
        )
        return {str(cur): Money.from_minor(int(minor), str(cur)) for cur, minor in rows}

    def has_history(self, customer_id: str) -> bool:
        probes = [sa.exists().where(table.c.customer_id == customer_id) for table in (credit_items, credit_holds)]
        return bool(self._conn().execute(sa.select(sa.or_(*probes))).scalar())
