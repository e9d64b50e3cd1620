"""bigledger_customers: the customer master and customer-account core of an ERP.

>>> from bigledger_customers import connect, Actor, Money
>>> book = connect("memory://")
>>> admin = Actor(id="u1", roles={"sales_admin"})
>>> _ = book.reference.add("category", "WHOLESALE", name="Wholesale", actor=admin)
>>> c = book.customers.create({"code": "CUS-001", "name": {"en": "ABC Manufacturing Sdn Bhd"},
...                            "category": "wholesale", "country": "MY", "currency": "MYR"}, actor=admin)
>>> c.category, c.status
('WHOLESALE', <CustomerStatus.ACTIVE: 'active'>)
"""

from bigledger_customers._book import Book, connect
from bigledger_customers.domain.customer import (
    Address,
    AddressKind,
    Attachment,
    Contact,
    Customer,
    CustomerStatus,
    CustomerType,
    PartnerRole,
    Priority,
)
from bigledger_customers.domain.records import SYSTEM, Actor, AuditEntry, Channel, Event, Interaction
from bigledger_customers.domain.reference import (
    CustomFieldDefinition,
    FieldType,
    NumberingScheme,
    ReferenceEntry,
    ReferenceKind,
)
from bigledger_customers.domain.search import CustomerQuery, Page, SortKey
from bigledger_customers.domain.validation import normalise_code, normalise_email, normalise_phone
from bigledger_customers.errors import (
    BigLedgerError,
    ConcurrencyError,
    Conflict,
    ImportReport,
    InsufficientFunds,
    NotAllowed,
    NotFound,
    PermissionDenied,
    RowError,
    ValidationError,
)
from bigledger_customers.money import Money
from bigledger_customers.ports import Clock, SystemClock
from bigledger_customers.services._base import Settings

__version__ = "0.1.0.dev0"

__all__ = [
    "SYSTEM",
    "Actor",
    "Address",
    "AddressKind",
    "Attachment",
    "AuditEntry",
    "BigLedgerError",
    "Book",
    "Channel",
    "Clock",
    "ConcurrencyError",
    "Conflict",
    "Contact",
    "CustomFieldDefinition",
    "Customer",
    "CustomerQuery",
    "CustomerStatus",
    "CustomerType",
    "Event",
    "FieldType",
    "ImportReport",
    "InsufficientFunds",
    "Interaction",
    "Money",
    "NotAllowed",
    "NotFound",
    "NumberingScheme",
    "Page",
    "PartnerRole",
    "PermissionDenied",
    "Priority",
    "ReferenceEntry",
    "ReferenceKind",
    "RowError",
    "Settings",
    "SortKey",
    "SystemClock",
    "ValidationError",
    "__version__",
    "connect",
    "normalise_code",
    "normalise_email",
    "normalise_phone",
]
