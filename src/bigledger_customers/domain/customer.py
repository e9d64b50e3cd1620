"""The customer aggregate and its rules (DESIGN.md section 3). Pure: no I/O, no clock reads.

Every function returns a new frozen :class:`Customer`; the services persist it. Input arrives as
plain mappings (JSON, CSV, keyword arguments), is structured by the package converter and checked
here, so that every way in obeys the same rules.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import operator
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any, Final, TypeVar

import attrs

from bigledger_customers.domain import validation as v
from bigledger_customers.domain.convert import structure_as, unstructure
from bigledger_customers.domain.external import CreditReport
from bigledger_customers.domain.tax import BankAccount, Preferences, TaxProfile
from bigledger_customers.errors import NotAllowed, ValidationError
from bigledger_customers.money import validate_currency

__all__ = [
    "MAX_ADDRESSES",
    "MAX_ATTACHMENT_BYTES",
    "MAX_CONTACTS",
    "Address",
    "AddressKind",
    "Attachment",
    "Contact",
    "Customer",
    "CustomerStatus",
    "CustomerType",
    "PartnerRole",
    "Priority",
]

MAX_CONTACTS: Final = 50
MAX_ADDRESSES: Final = 20
MAX_ATTACHMENT_BYTES: Final = 104_857_600  # 100 MiB per customer, DESIGN.md section 3


class CustomerStatus(enum.StrEnum):
    """Lifecycle status; see :data:`TRANSITIONS` for the allowed moves."""

    ACTIVE = "active"
    INACTIVE = "inactive"
    SUSPENDED = "suspended"
    VOIDED = "voided"
    MERGED = "merged"


class CustomerType(enum.StrEnum):
    """Kind of business relationship."""

    B2B = "b2b"
    B2C = "b2c"
    WHOLESALE = "wholesale"
    RETAIL = "retail"


class PartnerRole(enum.StrEnum):
    """Role in the sales channel."""

    CUSTOMER = "customer"
    AGENT = "agent"
    DISTRIBUTOR = "distributor"
    DEALER = "dealer"
    END_CUSTOMER = "end_customer"


class Priority(enum.StrEnum):
    """Service priority; VIP is a priority, not a status (DESIGN.md section 3)."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    VIP = "vip"


class AddressKind(enum.StrEnum):
    """What an address is used for; one default per kind."""

    BILLING = "billing"
    SHIPPING = "shipping"
    OFFICE = "office"
    OTHER = "other"


#: Allowed status moves. Voided can only be restored; merged is final here (unmerge is governance).
TRANSITIONS: Final[Mapping[CustomerStatus, frozenset[CustomerStatus]]] = {
    CustomerStatus.ACTIVE: frozenset({CustomerStatus.INACTIVE, CustomerStatus.SUSPENDED, CustomerStatus.VOIDED}),
    CustomerStatus.INACTIVE: frozenset({CustomerStatus.ACTIVE, CustomerStatus.SUSPENDED, CustomerStatus.VOIDED}),
    CustomerStatus.SUSPENDED: frozenset({CustomerStatus.ACTIVE, CustomerStatus.INACTIVE, CustomerStatus.VOIDED}),
    CustomerStatus.VOIDED: frozenset({CustomerStatus.ACTIVE}),
    CustomerStatus.MERGED: frozenset(),
}


@attrs.frozen(kw_only=True)
class Contact:
    """A person at the customer. Phones are stored in E.164, e-mail in its normal form."""

    id: str = ""
    name: str
    title: str = ""
    roles: frozenset[str] = frozenset()
    email: str | None = None
    phone: str | None = None
    mobile: str | None = None
    primary: bool = False
    marketing_email: bool = False
    marketing_sms: bool = False


@attrs.frozen(kw_only=True)
class Address:
    """A postal address; ``country`` is ISO 3166 alpha-2, coordinates are range-checked degrees."""

    id: str = ""
    kind: AddressKind = AddressKind.BILLING
    lines: tuple[str, ...] = ()
    city: str = ""
    state: str = ""
    postcode: str = ""
    country: str
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    delivery_zone: str | None = None
    contact_id: str | None = None
    is_default: bool = False


@attrs.frozen(kw_only=True)
class Attachment:
    """Metadata of a file kept in the host's storage."""

    id: str = ""
    name: str
    content_type: str
    size: int
    checksum: str
    storage_uri: str
    added_at: dt.datetime | None = None


@attrs.frozen(kw_only=True)
class Customer:
    """The customer aggregate: profile, contacts, addresses, custom values, attachments, version."""

    id: str
    code: str
    names: Mapping[str, str] = attrs.field(factory=dict)
    legal_name: str = ""
    customer_type: CustomerType = CustomerType.B2B
    partner_role: PartnerRole = PartnerRole.CUSTOMER
    industry: str | None = None
    category: str | None = None
    level: str | None = None
    region: str | None = None
    sales_rep: str | None = None
    branch: str | None = None
    priority: Priority = Priority.NORMAL
    lifecycle_stage: str | None = None
    preferred_language: str | None = None
    currency: str | None = None
    country: str | None = None
    tax_numbers: Mapping[str, str] = attrs.field(factory=dict)
    tax: TaxProfile = attrs.field(factory=TaxProfile)  # tax category, exemption, receivable account (domain.tax)
    bank_accounts: tuple[BankAccount, ...] = ()  # sensitive: masked without customer.view_sensitive (domain.tax)
    website: str | None = None
    social: Mapping[str, str] = attrs.field(factory=dict)
    tags: frozenset[str] = frozenset()
    notes: str = ""
    preferences: Preferences = attrs.field(factory=Preferences)  # payment methods, delivery (domain.tax)
    credit_report: CreditReport | None = None  # the latest credit bureau report (services.integrations)
    status: CustomerStatus = CustomerStatus.ACTIVE
    status_reason: str | None = None
    merged_into: str | None = None
    parent_id: str | None = None
    registration_approved: bool = False
    ordering_enabled: bool = False
    contacts: tuple[Contact, ...] = ()
    addresses: tuple[Address, ...] = ()
    custom_values: Mapping[str, Any] = attrs.field(factory=dict)
    attachments: tuple[Attachment, ...] = ()
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int = 0

    @property
    def name(self) -> str:
        """The display name: the legal name, else the first name given."""
        return self.legal_name or next(iter(self.names.values()), self.code)

    def name_in(self, language: str) -> str:
        """The display name in ``language``, falling back to :attr:`name`."""
        return self.names.get(language, self.name)

    @property
    def primary_contact(self) -> Contact | None:
        """The contact marked primary, if any."""
        return next((c for c in self.contacts if c.primary), None)

    def contact(self, contact_id: str) -> Contact:
        """The contact with ``contact_id`` (ValidationError when there is none)."""
        for c in self.contacts:
            if c.id == contact_id:
                return c
        raise ValidationError("no such contact", code="unknown_contact", field="contact_id", value=contact_id)

    def default_address(self, kind: AddressKind) -> Address | None:
        """The default address of ``kind``, if any."""
        return next((a for a in self.addresses if a.kind == kind and a.is_default), None)

    @property
    def attachment_bytes(self) -> int:
        """Total size of the attachments, in bytes."""
        return sum(a.size for a in self.attachments)

    @property
    def can_order(self) -> bool:
        """Active customers may place orders and reservations (DESIGN.md section 3)."""
        return self.status is CustomerStatus.ACTIVE


#: Fields a caller may set on create and update (system fields are managed by the library).
PROFILE_FIELDS: Final = frozenset(
    {
        "names",
        "legal_name",
        "customer_type",
        "partner_role",
        "industry",
        "category",
        "level",
        "region",
        "sales_rep",
        "branch",
        "priority",
        "lifecycle_stage",
        "preferred_language",
        "currency",
        "country",
        "tax_numbers",
        "tax",
        "bank_accounts",
        "preferences",
        "website",
        "social",
        "tags",
        "notes",
        "custom_values",
        "parent_id",
        "registration_approved",
    }
)
#: Extra fields accepted on create only; later changes go through their own commands.
CREATE_FIELDS: Final = PROFILE_FIELDS | {"code", "contacts", "addresses", "attachments"}
#: Input aliases: ``{"name": {...}}`` as in DESIGN.md section 8, ``type`` for customer_type.
ALIASES: Final = {"name": "names", "type": "customer_type"}
#: Reference-data kinds a customer field must name an existing entry of.
REFERENCE_FIELDS: Final = {
    "category": "category",
    "level": "level",
    "region": "region",
    "sales_rep": "sales_rep",
    "branch": "branch",
    "industry": "industry",
}

attrs.resolve_types(Contact)
attrs.resolve_types(Address)
attrs.resolve_types(Attachment)
attrs.resolve_types(Customer)
_FIELD_TYPES: Final = {f.name: f.type for f in attrs.fields(Customer)}

_T = TypeVar("_T", bound=attrs.AttrsInstance)


@functools.cache
def _init_fields(cls: type) -> tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]] | None:
    fields = [a for a in attrs.fields(cls) if a.init]
    if len(fields) < 2 or any(a.alias != a.name for a in fields):
        return None  # attrgetter of one name gives no tuple; a private name has another init name
    names = tuple(a.name for a in fields)
    return names, operator.attrgetter(*names)


def _evolve(inst: _T, changes: dict[str, Any]) -> _T:
    """``attrs.evolve(inst, **changes)`` without its per-field Python loop: the import builds and
    cleans every customer, contact and address, and evolving was ~6% of it (tests/test_import_fast.py)."""
    cls: Any = type(inst)
    plan = _init_fields(cls)
    if plan is None:
        return attrs.evolve(inst, **changes)  # type: ignore[misc]
    names, get = plan
    values = dict(zip(names, get(inst), strict=True))
    values.update(changes)
    return cls(**values)  # type: ignore[no-any-return]


class Problems:
    """Collects every validation problem of one input so the caller hears of all at once."""

    def __init__(self) -> None:
        self.found: list[ValidationError] = []

    def check(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn``; record its ValidationError (with details flattened) and return None."""
        try:
            return fn()
        except ValidationError as error:
            self.found.extend(e for e in error.details or (error,) if isinstance(e, ValidationError))
            return None

    def add(self, error: ValidationError) -> None:
        """Record one problem."""
        self.found.append(error)

    def raise_any(self) -> None:
        """Raise the problems found: one directly, several as one error with details."""
        if len(self.found) == 1:
            raise self.found[0]
        if self.found:
            first = self.found[0]
            raise ValidationError(
                f"{len(self.found)} problems: " + "; ".join(f"{e.field}: {e.message}" for e in self.found),
                code=first.code,
                field=first.field,
                value=first.value,
                details=self.found,
            )


def normalise_keys(data: Mapping[str, Any], allowed: frozenset[str]) -> dict[str, Any]:
    """Resolve aliases and refuse unknown or system fields, naming each."""
    problems = Problems()
    result: dict[str, Any] = {}
    for key, value in data.items():
        name = ALIASES.get(key, key)
        if name not in allowed:
            problems.add(ValidationError(f"{key!r} cannot be set here", code="unknown_field", field=key))
            continue
        result[name] = value
    problems.raise_any()
    return result


#: Text fields (``str`` or ``str | None``): the converter returns a ``str`` (or None where allowed)
#: as it is, so plain values skip it (held to the converter by tests/test_import_fast.py).
_TEXT_FIELDS: Final = frozenset(n for n, t in _FIELD_TYPES.items() if t is str or t == (str | None))
_OPTIONAL_TEXT_FIELDS: Final = frozenset(n for n, t in _FIELD_TYPES.items() if t == (str | None))


def _structure_fields(data: Mapping[str, Any], problems: Problems) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, raw in data.items():
        if name in _TEXT_FIELDS and (type(raw) is str or (raw is None and name in _OPTIONAL_TEXT_FIELDS)):
            out[name] = raw
        elif name == "custom_values":
            out[name] = problems.check(functools.partial(structure_as, raw, dict[str, Any], field=name))
        elif name == "names" and isinstance(raw, str):
            out[name] = {"en": raw}  # a plain string is an English name
        else:
            value = problems.check(functools.partial(structure_as, raw, _FIELD_TYPES[name], field=name))
            if value is not None or raw is None:
                out[name] = value
    return out


def apply_fields(customer: Customer, data: Mapping[str, Any], allowed: frozenset[str]) -> Customer:
    """Structure ``data`` onto ``customer`` (types only; :func:`check` enforces the rules)."""
    problems = Problems()
    fields = _structure_fields(normalise_keys(data, allowed), problems)
    problems.raise_any()
    return attrs.evolve(customer, **fields)


def _clean_text(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def _clean_contact(contact: Contact, index: int, region: str | None, problems: Problems) -> Contact:
    path = f"contacts[{index}]"
    changes: dict[str, Any] = {}
    if not contact.name.strip():
        problems.add(ValidationError("contact name is required", code="required", field=f"{path}.name"))
    for attr in ("phone", "mobile"):
        raw = getattr(contact, attr)
        if raw is not None:
            changes[attr] = problems.check(
                functools.partial(v.normalise_phone, raw, region=region, field=f"{path}.{attr}")
            )
    if contact.email is not None:
        changes["email"] = problems.check(lambda: v.normalise_email(contact.email, field=f"{path}.email"))
    changes["roles"] = frozenset(r.strip().lower() for r in contact.roles if r.strip())
    changes["name"] = contact.name.strip()
    return _evolve(contact, changes)


def _clean_address(address: Address, index: int, problems: Problems) -> Address:
    path = f"addresses[{index}]"
    changes: dict[str, Any] = {
        "country": problems.check(lambda: v.validate_country(address.country, field=f"{path}.country"))
        or address.country
    }
    if address.latitude is not None:
        problems.check(lambda: v.validate_latitude(address.latitude, field=f"{path}.latitude"))  # type: ignore[arg-type]
    if address.longitude is not None:
        problems.check(lambda: v.validate_longitude(address.longitude, field=f"{path}.longitude"))  # type: ignore[arg-type]
    if (address.latitude is None) != (address.longitude is None):
        problems.add(
            ValidationError("give both latitude and longitude or neither", code="invalid_coordinate", field=path)
        )
    return _evolve(address, changes)


def _check_contacts(given: tuple[Contact, ...], region: str | None, problems: Problems) -> tuple[Contact, ...]:
    if len(given) > MAX_CONTACTS:
        problems.add(
            ValidationError(
                f"at most {MAX_CONTACTS} contacts per customer",
                code="too_many_contacts",
                field=f"contacts[{MAX_CONTACTS}]",
                value=len(given),
            )
        )
    contacts = tuple(_clean_contact(x, i, region, problems) for i, x in enumerate(given))
    primaries = [i for i, x in enumerate(contacts) if x.primary]
    if len(primaries) > 1:
        problems.add(
            ValidationError(
                "only one contact can be primary",
                code="duplicate_primary_contact",
                field=f"contacts[{primaries[1]}].primary",
                value=True,
            )
        )
    return contacts


def _check_addresses(c: Customer, problems: Problems) -> tuple[Address, ...]:
    if len(c.addresses) > MAX_ADDRESSES:
        problems.add(
            ValidationError(
                f"at most {MAX_ADDRESSES} addresses per customer",
                code="too_many_addresses",
                field=f"addresses[{MAX_ADDRESSES}]",
                value=len(c.addresses),
            )
        )
    addresses = tuple(_clean_address(x, i, problems) for i, x in enumerate(c.addresses))
    seen: set[AddressKind] = set()
    contact_ids = {x.id for x in c.contacts}
    for i, address in enumerate(addresses):
        if address.is_default:
            if address.kind in seen:
                problems.add(
                    ValidationError(
                        f"only one default {address.kind} address",
                        code="duplicate_default_address",
                        field=f"addresses[{i}].is_default",
                        value=True,
                    )
                )
            seen.add(address.kind)
        if address.contact_id is not None and address.contact_id not in contact_ids:
            problems.add(
                ValidationError(
                    "address names a contact the customer does not have",
                    code="unknown_contact",
                    field=f"addresses[{i}].contact_id",
                    value=address.contact_id,
                )
            )
    return addresses


def check(customer: Customer, *, definitions: Mapping[str, Any] | None = None) -> Customer:
    """Clean and validate the whole aggregate; raise every problem found at once.

    ``definitions`` maps custom-field names to :class:`~bigledger_customers.domain.reference.CustomFieldDefinition`.
    """
    problems = Problems()
    c = customer
    changes: dict[str, Any] = {}
    names = {k.strip(): n.strip() for k, n in c.names.items() if n and n.strip()}
    for lang in names:
        problems.check(functools.partial(v.validate_language, lang, field=f"names.{lang}"))
    if not names and not c.legal_name.strip():
        problems.add(ValidationError("a customer needs a name", code="required", field="names"))
    changes["names"] = names
    changes["legal_name"] = c.legal_name.strip()
    if c.country is not None:
        changes["country"] = problems.check(lambda: v.validate_country(c.country))
    if c.currency is not None:
        changes["currency"] = problems.check(lambda: validate_currency(c.currency))
    if c.preferred_language is not None:
        changes["preferred_language"] = problems.check(
            lambda: v.validate_language(c.preferred_language, field="preferred_language")
        )
    for attr in ("industry", "category", "level", "region", "sales_rep", "branch", "lifecycle_stage", "website"):
        changes[attr] = _clean_text(getattr(c, attr))
    changes["tags"] = frozenset(t.strip().lower() for t in c.tags if t.strip())
    changes["tax_numbers"] = {k.strip(): n.strip().upper() for k, n in c.tax_numbers.items() if n.strip()}
    # Every check reads the input (cleaning keeps item ids) or the cleaned values gathered here, and
    # the aggregate is rebuilt once at the end: evolving a 37-field Customer costs more than the checks.
    final = {k: val for k, val in changes.items() if val is not None or getattr(c, k) is None}
    final["contacts"] = contacts = _check_contacts(c.contacts, final.get("country", c.country), problems)
    final["addresses"] = _check_addresses(c, problems)
    if c.attachment_bytes > MAX_ATTACHMENT_BYTES:
        problems.add(
            ValidationError(
                f"attachments may total at most {MAX_ATTACHMENT_BYTES} bytes",
                code="attachments_too_large",
                field="attachments",
                value=c.attachment_bytes,
            )
        )
    for i, a in enumerate(c.attachments):
        if a.size < 0:
            problems.add(ValidationError("size cannot be negative", field=f"attachments[{i}].size", value=a.size))
    if c.parent_id is not None and c.parent_id == c.id:
        problems.add(ValidationError("a customer cannot be its own parent", code="hierarchy_cycle", field="parent_id"))
    if definitions is not None:
        values = problems.check(lambda: check_custom_values(c.custom_values, definitions))
        if values is not None:
            final["custom_values"] = values
    if c.ordering_enabled and not any("orderer" in x.roles for x in contacts):
        problems.add(
            ValidationError(
                "ordering access needs at least one orderer contact", code="orderer_required", field="contacts"
            )
        )
    problems.raise_any()
    return _evolve(c, final)


def check_custom_values(values: Mapping[str, Any], definitions: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``values`` against their definitions; required fields must be present."""
    problems = Problems()
    clean: dict[str, Any] = {}
    for name, value in values.items():
        definition = definitions.get(name)
        if definition is None:
            problems.add(
                ValidationError("no such custom field", code="unknown_custom_field", field=f"custom_values.{name}")
            )
            continue
        result = problems.check(functools.partial(definition.clean, value))
        if result is not None:
            clean[name] = result
    for name, definition in definitions.items():
        if definition.required and values.get(name) is None:
            problems.add(
                ValidationError("this custom field is required", code="required", field=f"custom_values.{name}")
            )
    problems.raise_any()
    return clean


def ensure_editable(customer: Customer) -> None:
    """Voided and merged customers are read-only (voided ones may only be restored)."""
    if customer.status is CustomerStatus.VOIDED:
        raise NotAllowed(
            f"customer {customer.code} is voided; restore it before editing",
            code="customer_voided",
            field="status",
            value=customer.status.value,
        )
    if customer.status is CustomerStatus.MERGED:
        raise NotAllowed(
            f"customer {customer.code} was merged into another",
            code="customer_merged",
            field="status",
            value=customer.status.value,
        )


def transition(customer: Customer, to: CustomerStatus, *, reason: str | None) -> Customer:
    """Move to status ``to`` if :data:`TRANSITIONS` allows it; voiding revokes ordering access."""
    if to == customer.status:
        raise NotAllowed(f"customer is already {to}", code="status_unchanged", field="status", value=to.value)
    if to not in TRANSITIONS[customer.status]:
        raise NotAllowed(
            f"cannot go from {customer.status} to {to}", code="invalid_transition", field="status", value=to.value
        )
    changes: dict[str, Any] = {"status": to, "status_reason": reason}
    if to is CustomerStatus.VOIDED:
        changes["ordering_enabled"] = False  # DESIGN.md section 3: voiding revokes ordering access
    return attrs.evolve(customer, **changes)


def set_ordering_access(customer: Customer, enabled: bool, *, require_approved_registration: bool = True) -> Customer:
    """Enable or revoke online ordering; enabling needs an orderer contact and, by default, approval."""
    ensure_editable(customer)
    if enabled:
        if require_approved_registration and not customer.registration_approved:
            raise NotAllowed(
                "ordering access needs an approved registration",
                code="registration_not_approved",
                field="registration_approved",
                value=False,
            )
        if customer.status is not CustomerStatus.ACTIVE:
            raise NotAllowed("only active customers can order", code="customer_not_active", field="status")
    return check(attrs.evolve(customer, ordering_enabled=enabled))


def add_item(items: tuple[Any, ...], item: Any) -> tuple[Any, ...]:
    """Append ``item``; when it is primary/default, the rules in :func:`check` decide if that is allowed."""
    return (*items, item)


def replace_item(items: Iterable[Any], item_id: str, item: Any, field: str) -> tuple[Any, ...]:
    """Replace the element whose id is ``item_id``."""
    items = tuple(items)
    if not any(x.id == item_id for x in items):
        raise ValidationError(f"no such {field}", code=f"unknown_{field}", field=f"{field}_id", value=item_id)
    return tuple(item if x.id == item_id else x for x in items)


def remove_item(items: Iterable[Any], item_id: str, field: str) -> tuple[Any, ...]:
    """Remove the element whose id is ``item_id``."""
    items = tuple(items)
    kept = tuple(x for x in items if x.id != item_id)
    if len(kept) == len(items):
        raise ValidationError(f"no such {field}", code=f"unknown_{field}", field=f"{field}_id", value=item_id)
    return kept


def diff(before: Customer | None, after: Customer | None) -> dict[str, list[Any]]:
    """Changed fields as ``{field: [before, after]}`` in JSON form, for the audit trail."""
    old = unstructure(before) if before is not None else {}
    new = unstructure(after) if after is not None else {}
    skip = {"version", "updated_at"}
    return {
        k: [old.get(k), new.get(k)] for k in sorted(set(old) | set(new)) if k not in skip and old.get(k) != new.get(k)
    }
