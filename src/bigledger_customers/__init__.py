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
from bigledger_customers.domain.access import (
    DEFAULT_ACCESS_POLICY,
    AccessPolicy,
    DataScope,
    Grant,
    Permission,
    Role,
    Scope,
)
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
from bigledger_customers.domain.duplicates import DuplicateMatch, MatchWeights
from bigledger_customers.domain.merge import MergeRecord, MergeStatus
from bigledger_customers.domain.privacy import Consent, ErasureReport
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
from bigledger_customers.services.access import acting_as, current_actor

__version__ = "0.1.0.dev0"

__all__ = [
    "DEFAULT_ACCESS_POLICY",
    "SYSTEM",
    "AccessPolicy",
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
    "Consent",
    "Contact",
    "CustomFieldDefinition",
    "Customer",
    "CustomerQuery",
    "CustomerStatus",
    "CustomerType",
    "DataScope",
    "DuplicateMatch",
    "ErasureReport",
    "Event",
    "FieldType",
    "Grant",
    "ImportReport",
    "InsufficientFunds",
    "Interaction",
    "MatchWeights",
    "MergeRecord",
    "MergeStatus",
    "Money",
    "NotAllowed",
    "NotFound",
    "NumberingScheme",
    "Page",
    "PartnerRole",
    "Permission",
    "PermissionDenied",
    "Priority",
    "ReferenceEntry",
    "ReferenceKind",
    "Role",
    "RowError",
    "Scope",
    "Settings",
    "SortKey",
    "SystemClock",
    "ValidationError",
    "__version__",
    "acting_as",
    "connect",
    "current_actor",
    "normalise_code",
    "normalise_email",
    "normalise_phone",
]
