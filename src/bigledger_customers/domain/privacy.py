"""Privacy: consent records and the anonymisation of personal data (DESIGN.md section 3). Pure.

Erasure keeps the customer (its id, code, classification and status) because financial records
reference it and law requires keeping them; what identifies a person is overwritten with
:data:`ERASED`. Audit entries keep *that* a field changed, never the erased value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, Final

import attrs

from bigledger_customers.domain.convert import unstructure
from bigledger_customers.domain.customer import Address, Attachment, Contact, Customer
from bigledger_customers.errors import ValidationError

__all__ = [
    "ERASED",
    "PERSONAL_FIELDS",
    "Consent",
    "ErasureReport",
    "anonymise_contact",
    "anonymise_customer",
    "erase_free_text",
    "scrub_changes",
]

#: What an erased text becomes.
ERASED: Final = "[erased]"
#: Customer fields that can identify a person (top-level keys of the aggregate and of audit changes).
PERSONAL_FIELDS: Final = frozenset(
    {
        "names",
        "legal_name",
        "tax_numbers",
        "website",
        "social",
        "notes",
        "custom_values",
        "contacts",
        "addresses",
        "attachments",
        "status_reason",
        "bank_accounts",
    }
)


#: Keys of free text in account records and their copies (idempotent outcomes, approval requests).
FREE_TEXT_KEYS: Final = frozenset({"reason", "reference"})


def erase_free_text(value: Any, values: Iterable[str], text: str = ERASED) -> Any:
    """``value`` (JSON-ready) with every free-text field (:data:`FREE_TEXT_KEYS`) whose text is one
    of ``values`` overwritten by ``text``, at any depth; everything else (amounts) as it was.

    >>> erase_free_text({"amount": "5.00", "reference": "Zelda", "n": [{"reason": "Zelda"}]}, ["Zelda"])
    {'amount': '5.00', 'reference': '[erased]', 'n': [{'reason': '[erased]'}]}
    """
    erased = frozenset(values)

    def walk(node: Any) -> Any:
        if isinstance(node, Mapping):
            return {
                k: text if k in FREE_TEXT_KEYS and isinstance(v, str) and v in erased else walk(v)
                for k, v in node.items()
            }
        if isinstance(node, list | tuple):
            return [walk(v) for v in node]
        return node

    return walk(value) if erased else value


def _text(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{field} is required", code="required", field=field, value=value)
    return value.strip()


@attrs.frozen(kw_only=True)
class Consent:
    """Consent given (or withdrawn) for one purpose: when, how, recorded by whom, on what evidence.

    ``purpose`` is e.g. ``marketing_email``, ``marketing_sms`` or ``data_processing``; ``method``
    how it was given (``web_form``, ``paper``, ``verbal``, ``email``, ``import``). The latest record
    of a purpose is the one in force.
    """

    id: str
    customer_id: str
    contact_id: str | None = None
    purpose: str
    granted: bool
    at: dt.datetime
    method: str
    recorded_by: str
    evidence: str = ""

    @classmethod
    def new(cls, **values: Any) -> Consent:
        """Build one, refusing a blank purpose or method."""
        values["purpose"] = _text(values.get("purpose"), "purpose").lower()
        values["method"] = _text(values.get("method"), "method").lower()
        return cls(**values)


@attrs.frozen(kw_only=True)
class ErasureReport:
    """What an erasure did. ``attachment_uris`` are where the host keeps files it must now delete."""

    customer_ids: tuple[str, ...]
    erased_fields: tuple[str, ...]
    interactions: int
    audit_entries: int
    consents: int
    attachment_uris: tuple[str, ...] = ()


def anonymise_contact(contact: Contact) -> Contact:
    """The contact with nothing left that identifies the person (its id and roles stay)."""
    return attrs.evolve(
        contact,
        name=ERASED,
        title="",
        email=None,
        phone=None,
        mobile=None,
        marketing_email=False,
        marketing_sms=False,
    )


def _anonymise_address(address: Address) -> Address:
    return attrs.evolve(address, lines=(), city="", state="", postcode="", latitude=None, longitude=None)


def _anonymise_attachment(attachment: Attachment) -> Attachment:
    return attrs.evolve(attachment, name=ERASED, storage_uri=ERASED, checksum=ERASED)


def anonymise_customer(customer: Customer) -> tuple[Customer, tuple[str, ...]]:
    """The customer with every personal field overwritten, and the names of the fields that changed.

    Classification (type, category, level, region...), status and the code stay: financial records
    and reports keep working. Ordering access is revoked.
    """
    after = attrs.evolve(
        customer,
        names={"en": ERASED},
        legal_name="",
        tax_numbers={},
        website=None,
        social={},
        notes="",
        custom_values={},
        contacts=tuple(anonymise_contact(c) for c in customer.contacts),
        addresses=tuple(_anonymise_address(a) for a in customer.addresses),
        attachments=tuple(_anonymise_attachment(a) for a in customer.attachments),
        status_reason=ERASED if customer.status_reason else None,
        bank_accounts=(),
        ordering_enabled=False,
    )
    old, new = unstructure(customer), unstructure(after)
    return after, tuple(sorted(k for k in old if old[k] != new[k]))


def _erase_value(value: Any) -> Any:
    return None if value is None else ERASED


def scrub_changes(changes: Mapping[str, Any], *, contact_ids: Iterable[str] | None = None) -> dict[str, Any]:
    """Audit changes with personal values replaced by :data:`ERASED` (field names are kept).

    With ``contact_ids`` only those contacts are scrubbed (erasing one contact); otherwise every
    personal field of :data:`PERSONAL_FIELDS` is.
    """
    if contact_ids is None:
        return {
            k: ([_erase_value(x) for x in v] if isinstance(v, list) else _erase_value(v)) if k in PERSONAL_FIELDS else v
            for k, v in changes.items()
        }
    ids = set(contact_ids)

    def contact_list(value: Any) -> Any:
        if not isinstance(value, list):
            return value
        return [
            unstructure(anonymise_contact(_contact(c))) if isinstance(c, Mapping) and c.get("id") in ids else c
            for c in value
        ]

    return {
        k: [contact_list(x) for x in v] if k == "contacts" and isinstance(v, list) else v for k, v in changes.items()
    }


def _contact(data: Mapping[str, Any]) -> Contact:
    return Contact(
        id=str(data.get("id", "")),
        name=str(data.get("name", "")),
        roles=frozenset(data.get("roles", ())),
        primary=bool(data.get("primary", False)),
    )
