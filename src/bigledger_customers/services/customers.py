"""Customer master commands and queries (``book.customers``). One unit of work per command."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Final, Literal

import attrs

from bigledger_customers.domain import customer as rules
from bigledger_customers.domain.access import Permission, refuse_masked
from bigledger_customers.domain.approvals import ApprovalRequest
from bigledger_customers.domain.convert import structure, structure_as, unstructure
from bigledger_customers.domain.customer import (
    Address,
    Attachment,
    Contact,
    Customer,
    CustomerStatus,
    Problems,
)
from bigledger_customers.domain.duplicates import DuplicateMatch
from bigledger_customers.domain.records import Actor, AuditEntry, Channel, Interaction
from bigledger_customers.domain.reference import NumberingScheme
from bigledger_customers.domain.search import DEFAULT_COUNT_LIMIT, CustomerQuery, Page, SortKey
from bigledger_customers.domain.validation import normalise_code
from bigledger_customers.errors import ConcurrencyError, Conflict, ImportReport, NotAllowed, ValidationError
from bigledger_customers.money import Money
from bigledger_customers.ports import UnitOfWork
from bigledger_customers.services._base import Services, load_customer
from bigledger_customers.services.access import mask_changes, out_of_scope
from bigledger_customers.services.accounts import ensure_account_on_create
from bigledger_customers.services.approvals import ApprovalHandler, Handler, load_policy, request_in
from bigledger_customers.services.duplicates import DuplicateService, screen_new_customer
from bigledger_customers.services.hierarchy import lock_hierarchy

__all__ = ["RESTORE", "CustomerService", "StatusChange"]

#: The approval command of restoring a voided customer (DESIGN.md section 3, Approvals).
RESTORE: Final = "customer.restore"


@attrs.frozen
class StatusChange:
    """The customer after a restore, or (unchanged) with the approval request the restore waits in."""

    customer: Customer
    approval: ApprovalRequest | None = None


def _restore_facts(customer: Customer) -> dict[str, Any]:
    return {"status": customer.status.value, "customer_type": customer.customer_type, "country": customer.country}


class CustomerService:
    """Create, change, find and retire customers.

    >>> from bigledger_customers import connect, Actor
    >>> book = connect("memory://")
    >>> admin = Actor(id="u1", roles={"sales_admin"})
    >>> c = book.customers.create({"name": {"en": "ABC Manufacturing Sdn Bhd"}, "country": "MY"}, actor=admin)
    >>> c.code, c.version
    ('CUS-000001', 1)
    >>> c = book.customers.update("cus-000001", {"tags": ["key-account"]}, expected_version=1, actor=admin)
    >>> sorted(c.tags), c.version
    (['key-account'], 2)
    """

    def __init__(self, services: Services) -> None:
        self._s = services

    # -- queries -------------------------------------------------------------------------------

    def get(self, ref: str, *, actor: Actor | None = None) -> Customer:
        """The customer with code ``ref`` (ignoring case) or id ``ref``; merged ones resolve to the survivor.

        With an actor (given or from ``acting_as``) a customer outside its scope is NotFound.
        """
        access = self._s.read_access(actor)
        with self._s.uow(write=False) as uow:
            customer = load_customer(uow, ref)
        if not access.covers(customer):
            raise out_of_scope(self._s, access, Permission.CUSTOMER_READ, ref)
        return access.show(customer)

    def search(
        self,
        text: str | None = None,
        *,
        status: str | None = None,
        customer_type: str | None = None,
        category: str | None = None,
        level: str | None = None,
        region: str | None = None,
        sales_rep: str | None = None,
        branch: str | None = None,
        tags: Iterable[str] = (),
        created_from: dt.datetime | None = None,
        created_to: dt.datetime | None = None,
        sort: str = "code",
        descending: bool = False,
        limit: int = 50,
        cursor: str | None = None,
        phone_region: str | None = None,
        count_limit: int = DEFAULT_COUNT_LIMIT,
        actor: Actor | None = None,
        credit_limit_min: Money | None = None,
        credit_limit_max: Money | None = None,
        credit_currency: str | None = None,
    ) -> Page[Customer]:
        """Customers matching every given filter, in ``sort`` order, ``limit`` at a time.

        Pass the returned ``next_cursor`` back as ``cursor`` for the next page. ``text`` matches
        names (any word's prefix, any substring), code, e-mail, phone and tax number, ignoring case,
        accents and width; a whole phone number is read in ``phone_region`` and matched in E.164.
        The first page carries ``total`` (exact up to ``count_limit``, else flagged an estimate).
        With an actor, only customers in its data scope match (the filter is part of the query).
        ``credit_limit_min`` / ``credit_limit_max`` (inclusive) keep customers whose credit limit in that
        currency is in the range; ``sort="credit_limit"`` sorts by the limit in ``credit_currency`` (or
        the range's currency), customers without a limit in it first.
        """
        access = self._s.read_access(actor)
        try:
            query = CustomerQuery(
                text=text,
                status=structure_as(status, CustomerStatus, field="status").value if status else None,
                customer_type=customer_type,
                category=category,
                level=level,
                region=region,
                sales_rep=sales_rep,
                branch=branch,
                tags=frozenset(t.strip().lower() for t in tags),
                created_from=created_from,
                created_to=created_to,
                sort=structure_as(sort, SortKey, field="sort"),
                descending=descending,
                limit=limit,
                cursor=cursor,
                phone_region=phone_region,
                count_limit=count_limit,
                scope=access.scope_or_none(),
                credit_limit_min=credit_limit_min,
                credit_limit_max=credit_limit_max,
                credit_currency=credit_currency,
            )
        except ValueError as error:
            if isinstance(error, ValidationError):
                raise
            raise ValidationError(str(error), field="limit", value=limit) from None
        with self._s.uow(write=False) as uow:
            page = uow.customers.search(query)
        return page if access.sensitive else attrs.evolve(page, items=[access.show(c) for c in page.items])

    def export(
        self, text: str | None = None, *, page_size: int = 1000, actor: Actor | None = None, **filters: Any
    ) -> Iterator[dict[str, Any]]:
        """Stream matching customers (``search``'s text and filters) as JSON-ready mappings in code
        order, a page at a time: memory stays constant however many there are.

        An actor needs ``customer.export``; it gets its scope only, sensitive fields masked unless
        it holds ``customer.view_sensitive``."""
        access = self._s.read_access(actor, Permission.CUSTOMER_EXPORT)
        filters["actor"] = access.actor
        from bigledger_customers.services.bulk import export_customers

        return export_customers(self.search, page_size=page_size, text=text, **filters)

    def import_rows(
        self,
        rows: Iterable[Mapping[str, Any]],
        *,
        mode: Literal["commit_good_rows", "all_or_nothing"] = "commit_good_rows",
        batch_size: int = 5000,
        on_progress: Callable[[ImportReport], None] | None = None,
        actor: Actor | None = None,
        workers: int | None = None,
    ) -> ImportReport:
        """Create or update (by code) customers from ``rows`` in batches; every bad row is reported.

        See :mod:`bigledger_customers.services.bulk` for the modes, row numbers and workers.
        """
        actor = self._s.authorize(actor, Permission.CUSTOMER_IMPORT)
        from bigledger_customers.services.bulk import import_rows

        return import_rows(
            self._s, rows, mode=mode, batch_size=batch_size, on_progress=on_progress, actor=actor, workers=workers
        )

    def children(self, ref: str, *, actor: Actor | None = None) -> list[Customer]:
        """Direct children of the customer, by code (those in the actor's scope)."""
        access = self._s.read_access(actor)
        with self._s.uow(write=False) as uow:
            parent = load_customer(uow, ref)
            found = [uow.customers.get(i) for i in uow.customers.children(parent.id)]
        if not access.covers(parent):
            raise out_of_scope(self._s, access, Permission.CUSTOMER_READ, ref)
        shown = [access.show(c) for c in found if c is not None and access.covers(c)]
        return sorted(shown, key=lambda c: c.code)

    def history(self, ref: str, *, actor: Actor | None = None) -> Sequence[AuditEntry]:
        """The audit trail of the customer, oldest first (sensitive values masked for the actor)."""
        access = self._s.read_access(actor)
        with self._s.uow(write=False) as uow:
            customer = load_customer(uow, ref, follow_merge=False)
            entries = list(uow.audit.for_entity("customer", customer.id))
        if not access.covers(customer):
            raise out_of_scope(self._s, access, Permission.CUSTOMER_READ, ref)
        return entries if access.sensitive else [attrs.evolve(e, changes=mask_changes(e.changes)) for e in entries]

    def interactions(self, ref: str, *, limit: int = 50, actor: Actor | None = None) -> Sequence[Interaction]:
        """The latest interactions, newest first."""
        access = self._s.read_access(actor)
        with self._s.uow(write=False) as uow:
            customer = load_customer(uow, ref)
            found = list(uow.interactions.for_customer(customer.id, limit))
        if not access.covers(customer):
            raise out_of_scope(self._s, access, Permission.CUSTOMER_READ, ref)
        return found

    # -- create --------------------------------------------------------------------------------

    def create(self, data: Mapping[str, Any], *, actor: Actor | None = None, allow_duplicate: bool = False) -> Customer:
        """Validate and store a new customer; the code is generated when not given.

        Every problem of ``data`` is reported at once (a :class:`ValidationError` whose
        ``details`` hold one error per field); nothing is written unless all is well.
        A likely duplicate is announced or refused per ``Settings.duplicate_check``; with
        ``allow_duplicate`` a refusal is overridden (see :meth:`find_duplicates`).
        """
        actor = self._s.authorize(actor, Permission.CUSTOMER_CREATE)
        data = rules.normalise_keys(data, rules.CREATE_FIELDS)
        now = self._s.clock.now()
        given_code = data.pop("code", None)
        draft = Customer(id=self._s.new_id(), code="", created_at=now, updated_at=now, version=1)
        draft = rules.apply_fields(draft, data, rules.CREATE_FIELDS)
        draft = attrs.evolve(
            draft,
            contacts=tuple(self._with_id(x) for x in draft.contacts),
            addresses=tuple(self._with_id(x) for x in draft.addresses),
            attachments=tuple(attrs.evolve(self._with_id(x), added_at=x.added_at or now) for x in draft.attachments),
        )
        draft = _auto_primary(draft)
        self._s.authorize(actor, Permission.CUSTOMER_CREATE, draft)  # a scoped role creates inside its scope
        with self._s.uow() as uow:
            problems = Problems()
            code = problems.check(lambda: normalise_code(given_code)) if given_code is not None else None
            customer = self._validated(uow, draft, problems, data.keys())
            if code is not None and uow.customers.get_by_code(code) is not None:
                raise Conflict(f"customer code {code!r} is taken", code="duplicate_code", field="code", value=code)
            customer = attrs.evolve(customer, code=code or self._next_code(uow))
            uow.customers.add(customer)
            ensure_account_on_create(uow, customer, now)
            self._s.record(
                uow,
                actor=actor,
                action="customer.create",
                entity_type="customer",
                entity_id=customer.id,
                changes=rules.diff(None, customer),
                event="customer.created",
                payload={"customer_id": customer.id, "code": customer.code},
            )
            screen_new_customer(self._s, uow, customer, allow=allow_duplicate)
            uow.commit()
        return customer

    def find_duplicates(
        self, data: Mapping[str, Any] | str, *, limit: int = 10, actor: Actor | None = None
    ) -> list[DuplicateMatch]:
        """Existing customers that look like ``data`` (a would-be customer) or a customer's code/id.

        Call it before :meth:`create` to show a user the likely duplicates; the same check runs
        inside create (DESIGN.md section 3, Duplicates). With an actor, only its data scope.
        """
        return DuplicateService(self._s).find(data, limit=limit, actor=actor)

    # -- change --------------------------------------------------------------------------------

    def update(
        self,
        ref: str,
        changes: Mapping[str, Any],
        *,
        expected_version: int | None = None,
        actor: Actor | None = None,
    ) -> Customer:
        """Change profile fields. With ``expected_version``, a stale version raises ConcurrencyError.

        Changing ``sales_rep`` or ``branch`` also needs ``customer.assign``; a masked value read
        back from a query (``****0001``) is refused rather than stored.
        """
        actor = self._s.authorize(actor, Permission.CUSTOMER_EDIT, ref)
        data = rules.normalise_keys(changes, rules.PROFILE_FIELDS)
        if data.keys() & {"sales_rep", "branch"}:
            self._s.authorize(actor, Permission.CUSTOMER_ASSIGN, ref)
        refuse_masked(data)

        def change(uow: UnitOfWork, customer: Customer) -> Customer:
            draft = rules.apply_fields(customer, data, rules.PROFILE_FIELDS)
            return self._validated(uow, draft, Problems(), data.keys())

        return self._change(ref, change, expected_version=expected_version, actor=actor, action="customer.update")

    def set_status(
        self,
        ref: str,
        status: str,
        *,
        reason: str | None = None,
        expected_version: int | None = None,
        actor: Actor | None = None,
    ) -> Customer:
        """Move through the lifecycle (DESIGN.md section 3); restoring a voided customer is ``active``.

        Voiding and restoring need ``customer.void`` besides ``customer.set_status``.
        """
        actor = self._s.authorize(actor, Permission.CUSTOMER_SET_STATUS, ref)
        to = structure_as(status, CustomerStatus, field="status")
        if to is CustomerStatus.VOIDED or (to is CustomerStatus.ACTIVE and self._status(ref) is CustomerStatus.VOIDED):
            self._s.authorize(actor, Permission.CUSTOMER_VOID, ref)
        if to is CustomerStatus.MERGED:
            raise NotAllowed("customers become merged only by a merge", code="invalid_transition", field="status")

        def change(uow: UnitOfWork, customer: Customer) -> Customer:
            if (
                customer.status is CustomerStatus.VOIDED
                and to is CustomerStatus.ACTIVE
                and load_policy(uow).needs_approval(RESTORE, _restore_facts(customer))
            ):
                raise NotAllowed(
                    f"restoring {customer.code} needs approval; call restore()", code="needs_approval", field="status"
                )
            return rules.transition(customer, to, reason=reason)

        return self._change(
            ref,
            change,
            expected_version=expected_version,
            actor=actor,
            action="customer.set_status",
            editable=False,
            event="customer.status_changed",
        )

    def restore(self, ref: str, *, reason: str | None = None, actor: Actor | None = None) -> StatusChange:
        """Restore a voided customer to active; when a ``customer.restore`` approval rule governs it
        (facts ``status``, ``customer_type``, ``country``), the restore waits in the returned request.

        Needs ``customer.set_status`` and ``customer.void``.
        """
        actor = self._s.authorize(actor, Permission.CUSTOMER_SET_STATUS, ref)
        self._s.authorize(actor, Permission.CUSTOMER_VOID, ref)
        with self._s.uow() as uow:
            now = self._s.clock.now()
            customer = load_customer(uow, ref, follow_merge=False)
            restored = rules.transition(customer, CustomerStatus.ACTIVE, reason=reason)  # refuses non-voided
            if customer.status is CustomerStatus.VOIDED:
                request = request_in(
                    self._s,
                    uow,
                    command=RESTORE,
                    facts=_restore_facts(customer),
                    subject_type="customer",
                    subject_id=customer.id,
                    customer_id=customer.id,
                    payload={
                        "status": [customer.status.value, "active"],
                        "reason": reason,
                        "version": customer.version,
                    },
                    actor=actor,
                    now=now,
                )
                if request is not None:
                    uow.commit()
                    return StatusChange(customer=customer, approval=request)
            after = self._save(uow, customer, restored, actor, "customer.set_status", "customer.status_changed")
            uow.commit()
        return StatusChange(customer=after)

    def approval_handlers(self) -> dict[str, ApprovalHandler]:
        """The customer commands decided through ``book.approvals``: ``customer.restore``."""

        def apply_restore(uow: UnitOfWork, request: ApprovalRequest, actor: Actor, now: dt.datetime) -> None:
            customer = load_customer(uow, request.subject_id, follow_merge=False)
            if customer.status is not CustomerStatus.VOIDED:
                raise NotAllowed(
                    f"customer {customer.code} is {customer.status}, not voided",
                    code="stale_request",
                    field="status",
                )
            restored = rules.transition(customer, CustomerStatus.ACTIVE, reason=request.payload.get("reason"))
            self._save(uow, customer, restored, actor, "customer.set_status", "customer.status_changed")

        # The rule's step role says who approves; the permission only keeps the approver's data scope.
        return {RESTORE: Handler(apply_restore, permission=Permission.CUSTOMER_READ)}

    def set_parent(
        self,
        ref: str,
        parent: str | None,
        *,
        expected_version: int | None = None,
        actor: Actor | None = None,
    ) -> Customer:
        """Attach the customer under ``parent`` (code or id), or detach it with None."""
        actor = self._s.authorize(actor, Permission.CUSTOMER_EDIT, ref)
        return self.update(ref, {"parent_id": parent}, expected_version=expected_version, actor=actor)

    def set_ordering_access(
        self,
        ref: str,
        enabled: bool,
        *,
        expected_version: int | None = None,
        actor: Actor | None = None,
    ) -> Customer:
        """Let the customer order online (needs an orderer contact and an approved registration)."""
        actor = self._s.authorize(actor, Permission.CUSTOMER_EDIT, ref)
        require = self._s.settings.ordering_requires_approved_registration

        def change(_: UnitOfWork, customer: Customer) -> Customer:
            return rules.set_ordering_access(customer, enabled, require_approved_registration=require)

        return self._change(
            ref, change, expected_version=expected_version, actor=actor, action="customer.set_ordering_access"
        )

    def add_contact(
        self,
        ref: str,
        contact: Mapping[str, Any],
        *,
        expected_version: int | None = None,
        actor: Actor | None = None,
    ) -> Customer:
        """Add a contact (at most 50; the first becomes primary). Phones are stored in E.164."""
        actor = self._s.authorize(actor, Permission.CUSTOMER_EDIT, ref)
        new = self._with_id(structure(_drop_id(contact), Contact, field="contact"))
        return self._edit_items(ref, "contacts", lambda items: (*items, new), expected_version, actor)

    def update_contact(
        self,
        ref: str,
        contact_id: str,
        changes: Mapping[str, Any],
        *,
        expected_version: int | None = None,
        actor: Actor | None = None,
    ) -> Customer:
        """Change fields of one contact."""
        actor = self._s.authorize(actor, Permission.CUSTOMER_EDIT, ref)

        def edit(items: tuple[Contact, ...]) -> tuple[Contact, ...]:
            old = next((x for x in items if x.id == contact_id), None)
            merged = {**unstructure(old), **changes, "id": contact_id} if old else {"id": contact_id, **changes}
            return rules.replace_item(items, contact_id, structure(merged, Contact, field="contact"), "contact")

        return self._edit_items(ref, "contacts", edit, expected_version, actor)

    def remove_contact(
        self,
        ref: str,
        contact_id: str,
        *,
        expected_version: int | None = None,
        actor: Actor | None = None,
    ) -> Customer:
        """Remove a contact (addresses pointing at it lose the link)."""
        actor = self._s.authorize(actor, Permission.CUSTOMER_EDIT, ref)

        def change(uow: UnitOfWork, customer: Customer) -> Customer:
            contacts = rules.remove_item(customer.contacts, contact_id, "contact")
            addresses = tuple(
                attrs.evolve(a, contact_id=None) if a.contact_id == contact_id else a for a in customer.addresses
            )
            draft = _auto_primary(attrs.evolve(customer, contacts=contacts, addresses=addresses))
            return self._validated(uow, draft, Problems(), ())

        return self._change(ref, change, expected_version=expected_version, actor=actor, action="customer.contacts")

    def add_address(
        self,
        ref: str,
        address: Mapping[str, Any],
        *,
        expected_version: int | None = None,
        actor: Actor | None = None,
    ) -> Customer:
        """Add an address (at most 20; the first of a kind becomes its default)."""
        actor = self._s.authorize(actor, Permission.CUSTOMER_EDIT, ref)
        new = self._with_id(structure(_drop_id(address), Address, field="address"))
        return self._edit_items(ref, "addresses", lambda items: (*items, new), expected_version, actor)

    def remove_address(
        self,
        ref: str,
        address_id: str,
        *,
        expected_version: int | None = None,
        actor: Actor | None = None,
    ) -> Customer:
        """Remove an address."""
        actor = self._s.authorize(actor, Permission.CUSTOMER_EDIT, ref)
        return self._edit_items(
            ref, "addresses", lambda items: rules.remove_item(items, address_id, "address"), expected_version, actor
        )

    def add_attachment(
        self,
        ref: str,
        attachment: Mapping[str, Any],
        *,
        expected_version: int | None = None,
        actor: Actor | None = None,
    ) -> Customer:
        """Record attachment metadata (the bytes stay in the host's storage; 100 MiB per customer)."""
        actor = self._s.authorize(actor, Permission.CUSTOMER_EDIT, ref)
        new = structure({**_drop_id(attachment), "added_at": self._s.clock.now()}, Attachment, field="attachment")
        new = self._with_id(new)
        return self._edit_items(ref, "attachments", lambda items: (*items, new), expected_version, actor)

    def remove_attachment(
        self,
        ref: str,
        attachment_id: str,
        *,
        expected_version: int | None = None,
        actor: Actor | None = None,
    ) -> Customer:
        """Forget an attachment's metadata."""
        actor = self._s.authorize(actor, Permission.CUSTOMER_EDIT, ref)
        return self._edit_items(
            ref,
            "attachments",
            lambda items: rules.remove_item(items, attachment_id, "attachment"),
            expected_version,
            actor,
        )

    def record_interaction(
        self,
        ref: str,
        *,
        channel: str,
        summary: str,
        at: dt.datetime | None = None,
        contact_id: str | None = None,
        actor: Actor | None = None,
    ) -> Interaction:
        """Add an entry to the customer's communication history."""
        actor = self._s.authorize(actor, Permission.CUSTOMER_EDIT, ref)
        channel_ = structure_as(channel, Channel, field="channel")
        if not summary.strip():
            raise ValidationError("an interaction needs a summary", code="required", field="summary")
        with self._s.uow() as uow:
            customer = load_customer(uow, ref)
            rules.ensure_editable(customer)
            if contact_id is not None:
                customer.contact(contact_id)
            interaction = Interaction(
                id=self._s.new_id(),
                customer_id=customer.id,
                at=at or self._s.clock.now(),
                channel=channel_,
                by=actor.id,
                summary=summary.strip(),
                contact_id=contact_id,
            )
            uow.interactions.add(interaction)
            self._s.record(
                uow,
                actor=actor,
                action="customer.interaction",
                entity_type="customer",
                entity_id=customer.id,
                changes={"interaction": [None, interaction.id]},
            )
            uow.commit()
        return interaction

    def delete(self, ref: str, *, actor: Actor | None = None) -> Literal["deleted", "voided"]:
        """Delete a customer without financial history; any other is voided instead (DESIGN.md section 3)."""
        actor = self._s.authorize(actor, Permission.CUSTOMER_DELETE, ref)
        with self._s.uow() as uow:
            customer = load_customer(uow, ref, follow_merge=False)
            if uow.customers.children(customer.id):
                raise NotAllowed("customer has child customers; move them first", code="has_children", field="customer")
            if uow.customers.has_financial_history(customer.id):
                outcome: Literal["deleted", "voided"] = "voided"
                if customer.status is not CustomerStatus.VOIDED:
                    voided = rules.transition(customer, CustomerStatus.VOIDED, reason="delete with financial history")
                    self._save(uow, customer, voided, actor, "customer.set_status", "customer.status_changed")
            else:
                outcome = "deleted"
                uow.customers.remove(customer.id, customer.version)
                self._s.record(
                    uow,
                    actor=actor,
                    action="customer.delete",
                    entity_type="customer",
                    entity_id=customer.id,
                    changes=rules.diff(customer, None),
                    event="customer.deleted",
                    payload={"customer_id": customer.id, "code": customer.code},
                )
            uow.commit()
        return outcome

    # -- internals -----------------------------------------------------------------------------

    def _status(self, ref: str) -> CustomerStatus:
        with self._s.uow(write=False) as uow:
            return load_customer(uow, ref, follow_merge=False).status

    def _with_id(self, item: Any) -> Any:
        return item if item.id else attrs.evolve(item, id=self._s.new_id())

    def _next_code(self, uow: UnitOfWork) -> str:
        scheme = uow.reference.numbering("customer") or NumberingScheme()
        while True:  # skip numbers a hand-given code already took
            code = scheme.format(uow.reference.next_number(scheme.name))
            if uow.customers.get_by_code(code) is None:
                return code

    def _validated(self, uow: UnitOfWork, draft: Customer, problems: Problems, touched: Iterable[str]) -> Customer:
        """Check references named by ``touched`` fields, the hierarchy and every aggregate rule."""
        touched = set(touched)
        for field, kind in rules.REFERENCE_FIELDS.items():
            value = getattr(draft, field)
            if field in touched and value is not None:
                entry = uow.reference.get(kind, value.strip())
                if entry is None:
                    problems.add(
                        ValidationError(f"no {kind} {value!r}", code=f"unknown_{kind}", field=field, value=value)
                    )
                else:
                    canonical: dict[str, Any] = {field: entry.code}
                    draft = attrs.evolve(draft, **canonical)
        if "parent_id" in touched and draft.parent_id is not None:
            parent_id = problems.check(lambda: self._check_parent(uow, draft))
            draft = attrs.evolve(draft, parent_id=parent_id or draft.parent_id)
        checked = problems.check(lambda: rules.check(draft, definitions=uow.reference.field_definitions()))
        problems.raise_any()
        assert checked is not None
        return checked  # type: ignore[no-any-return]

    def _check_parent(self, uow: UnitOfWork, customer: Customer) -> str:
        """Resolve the parent and refuse cycles and hierarchies deeper than the configured limit."""
        assert customer.parent_id is not None
        lock_hierarchy(uow)  # two concurrent moves must not each miss the other's new edge
        parent = load_customer(uow, customer.parent_id, follow_merge=False)
        if parent.status in (CustomerStatus.VOIDED, CustomerStatus.MERGED):
            raise ValidationError(
                f"parent {parent.code} is {parent.status}", code="invalid_parent", field="parent_id", value=parent.code
            )
        depth = 1
        node: Customer | None = parent
        while node is not None:
            if node.id == customer.id:
                raise ValidationError(
                    "that parent would make a cycle", code="hierarchy_cycle", field="parent_id", value=parent.code
                )
            depth += 1
            node = uow.customers.get(node.parent_id) if node.parent_id else None
        height = _subtree_height(uow, customer.id)
        limit = self._s.settings.max_hierarchy_depth
        if depth - 1 + height > limit:
            raise ValidationError(
                f"the hierarchy would be deeper than {limit} levels",
                code="hierarchy_too_deep",
                field="parent_id",
                value=parent.code,
            )
        return parent.id

    def _edit_items(
        self,
        ref: str,
        field: str,
        edit: Callable[[Any], tuple[Any, ...]],
        expected_version: int | None,
        actor: Actor,
    ) -> Customer:
        def change(uow: UnitOfWork, customer: Customer) -> Customer:
            items: dict[str, Any] = {field: edit(getattr(customer, field))}
            draft = attrs.evolve(customer, **items)
            draft = _auto_primary(draft)
            return self._validated(uow, draft, Problems(), ())

        return self._change(ref, change, expected_version=expected_version, actor=actor, action=f"customer.{field}")

    def _change(
        self,
        ref: str,
        change: Callable[[UnitOfWork, Customer], Customer],
        *,
        expected_version: int | None,
        actor: Actor,
        action: str,
        editable: bool = True,
        event: str = "customer.updated",
    ) -> Customer:
        with self._s.uow() as uow:
            customer = load_customer(uow, ref, follow_merge=False)
            if expected_version is not None and expected_version != customer.version:
                raise ConcurrencyError(
                    f"customer {customer.code} is at version {customer.version}, not {expected_version}",
                    field="version",
                    value=expected_version,
                )
            if editable:
                rules.ensure_editable(customer)
            after = self._save(uow, customer, change(uow, customer), actor, action, event)
            uow.commit()
        return after

    def _save(
        self, uow: UnitOfWork, before: Customer, after: Customer, actor: Actor, action: str, event: str
    ) -> Customer:
        changes = rules.diff(before, after)
        after = attrs.evolve(after, version=before.version + 1, updated_at=self._s.clock.now())
        uow.customers.update(after, before.version)
        self._s.record(
            uow,
            actor=actor,
            action=action,
            entity_type="customer",
            entity_id=after.id,
            changes=changes,
            event=event,
            payload={"customer_id": after.id, "code": after.code, "fields": sorted(changes)},
        )
        return after


def _drop_id(data: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise ValidationError("expected an object", code="invalid_type", value=data)
    return {k: val for k, val in data.items() if k != "id"}


def _auto_primary(customer: Customer) -> Customer:
    """With no primary contact, the first is primary; with no default of a kind, the first is default."""
    contacts = customer.contacts
    if contacts and not any(c.primary for c in contacts):
        contacts = (attrs.evolve(contacts[0], primary=True), *contacts[1:])
    kinds_with_default = {a.kind for a in customer.addresses if a.is_default}
    addresses: list[Address] = []
    for address in customer.addresses:
        if address.kind not in kinds_with_default:
            kinds_with_default.add(address.kind)
            addresses.append(attrs.evolve(address, is_default=True))
        else:
            addresses.append(address)
    return attrs.evolve(customer, contacts=contacts, addresses=tuple(addresses))


def _subtree_height(uow: UnitOfWork, customer_id: str) -> int:
    """Levels in the subtree rooted at the customer (1 for a leaf)."""
    height, level, seen = 0, [customer_id], {customer_id}
    while level:
        height += 1
        nxt = [c for node in level for c in uow.customers.children(node) if c not in seen]
        seen.update(nxt)
        level = nxt
    return height
