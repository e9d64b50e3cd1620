"""Governance storage on SQL: merge records, consent records, and the edits merges and erasures make.

Tables are created by migration ``0004_governance``; the duplicate-check keys
(``customer_match_keys``) belong to the customer repository and live in ``_tables``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import sqlalchemy as sa

from bigledger_customers.adapters.sql import _tables as t
from bigledger_customers.adapters.sql._repositories import ConnectionSource, _field_definitions, _typed
from bigledger_customers.adapters.sql._types import UtcDateTime, json_type, key_string
from bigledger_customers.domain.convert import structure, unstructure
from bigledger_customers.domain.customer import Customer
from bigledger_customers.domain.merge import MergeRecord
from bigledger_customers.domain.privacy import Consent
from bigledger_customers.domain.records import AuditEntry

__all__ = ["SqlGovernance", "consents", "customer_merges"]

_BIGSERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

customer_merges = sa.Table(
    "customer_merges",
    t.metadata,
    sa.Column("id", key_string(t.ID_LENGTH), primary_key=True),
    sa.Column("survivor_id", key_string(t.ID_LENGTH), nullable=False),
    sa.Column("duplicate_id", key_string(t.ID_LENGTH), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("merged_at", UtcDateTime(), nullable=False),
    #: The whole MergeRecord, snapshots included.
    sa.Column("doc", json_type(), nullable=False),
    sa.Index(None, "survivor_id"),
    sa.Index(None, "duplicate_id"),
)

consents = sa.Table(
    "consents",
    t.metadata,
    sa.Column("position", _BIGSERIAL, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(t.ID_LENGTH), nullable=False, unique=True),
    sa.Column("customer_id", key_string(t.ID_LENGTH), nullable=False),
    sa.Column("contact_id", sa.String(t.ID_LENGTH), nullable=True),
    sa.Column("purpose", sa.String(50), nullable=False),
    sa.Column("granted", sa.Boolean(create_constraint=False), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("method", sa.String(50), nullable=False),
    sa.Column("recorded_by", sa.String(100), nullable=False),
    sa.Column("evidence", sa.Text(), nullable=False),
    sa.Index(None, "customer_id", "position"),
    sqlite_autoincrement=True,
)


class SqlGovernance:
    """:class:`~bigledger_customers.ports.GovernanceRepository` on SQLAlchemy Core."""

    def __init__(self, connection: ConnectionSource) -> None:
        self._conn = connection

    # -- merges ------------------------------------------------------------------------------------

    def _retype(self, customer: Customer) -> Customer:
        """JSON has no dates or decimals: give custom values their types back (as the customer repository does)."""
        if not customer.custom_values:
            return customer
        definitions = _field_definitions(self._conn())
        values = {k: _typed(definitions.get(k), v) for k, v in customer.custom_values.items()}
        return attrs.evolve(customer, custom_values=values)

    def _load(self, doc: Any) -> MergeRecord:
        record = structure(doc, MergeRecord)
        return attrs.evolve(
            record,
            survivor_before=self._retype(record.survivor_before),
            duplicate_before=self._retype(record.duplicate_before),
        )

    def add_merge(self, record: MergeRecord) -> None:
        """Store a new merge record."""
        self._conn().execute(
            sa.insert(customer_merges).values(
                id=record.id,
                survivor_id=record.survivor_id,
                duplicate_id=record.duplicate_id,
                status=record.status.value,
                merged_at=record.merged_at,
                doc=unstructure(record),
            )
        )

    def get_merge(self, merge_id: str) -> MergeRecord | None:
        """The merge record, or None."""
        doc = self._conn().execute(sa.select(customer_merges.c.doc).where(customer_merges.c.id == merge_id)).scalar()
        return None if doc is None else self._load(doc)

    def update_merge(self, record: MergeRecord) -> None:
        """Replace a stored merge record."""
        self._conn().execute(
            sa.update(customer_merges)
            .where(customer_merges.c.id == record.id)
            .values(status=record.status.value, doc=unstructure(record))
        )

    def merges_for(self, customer_id: str) -> Sequence[MergeRecord]:
        """Merge records naming the customer, oldest first."""
        c = customer_merges.c
        rows = self._conn().execute(
            sa.select(c.doc)
            .where(sa.or_(c.survivor_id == customer_id, c.duplicate_id == customer_id))
            .order_by(c.merged_at, c.id)
        )
        return [self._load(doc) for doc in rows.scalars()]

    # -- interactions and audit --------------------------------------------------------------------

    def interaction_ids(self, customer_id: str) -> Sequence[str]:
        """Ids of every interaction of the customer, sorted."""
        rows = self._conn().execute(
            sa.select(t.interactions.c.id)
            .where(t.interactions.c.customer_id == customer_id)
            .order_by(t.interactions.c.id)
        )
        return list(rows.scalars())

    def move_interactions(self, ids: Sequence[str], to_customer_id: str) -> None:
        """Give the interactions with these ids to another customer."""
        for start in range(0, len(ids), 500):
            self._conn().execute(
                sa.update(t.interactions)
                .where(t.interactions.c.id.in_(list(ids[start : start + 500])))
                .values(customer_id=to_customer_id)
            )

    def erase_interactions(self, customer_id: str, *, contact_id: str | None, text: str) -> int:
        """Overwrite the summaries of the customer's (or one contact's) interactions."""
        stmt = sa.update(t.interactions).where(t.interactions.c.customer_id == customer_id)
        if contact_id is not None:
            stmt = stmt.where(t.interactions.c.contact_id == contact_id)
        return int(self._conn().execute(stmt.values(summary=text)).rowcount)

    def rewrite_audit(self, entry: AuditEntry, changes: Mapping[str, Any]) -> None:
        """Replace the changes of one audit entry."""
        self._conn().execute(
            sa.update(t.audit).where(t.audit.c.id == entry.id).values(changes=unstructure(dict(changes)))
        )

    # -- consents ----------------------------------------------------------------------------------

    def add_consent(self, consent: Consent) -> None:
        """Record consent given or withdrawn."""
        self._conn().execute(
            sa.insert(consents).values(
                id=consent.id,
                customer_id=consent.customer_id,
                contact_id=consent.contact_id,
                purpose=consent.purpose,
                granted=consent.granted,
                at=consent.at,
                method=consent.method,
                recorded_by=consent.recorded_by,
                evidence=consent.evidence,
            )
        )

    def consents(self, customer_id: str) -> Sequence[Consent]:
        """Consent records of the customer, oldest first."""
        rows = self._conn().execute(
            sa.select(consents).where(consents.c.customer_id == customer_id).order_by(consents.c.position)
        )
        return [
            Consent(
                id=row.id,
                customer_id=row.customer_id,
                contact_id=row.contact_id,
                purpose=row.purpose,
                granted=bool(row.granted),
                at=row.at,
                method=row.method,
                recorded_by=row.recorded_by,
                evidence=row.evidence,
            )
            for row in rows
        ]

    def erase_consent_evidence(self, customer_id: str, *, contact_id: str | None, text: str) -> int:
        """Overwrite the free-text evidence of the customer's (or one contact's) consent records."""
        stmt = sa.update(consents).where(consents.c.customer_id == customer_id, consents.c.evidence != "")
        if contact_id is not None:
            stmt = stmt.where(consents.c.contact_id == contact_id)
        return int(self._conn().execute(stmt.values(evidence=text)).rowcount)
