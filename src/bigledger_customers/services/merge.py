"""Merge and unmerge (``book.duplicates.merge`` / ``unmerge``): one unit of work each.

The rules are in :mod:`bigledger_customers.domain.merge`. Other modules take part through
:class:`MergeHook`: the accounts module moves balances and rebate grants, the credit module open
receivable items, to the survivor in the same transaction, says whether anything was posted since, and moves them back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import attrs

from bigledger_customers.domain import customer as rules
from bigledger_customers.domain.access import Permission
from bigledger_customers.domain.accounts import Account, BalanceKey, Bucket, EntryKind, Move, RecordStatus, entry_for
from bigledger_customers.domain.convert import converter
from bigledger_customers.domain.customer import Customer
from bigledger_customers.domain.merge import MergeRecord, MergeStatus, check_mergeable, check_unmerge, merge_customers
from bigledger_customers.domain.rebates import GrantStatus, RebateGrant
from bigledger_customers.domain.records import SYSTEM, Actor
from bigledger_customers.errors import ConcurrencyError, NotAllowed, NotFound, ValidationError
from bigledger_customers.money import Money
from bigledger_customers.ports import UnitOfWork
from bigledger_customers.services._base import Services, load_customer

__all__ = ["AccountsMergeHook", "CreditMergeHook", "MergeHook", "merge", "merges_of", "unmerge"]


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


def _transfer(amount: Money) -> Move:
    """A merge's ledger move: a positive amount arrives, a negative one leaves (available only)."""
    return Move(kind=EntryKind.TRANSFER, available=amount, locked=Money.zero(amount.currency))


@attrs.define
class AccountsMergeHook:
    """The accounts module's part in a merge (DESIGN.md section 3, Duplicates/Merge).

    The duplicate's available prepayment, per currency, and the remaining amount of each approved
    rebate grant move to the survivor by ledger entries on both accounts (``transfer`` out of the
    duplicate, ``transfer`` in to the survivor; a moved grant becomes a new survivor grant with the
    same validity and source). Balances are never edited directly. A duplicate with money on hold
    cannot be merged (``open_holds``: confirm or release first). Unmerge moves everything back while
    no ledger entry was written on the survivor's account since the merge.
    """

    services: Services
    name: str = "accounts"

    def _account(self, uow: UnitOfWork, customer: Customer) -> Account:
        from bigledger_customers.services.accounts import AccountService  # it imports this module's callers

        return AccountService(self.services)._account(uow, customer, self.services.clock.now())

    def _entry(self, uow: UnitOfWork, key: BalanceKey, customer_id: str, move: Move, after: Any, ref: str) -> None:
        uow.ledger.add(
            entry_for(
                move,
                after,
                id=self.services.new_id(),
                key=key,
                customer_id=customer_id,
                actor_id=SYSTEM.id,
                at=self.services.clock.now(),
                reason="merge",
                ref_type="merge",
                ref_id=ref,
            )
        )

    def _move_prepayment(self, uow: UnitOfWork, source: Account, target: Account, amount: Money) -> None:
        out = _transfer(-amount)
        self._entry(
            uow,
            BalanceKey(source.id, Bucket.PREPAYMENT, amount.currency),
            source.customer_id,
            out,
            uow.balances.move(source.id, out),
            target.customer_id,
        )
        into = _transfer(amount)
        self._entry(
            uow,
            BalanceKey(target.id, Bucket.PREPAYMENT, amount.currency),
            target.customer_id,
            into,
            uow.balances.move(target.id, into),
            source.customer_id,
        )

    def _empty_grant(self, uow: UnitOfWork, grant: RebateGrant, ref: str) -> RebateGrant:
        out = _transfer(-grant.remaining)
        after = uow.grants.move(grant.id, out)
        self._entry(
            uow,
            BalanceKey(grant.account_id, Bucket.REBATE, grant.currency, grant.id),
            grant.customer_id,
            out,
            after.balance,
            ref,
        )
        return after

    def merge(self, uow: UnitOfWork, survivor: Customer, duplicate: Customer) -> Any:
        """Move the duplicate's prepayment and approved grants to the survivor; returns what unmerge needs."""
        source = uow.accounts.lock(duplicate.id)
        if source is None:
            return None
        balances = uow.balances.for_account(source.id)
        grants = list(uow.grants.for_account(source.id))
        if any(b.locked for b in balances.values()) or any(g.reserved for g in grants):
            raise NotAllowed(
                f"customer {duplicate.code} has money on hold; confirm or release it first",
                code="open_holds",
                field="duplicate",
                value=duplicate.code,
            )
        pending = [g.id for g in grants if g.status is GrantStatus.PENDING]
        pending += [r.id for r in uow.account_records.incomes(source.id) if r.status is RecordStatus.PENDING]
        if pending:
            # An approver decides on a change to one customer's account; moving it to another
            # under their feet would change what they approve. Decide it first, then merge.
            raise NotAllowed(
                f"customer {duplicate.code} has {len(pending)} grant(s) or income(s) awaiting approval;"
                " approve or reject them first",
                code="pending_approvals",
                field="duplicate",
                value=duplicate.code,
            )
        target = self._account(uow, survivor)
        moved: dict[str, str] = {}
        for currency, balance in sorted(balances.items()):
            if balance.available:
                self._move_prepayment(uow, source, target, balance.available)
                moved[currency] = str(balance.available.amount)
        pairs: list[list[str]] = []
        now = self.services.clock.now()
        for grant in grants:
            if grant.status is not GrantStatus.APPROVED or not grant.remaining:
                continue
            copy = RebateGrant(
                id=self.services.new_id(),
                account_id=target.id,
                customer_id=survivor.id,
                amount=grant.remaining,
                remaining=grant.remaining,
                reserved=Money.zero(grant.currency),
                valid_from=grant.valid_from,
                valid_until=grant.valid_until,
                source=grant.source,
                status=GrantStatus.APPROVED,
                created_at=now,
                created_by=SYSTEM.id,
                refund_id=grant.refund_id,
                reason=f"merged from grant {grant.id}",
                approval_id=grant.approval_id,
            )
            self._empty_grant(uow, grant, copy.id)
            uow.grants.add(copy)
            into = _transfer(copy.amount)
            key = BalanceKey(target.id, Bucket.REBATE, copy.currency, copy.id)
            self._entry(uow, key, survivor.id, into, copy.balance, grant.id)
            pairs.append([grant.id, copy.id, converter.unstructure(grant.remaining)])
        return {
            "source": source.id,
            "target": target.id,
            "prepayment": moved,
            "grants": pairs,
            "survivor_entries": len(uow.ledger.for_account(target.id)),
        }

    def check_unmerge(self, uow: UnitOfWork, record: MergeRecord, data: Any) -> None:
        """Refused (``posted_since_merge``) once anything was written on the survivor's account."""
        if not data:
            return
        if len(uow.ledger.for_account(data["target"])) != data["survivor_entries"]:
            raise NotAllowed(
                "something was posted to the survivor's account since the merge",
                code="posted_since_merge",
                field="merge",
                value=record.id,
            )

    def unmerge(self, uow: UnitOfWork, record: MergeRecord, data: Any) -> None:
        """Move the prepayment and grants back to the duplicate."""
        if not data:
            return
        source = uow.accounts.lock(data["source"])
        target = uow.accounts.lock(data["target"])
        assert source is not None
        assert target is not None
        for currency, amount in sorted(data["prepayment"].items()):
            self._move_prepayment(uow, target, source, Money(amount, currency))
        for original_id, copy_id, _ in data["grants"]:
            copy = uow.grants.get(copy_id)
            original = uow.grants.get(original_id)
            assert copy is not None
            assert original is not None
            self._empty_grant(uow, copy, original_id)
            into = _transfer(copy.remaining)
            back = uow.grants.move(original_id, into)
            key = BalanceKey(original.account_id, Bucket.REBATE, original.currency, original_id)
            self._entry(uow, key, original.customer_id, into, back.balance, copy_id)
            if back.status is not GrantStatus.APPROVED:
                uow.grants.set_status(back, GrantStatus.APPROVED)


@attrs.define
class CreditMergeHook:
    """The credit module's part in a merge: the duplicate's open receivables go to the survivor.

    Every item of the duplicate with something open (invoice lines owed, payments and credit notes
    not yet applied) is given to the survivor, so the survivor's exposure and aging include them;
    amounts are untouched. The merge record keeps the ids and open amounts, and unmerge gives
    exactly those items back, refused (``receivables_changed``) once any of them was settled,
    allocated or otherwise changed since. Items already settled stay with the duplicate.
    """

    name: str = "credit"

    def merge(self, uow: UnitOfWork, survivor: Customer, duplicate: Customer) -> Any:
        """Give the duplicate's open items to the survivor; returns ``{"items": {id: open minor}}``."""
        moved = uow.credit.reassign_open(duplicate.id, survivor.id)
        if not moved:
            return None
        return {"items": {item.id: [item.open.minor, item.currency] for item in moved}}

    def check_unmerge(self, uow: UnitOfWork, record: MergeRecord, data: Any) -> None:
        """Refused when a moved item is no longer the survivor's or its open amount changed."""
        if not data:
            return
        current = {i.id: i for i in uow.credit.items([record.survivor_id], open_only=False) if i.id in data["items"]}
        for item_id, (minor, currency) in sorted(data["items"].items()):
            item = current.get(item_id)
            if item is None or item.open != Money.from_minor(minor, currency):
                raise NotAllowed(
                    "a receivable moved by the merge was settled or changed since",
                    code="receivables_changed",
                    field="merge",
                    value=item_id,
                )

    def unmerge(self, uow: UnitOfWork, record: MergeRecord, data: Any) -> None:
        """Give the moved items back to the duplicate."""
        if not data:
            return
        ids = sorted(data["items"])
        moved = uow.credit.reassign_items(ids, record.survivor_id, record.duplicate_id)
        if moved != len(ids):
            raise ConcurrencyError("a receivable moved by the merge changed meanwhile", field="merge", value=record.id)


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
