"""Privacy (``book.privacy``): export everything held on a customer or contact, erase it, record consent.

DESIGN.md section 3 (Privacy). The rules are in :mod:`bigledger_customers.domain.privacy`. Other
modules add their part through :class:`PrivacyHook` (the accounts module exports balances and
records; erasure leaves amounts alone, it only clears free text that could name a person).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final, Protocol

import attrs

from bigledger_customers.domain import customer as rules
from bigledger_customers.domain.access import Permission
from bigledger_customers.domain.convert import unstructure
from bigledger_customers.domain.customer import Customer
from bigledger_customers.domain.merge import MergeRecord
from bigledger_customers.domain.privacy import (
    ERASED,
    Consent,
    ErasureReport,
    anonymise_contact,
    anonymise_customer,
    scrub_changes,
)
from bigledger_customers.domain.records import Actor
from bigledger_customers.ports import UnitOfWork
from bigledger_customers.services._base import Services, load_customer
from bigledger_customers.services.access import out_of_scope

__all__ = ["EXPORT_FORMAT", "AccountsPrivacyHook", "PrivacyHook", "PrivacyService"]

#: Names the shape of :meth:`PrivacyService.export` documents; bumped when the shape changes.
EXPORT_FORMAT: Final = "bigledger-customers/personal-data-export/1"
#: Consent purposes mirrored on the contact's own flags.
_CONTACT_FLAGS: Final = {"marketing_email": "marketing_email", "marketing_sms": "marketing_sms"}
_ALL_INTERACTIONS: Final = 1_000_000


class PrivacyHook(Protocol):
    """Another module's part in exports and erasures, run inside the same unit of work."""

    name: str

    def export(self, uow: UnitOfWork, customer: Customer) -> Any:
        """JSON-ready data the module holds on the customer."""
        ...

    def erase(self, uow: UnitOfWork, customer: Customer) -> None:
        """Clear personal free text the module holds on the customer; never an amount."""
        ...


def _json(value: Any) -> Any:
    return unstructure(value)


class AccountsPrivacyHook:
    """The accounts module's part in erasures: free text of the customer's account records.

    Grant reasons, hold and expense reasons, top-up and income references become :data:`ERASED`
    (they are typed by people and can name one); so do the same texts where they were copied:
    ledger entry reasons, stored idempotent outcomes and approval requests. Every amount, date,
    status and id stays as it was. Export adds nothing here (``book.accounts`` reads them).
    """

    name: str = "accounts"

    def export(self, uow: UnitOfWork, customer: Customer) -> Any:
        """Nothing extra: balances and records are read through ``book.accounts``."""
        return None

    def erase(self, uow: UnitOfWork, customer: Customer) -> None:
        """Blank the customer's free text in account records and wherever it was copied."""
        values = set(uow.account_records.erase_text(customer.id, ERASED))
        values.update(uow.grants.erase_reasons(customer.id, ERASED))
        values.update(uow.holds.erase_reasons(customer.id, ERASED))
        if values:
            uow.ledger.erase_reasons(customer.id, values, ERASED)
            uow.idempotency.erase_text(customer.id, values, ERASED)
            uow.approvals.erase_text(customer.id, values, ERASED)


class PrivacyService:
    """Data-subject requests: export, erasure, consent.

    >>> from bigledger_customers import connect, Actor
    >>> book = connect("memory://")
    >>> admin = Actor(id="dpo", roles={"admin"})
    >>> c = book.customers.create({"name": "Siti Aminah", "country": "MY"}, actor=admin)
    >>> book.privacy.export(c.code, actor=admin)["customer"]["names"]
    {'en': 'Siti Aminah'}
    >>> book.privacy.erase(c.code, actor=admin).erased_fields
    ('names',)
    >>> book.customers.get(c.code).name
    '[erased]'
    """

    def __init__(self, services: Services) -> None:
        self._s = services
        #: Other modules' part in exports and erasures; see :class:`PrivacyHook`.
        self.hooks: list[PrivacyHook] = []

    # -- export ------------------------------------------------------------------------------------

    def export(self, ref: str, *, contact_id: str | None = None, actor: Actor | None = None) -> dict[str, Any]:
        """Everything held on the customer (or on one of its contacts) as one JSON-ready document.

        The customer's profile, contacts, addresses, custom values and attachment metadata;
        interactions; audit entries; consent records; merges it took part in; and each hook's data.
        """
        self._s.authorize(actor, Permission.PRIVACY_EXPORT, ref)
        with self._s.uow(write=False) as uow:
            customer = load_customer(uow, ref, follow_merge=False)
            interactions = list(uow.interactions.for_customer(customer.id, _ALL_INTERACTIONS))
            audit = list(uow.audit.for_entity("customer", customer.id))
            consents = list(uow.governance.consents(customer.id))
            merges = list(uow.governance.merges_for(customer.id))
            document: dict[str, Any] = {
                "format": EXPORT_FORMAT,
                "exported_at": self._s.clock.now().isoformat(),
                "customer_id": customer.id,
                "code": customer.code,
            }
            if contact_id is None:
                document["customer"] = _json(customer)
                document["extensions"] = {hook.name: hook.export(uow, customer) for hook in self.hooks}
            else:
                contact = customer.contact(contact_id)
                document["contact"] = _json(contact)
                document["addresses"] = [_json(a) for a in customer.addresses if a.contact_id == contact_id]
                interactions = [i for i in interactions if i.contact_id == contact_id]
                consents = [c for c in consents if c.contact_id == contact_id]
                audit = [e for e in audit if contact_id in repr(e.changes)]
                merges = []
        interactions.sort(key=lambda i: (i.at, i.id))
        document["interactions"] = [_json(i) for i in interactions]
        document["consents"] = [_json(c) for c in consents]
        document["audit"] = [_json(e) for e in audit]
        document["merges"] = [_merge_summary(m) for m in merges]
        return document

    # -- consent -----------------------------------------------------------------------------------

    def record_consent(
        self,
        ref: str,
        purpose: str,
        granted: bool,
        *,
        method: str,
        contact_id: str | None = None,
        at: dt.datetime | None = None,
        evidence: str = "",
        actor: Actor | None = None,
    ) -> Consent:
        """Record that consent for ``purpose`` was given (or withdrawn), when and how.

        For ``marketing_email`` and ``marketing_sms`` of a contact, the contact's own flag follows.
        """
        actor = self._s.authorize(actor, Permission.CUSTOMER_EDIT, ref)
        with self._s.uow() as uow:
            customer = load_customer(uow, ref)
            rules.ensure_editable(customer)
            if contact_id is not None:
                customer.contact(contact_id)
            consent = Consent.new(
                id=self._s.new_id(),
                customer_id=customer.id,
                contact_id=contact_id,
                purpose=purpose,
                granted=bool(granted),
                at=at or self._s.clock.now(),
                method=method,
                recorded_by=actor.id,
                evidence=evidence.strip(),
            )
            uow.governance.add_consent(consent)
            flag = _CONTACT_FLAGS.get(consent.purpose)
            if flag is not None and contact_id is not None:
                flags: dict[str, Any] = {flag: consent.granted}
                contacts = tuple(attrs.evolve(c, **flags) if c.id == contact_id else c for c in customer.contacts)
                after = attrs.evolve(
                    customer, contacts=contacts, version=customer.version + 1, updated_at=self._s.clock.now()
                )
                uow.customers.update(after, customer.version)
            self._s.record(
                uow,
                actor=actor,
                action="customer.consent",
                entity_type="customer",
                entity_id=customer.id,
                changes={
                    "consent": [
                        None,
                        {
                            "id": consent.id,
                            "purpose": consent.purpose,
                            "granted": consent.granted,
                            "method": consent.method,
                            "contact_id": contact_id,
                        },
                    ]
                },
                event="customer.consent_recorded",
                payload={"customer_id": customer.id, "purpose": consent.purpose, "granted": consent.granted},
            )
            uow.commit()
        return consent

    def consents(self, ref: str, *, contact_id: str | None = None, actor: Actor | None = None) -> dict[str, Consent]:
        """The consent in force per purpose (the latest record), of the customer or one contact.

        With an actor (given or from ``acting_as``): ``customer.read`` over the customer (NotFound
        outside its scope, audited); without any, the host's own call.
        """
        access = self._s.read_access(actor)
        with self._s.uow(write=False) as uow:
            customer = load_customer(uow, ref)
            visible = access.covers(customer)
            records = [c for c in uow.governance.consents(customer.id) if c.contact_id == contact_id] if visible else []
        if not visible:
            raise out_of_scope(self._s, access, Permission.CUSTOMER_READ, ref)
        latest: dict[str, Consent] = {}
        for record in sorted(records, key=lambda c: c.at):
            latest[record.purpose] = record
        return latest

    # -- erasure -----------------------------------------------------------------------------------

    def erase(self, ref: str, *, actor: Actor | None = None) -> ErasureReport:
        """Anonymise the customer and every customer merged into it, keeping financial records.

        Names, tax numbers, contacts, addresses, notes, custom values, attachment metadata,
        interaction summaries, consent evidence, the personal values in audit entries and merge
        snapshots are overwritten; ids, codes, classification, status and every amount stay. The
        erasure is audited by the names of the fields it erased, never their values.
        """
        actor = self._s.authorize(actor, Permission.PRIVACY_ERASE, ref)
        with self._s.uow() as uow:
            root = load_customer(uow, ref)
            targets = [root, *self._merged_into(uow, root.id)]
            report = ErasureReport(customer_ids=(), erased_fields=(), interactions=0, audit_entries=0, consents=0)
            for customer in targets:
                report = _add(report, self._erase_one(uow, customer, actor))
            uow.commit()
        return report

    def erase_contact(self, ref: str, contact_id: str, *, actor: Actor | None = None) -> ErasureReport:
        """Anonymise one contact: its details, its interactions' summaries, its consent evidence and
        its values in the audit trail. The customer itself stays as it is."""
        actor = self._s.authorize(actor, Permission.PRIVACY_ERASE, ref)
        with self._s.uow() as uow:
            customer = load_customer(uow, ref)
            customer.contact(contact_id)
            contacts = tuple(anonymise_contact(c) if c.id == contact_id else c for c in customer.contacts)
            after = attrs.evolve(
                customer, contacts=contacts, version=customer.version + 1, updated_at=self._s.clock.now()
            )
            uow.customers.update(after, customer.version)
            interactions = uow.governance.erase_interactions(customer.id, contact_id=contact_id, text=ERASED)
            consents = uow.governance.erase_consent_evidence(customer.id, contact_id=contact_id, text=ERASED)
            entries = 0
            for entry in uow.audit.for_entity("customer", customer.id):
                scrubbed = scrub_changes(entry.changes, contact_ids=[contact_id])
                if scrubbed != dict(entry.changes):
                    uow.governance.rewrite_audit(entry, scrubbed)
                    entries += 1
            self._s.record(
                uow,
                actor=actor,
                action="customer.erase_contact",
                entity_type="customer",
                entity_id=customer.id,
                changes={"erased": [None, {"contact_id": contact_id, "fields": ["contacts"]}]},
                event="customer.contact_erased",
                payload={"customer_id": customer.id, "contact_id": contact_id},
            )
            uow.commit()
        return ErasureReport(
            customer_ids=(customer.id,),
            erased_fields=("contacts",),
            interactions=interactions,
            audit_entries=entries,
            consents=consents,
        )

    def _merged_into(self, uow: UnitOfWork, customer_id: str) -> list[Customer]:
        """Customers merged (directly or through others) into this one: the same person's records."""
        found: list[Customer] = []
        todo, seen = [customer_id], {customer_id}
        while todo:
            current = todo.pop()
            for record in uow.governance.merges_for(current):
                other = record.duplicate_id
                if record.survivor_id == current and other not in seen:
                    seen.add(other)
                    duplicate = uow.customers.get(other)
                    if duplicate is not None and duplicate.merged_into == current:
                        found.append(duplicate)
                        todo.append(other)
        return found

    def _erase_one(self, uow: UnitOfWork, customer: Customer, actor: Actor) -> ErasureReport:
        after, fields = anonymise_customer(customer)
        after = attrs.evolve(after, version=customer.version + 1, updated_at=self._s.clock.now())
        uow.customers.update(after, customer.version)
        interactions = uow.governance.erase_interactions(customer.id, contact_id=None, text=ERASED)
        consents = uow.governance.erase_consent_evidence(customer.id, contact_id=None, text=ERASED)
        entries = 0
        for entry in uow.audit.for_entity("customer", customer.id):
            scrubbed = scrub_changes(entry.changes)
            if scrubbed != dict(entry.changes):
                uow.governance.rewrite_audit(entry, scrubbed)
                entries += 1
        for record in uow.governance.merges_for(customer.id):
            uow.governance.update_merge(_scrub_merge(record, customer.id))
        for hook in self.hooks:
            hook.erase(uow, after)
        self._s.record(
            uow,
            actor=actor,
            action="customer.erase",
            entity_type="customer",
            entity_id=customer.id,
            changes={"erased": [None, list(fields)]},
            event="customer.erased",
            payload={"customer_id": customer.id, "code": customer.code},
        )
        uris = tuple(a.storage_uri for a in customer.attachments)
        return ErasureReport(
            customer_ids=(customer.id,),
            erased_fields=fields,
            interactions=interactions,
            audit_entries=entries,
            consents=consents,
            attachment_uris=uris,
        )


def _scrub_merge(record: MergeRecord, customer_id: str) -> MergeRecord:
    """A merge record with the erased customer's snapshot anonymised and chosen values blanked."""
    changes: dict[str, Any] = {
        "choices": {k: {"value": ERASED} if isinstance(v, dict) else v for k, v in record.choices.items()}
    }
    if record.survivor_id == customer_id:
        changes["survivor_before"] = anonymise_customer(record.survivor_before)[0]
    if record.duplicate_id == customer_id:
        changes["duplicate_before"] = anonymise_customer(record.duplicate_before)[0]
    return attrs.evolve(record, **changes)


def _merge_summary(record: MergeRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "survivor_id": record.survivor_id,
        "duplicate_id": record.duplicate_id,
        "status": record.status.value,
        "merged_at": record.merged_at.isoformat(),
        "merged_by": record.merged_by,
    }


def _add(a: ErasureReport, b: ErasureReport) -> ErasureReport:
    return ErasureReport(
        customer_ids=a.customer_ids + b.customer_ids,
        erased_fields=tuple(sorted(set(a.erased_fields) | set(b.erased_fields))),
        interactions=a.interactions + b.interactions,
        audit_entries=a.audit_entries + b.audit_entries,
        consents=a.consents + b.consents,
        attachment_uris=a.attachment_uris + b.attachment_uris,
    )
