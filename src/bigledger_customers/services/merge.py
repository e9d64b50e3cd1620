"""Merge and unmerge (``book.duplicates.merge`` / ``unmerge``): one unit of work each.

The rules are in :mod:`bigledger_customers.domain.merge`. Other modules take part through
:class:`MergeHook`: the accounts module moves balances, rebate grants and open items to the
survivor in the same transaction, says whether anything was posted since, and moves them back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import attrs

from bigledger_customers.domain import customer as rules
from bigledger_customers.domain.access import Permission
from bigledger_customers.domain.customer import Customer
from bigledger_customers.domain.merge import MergeRecord, MergeStatus, check_mergeable, check_unmerge, merge_customers
from bigledger_customers.domain.records import Actor
from bigledger_customers.errors import ConcurrencyError, NotFound, ValidationError
from bigledger_customers.ports import UnitOfWork
from bigledger_customers.services._base import Services, load_customer

__all__ = ["MergeHook", "merge", "merges_of", "unmerge"]


class MergeHook(Protocol):
    """Another module's part in a merge, run inside the merge's unit of work.

    ``merge`` moves what the module keeps for the duplicate to the survivor and returns what it
    needs to undo that (stored in :attr:`MergeRecord.extensions` under ``name``). ``check_unmerge``
    raises :class:`~bigledger_customers.NotAllowed` when something was posted to the survivor since;
    ``unmerge`` moves everything back.
    """

    name: str

    def merge(self, uow: UnitOfWork, survivor: Customer, duplicate: Customer) -> Any: ...

    def check_unmerge(self, uow: UnitOfWork, record: MergeRecord, data: Any) -> None: ...

    def unmerge(self, uow: UnitOfWork, record: MergeRecord, data: Any) -> None: ...


def _expect(customer: Customer, version: int | None, role: str) -> None:
    if version is not None and version != customer.version:
        raise ConcurrencyError(
            f"the {role} {customer.code} is at version {customer.version}, not {version}",
            field=f"{role}_version",
            value=version,
        )


def _check_references(uow: UnitOfWork, customer: Customer, choices: Mapping[str, Any]) -> Customer:
    """Chosen reference fields must name existing entries (stored in their canonical spelling)."""
    for field, kind in rules.REFERENCE_FIELDS.items():
        value = getattr(customer, field)
        if field in choices and value is not None:
            entry = uow.reference.get(kind, value)
            if entry is None:
                raise ValidationError(f"no {kind} {value!r}", code=f"unknown_{kind}", field=field, value=value)
            canonical: dict[str, Any] = {field: entry.code}
            customer = attrs.evolve(customer, **canonical)
    return customer


def merge(
    services: Services,
    hooks: Sequence[MergeHook],
    survivor: str,
    duplicate: str,
    *,
    choices: Mapping[str, Any] | None,
    survivor_version: int | None,
    duplicate_version: int | None,
    actor: Actor | None,
) -> MergeRecord:
    """Merge ``duplicate`` into ``survivor`` (see :meth:`DuplicateService.merge`)."""
    who = services.authorize(actor, Permission.CUSTOMER_MERGE, survivor)
    services.authorize(who, Permission.CUSTOMER_MERGE, duplicate)
    choices = dict(choices or {})
    with services.uow() as uow:
        s = load_customer(uow, survivor, follow_merge=False)
        d = load_customer(uow, duplicate, follow_merge=False)
        _expect(s, survivor_version, "survivor")
        _expect(d, duplicate_version, "duplicate")
        check_mergeable(s, d, uow.customers.children(d.id))
        merged, gone = merge_customers(s, d, choices)
        merged = _check_references(uow, merged, choices)
        merged = rules.check(merged, definitions=uow.reference.field_definitions())
        now = services.clock.now()
        merged = attrs.evolve(merged, version=s.version + 1, updated_at=now)
        gone = attrs.evolve(gone, version=d.version + 1, updated_at=now)
        # Both writes are conditional on the versions read above: an edit committed meanwhile by
        # someone else makes them raise ConcurrencyError and nothing is written.
        uow.customers.update(merged, s.version)
        uow.customers.update(gone, d.version)
        survivor_interactions = tuple(uow.governance.interaction_ids(s.id))
        moved = tuple(uow.governance.interaction_ids(d.id))
        uow.governance.move_interactions(moved, s.id)
        extensions = {hook.name: hook.merge(uow, merged, gone) for hook in hooks}
        record = MergeRecord(
            id=services.new_id(),
            survivor_id=s.id,
            duplicate_id=d.id,
            merged_at=now,
            merged_by=who.id,
            choices=choices,
            survivor_before=s,
            duplicate_before=d,
            survivor_version=merged.version,
            duplicate_version=gone.version,
            survivor_interactions=survivor_interactions,
            moved_interactions=moved,
            extensions=extensions,
        )
        uow.governance.add_merge(record)
        _audit(services, uow, who, "customer.merge", s, merged, record, moved)
        _audit(services, uow, who, "customer.merge", d, gone, record, moved)
        _event(services, uow, "customer.merged", record, s, d)
        uow.commit()
    return record


def unmerge(services: Services, hooks: Sequence[MergeHook], merge_id: str, *, actor: Actor | None) -> MergeRecord:
    """Undo a merge while nothing new happened to either customer (see :meth:`DuplicateService.unmerge`)."""
    who = services.authorize(actor, Permission.CUSTOMER_MERGE)
    with services.uow() as uow:
        record = uow.governance.get_merge(merge_id)
        if record is None:
            raise NotFound(f"no merge {merge_id!r}", code="merge_not_found", field="merge", value=merge_id)
        s = uow.customers.get(record.survivor_id)
        d = uow.customers.get(record.duplicate_id)
        if s is None or d is None:
            raise NotFound("a customer of this merge no longer exists", code="customer_not_found", field="merge")
        check_unmerge(record, s, d, uow.governance.interaction_ids(s.id))
        for hook in hooks:
            hook.check_unmerge(uow, record, record.extensions.get(hook.name))
        now = services.clock.now()
        # Every field as it was, except the version (it only moves forward, so a stale copy held
        # by someone cannot be saved over the restored one) and updated_at (now).
        restored_s = attrs.evolve(record.survivor_before, version=s.version + 1, updated_at=now)
        restored_d = attrs.evolve(record.duplicate_before, version=d.version + 1, updated_at=now)
        uow.customers.update(restored_s, s.version)
        uow.customers.update(restored_d, d.version)
        uow.governance.move_interactions(record.moved_interactions, d.id)
        for hook in reversed(hooks):
            hook.unmerge(uow, record, record.extensions.get(hook.name))
        record = attrs.evolve(record, status=MergeStatus.UNMERGED, unmerged_at=now, unmerged_by=who.id)
        uow.governance.update_merge(record)
        _audit(services, uow, who, "customer.unmerge", s, restored_s, record, record.moved_interactions)
        _audit(services, uow, who, "customer.unmerge", d, restored_d, record, record.moved_interactions)
        _event(services, uow, "customer.unmerged", record, s, d)
        uow.commit()
    return record


def merges_of(services: Services, ref: str) -> list[MergeRecord]:
    """Merge records naming the customer as survivor or duplicate, oldest first."""
    with services.uow(write=False) as uow:
        customer = load_customer(uow, ref, follow_merge=False)
        return list(uow.governance.merges_for(customer.id))


def _audit(
    services: Services,
    uow: UnitOfWork,
    actor: Actor,
    action: str,
    before: Customer,
    after: Customer,
    record: MergeRecord,
    moved: Sequence[str],
) -> None:
    changes: dict[str, Any] = rules.diff(before, after)
    changes["merge"] = [None, {"id": record.id, "survivor": record.survivor_id, "duplicate": record.duplicate_id}]
    if moved:
        changes["interactions_moved"] = [None, len(moved)]
    services.record(uow, actor=actor, action=action, entity_type="customer", entity_id=after.id, changes=changes)


def _event(
    services: Services, uow: UnitOfWork, event: str, record: MergeRecord, survivor: Customer, duplicate: Customer
) -> None:
    uow.events.append(
        id=services.new_id(),
        type=event,
        aggregate_type="customer",
        aggregate_id=survivor.id,
        occurred_at=services.clock.now(),
        payload={
            "merge_id": record.id,
            "survivor_id": survivor.id,
            "survivor_code": survivor.code,
            "duplicate_id": duplicate.id,
            "duplicate_code": duplicate.code,
        },
    )
