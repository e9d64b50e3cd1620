"""In-memory governance storage: merge records, consents, and the edits merges and erasures make.

The tables live in :class:`GovernanceTables` on the :class:`~bigledger_customers.adapters.memory.MemoryStore`;
every write goes through the unit of work's journal so a rollback undoes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from bigledger_customers.domain.merge import MergeRecord
from bigledger_customers.domain.privacy import Consent
from bigledger_customers.domain.records import AuditEntry

__all__ = ["GovernanceTables", "MemoryGovernance"]


class GovernanceTables:
    """The governance state of one in-memory book."""

    def __init__(self) -> None:
        self.merges: dict[str, MergeRecord] = {}
        self.consents: dict[str, list[Consent]] = {}


class MemoryGovernance:
    """:class:`~bigledger_customers.ports.GovernanceRepository` on a memory store (``store`` and ``journal``
    are the unit of work's)."""

    def __init__(self, store: Any, journal: Any) -> None:
        self._s = store
        self._t: GovernanceTables = store.governance_tables
        self._j = journal

    def add_merge(self, record: MergeRecord) -> None:
        self._j.put(self._t.merges, record.id, record)

    def get_merge(self, merge_id: str) -> MergeRecord | None:
        return self._t.merges.get(merge_id)

    def update_merge(self, record: MergeRecord) -> None:
        self._j.put(self._t.merges, record.id, record)

    def merges_for(self, customer_id: str) -> Sequence[MergeRecord]:
        found = [m for m in self._t.merges.values() if customer_id in (m.survivor_id, m.duplicate_id)]
        return sorted(found, key=lambda m: (m.merged_at, m.id))

    def interaction_ids(self, customer_id: str) -> Sequence[str]:
        return sorted(i.id for i in self._s.interactions.get(customer_id, ()))

    def move_interactions(self, ids: Sequence[str], to_customer_id: str) -> None:
        wanted = set(ids)
        moving: list[Any] = []
        for customer_id, items in list(self._s.interactions.items()):
            if customer_id == to_customer_id or not any(i.id in wanted for i in items):
                continue
            moving.extend(i for i in items if i.id in wanted)
            self._j.put(self._s.interactions, customer_id, [i for i in items if i.id not in wanted])
        target = list(self._s.interactions.get(to_customer_id, ()))
        target.extend(attrs.evolve(i, customer_id=to_customer_id) for i in moving)
        self._j.put(self._s.interactions, to_customer_id, target)

    def erase_interactions(self, customer_id: str, *, contact_id: str | None, text: str) -> int:
        items = self._s.interactions.get(customer_id, [])
        hit = [i for i in items if contact_id is None or i.contact_id == contact_id]
        if hit:
            self._j.put(
                self._s.interactions,
                customer_id,
                [attrs.evolve(i, summary=text) if i in hit else i for i in items],
            )
        return len(hit)

    def rewrite_audit(self, entry: AuditEntry, changes: Mapping[str, Any]) -> None:
        key = (entry.entity_type, entry.entity_id)
        entries = self._s.audit.get(key, [])
        self._j.put(
            self._s.audit, key, [attrs.evolve(e, changes=dict(changes)) if e.id == entry.id else e for e in entries]
        )

    def add_consent(self, consent: Consent) -> None:
        self._j.append(self._t.consents.setdefault(consent.customer_id, []), consent)

    def consents(self, customer_id: str) -> Sequence[Consent]:
        return list(self._t.consents.get(customer_id, ()))

    def erase_consent_evidence(self, customer_id: str, *, contact_id: str | None, text: str) -> int:
        items = self._t.consents.get(customer_id, [])
        hit = [c for c in items if c.evidence and (contact_id is None or c.contact_id == contact_id)]
        if hit:
            self._j.put(
                self._t.consents, customer_id, [attrs.evolve(c, evidence=text) if c in hit else c for c in items]
            )
        return len(hit)
