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
from bigledger_customers.domain.accounts import (
    Account,
    ExpenseRecord,
    GrantShare,
    Hold,
    HoldKind,
    HoldStatus,
    IncomeMethod,
    IncomeRecord,
    LedgerEntry,
    PlatformFee,
    RecordStatus,
    SettlementMethod,
    TopUpRecord,
)
from bigledger_customers.domain.aging import (
    AgingBuckets,
    AgingReport,
    AgingRow,
    DunningLevel,
    DunningPolicy,
    DunningStatus,
    PaymentBehaviour,
)
from bigledger_customers.domain.approvals import (
    ApprovalPolicy,
    ApprovalRequest,
    ApprovalRule,
    ApprovalStatus,
    ApprovalStep,
    Comparison,
    Condition,
)
from bigledger_customers.domain.checkout import Order, PaymentPlan, Quote, Reservation, ReservationState
from bigledger_customers.domain.credit import (
    CreditDecision,
    CreditHold,
    CreditOutcome,
    CreditPolicy,
    CreditProfile,
    Exposure,
    OpenItem,
    Reason,
    Severity,
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
from bigledger_customers.domain.rebates import (
    GrantSource,
    GrantStatus,
    OrderRebateRule,
    RebateAllowance,
    RebateGrant,
    RuleBase,
    RuleTrigger,
    ScopeKind,
    UsageRule,
)

# ``Scope`` is the access-control scope; the rebate rules' scope is exported as ``RebateScope``.
from bigledger_customers.domain.rebates import Scope as RebateScope
from bigledger_customers.domain.records import SYSTEM, Actor, AuditEntry, Channel, Event, Interaction
from bigledger_customers.domain.reference import (
    CustomFieldDefinition,
    FieldType,
    NumberingScheme,
    ReferenceEntry,
    ReferenceKind,
)
from bigledger_customers.domain.search import CustomerQuery, Page, SortKey
from bigledger_customers.domain.terms import Instalment, PaymentTerms, TermsKind
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
    RowApproval,
    RowError,
    ValidationError,
)
from bigledger_customers.money import Money
from bigledger_customers.ports import Clock, SystemClock
from bigledger_customers.services._base import Settings
from bigledger_customers.services.access import acting_as, current_actor
from bigledger_customers.services.accounts import (
    AccountBalance,
    EnableReport,
    ExpiryReport,
    ReconcileReport,
    SettlementChange,
)
from bigledger_customers.services.approvals import ApprovalHandler, ApprovalService
from bigledger_customers.services.credit import CreditConfig, LimitChange
from bigledger_customers.services.customers import StatusChange

__version__ = "0.1.0.dev0"

__all__ = [
    "DEFAULT_ACCESS_POLICY",
    "SYSTEM",
    "AccessPolicy",
    "Account",
    "AccountBalance",
    "Actor",
    "Address",
    "AddressKind",
    "AgingBuckets",
    "AgingReport",
    "AgingRow",
    "ApprovalHandler",
    "ApprovalPolicy",
    "ApprovalRequest",
    "ApprovalRule",
    "ApprovalService",
    "ApprovalStatus",
    "ApprovalStep",
    "Attachment",
    "AuditEntry",
    "BigLedgerError",
    "Book",
    "Channel",
    "Clock",
    "Comparison",
    "ConcurrencyError",
    "Condition",
    "Conflict",
    "Consent",
    "Contact",
    "CreditConfig",
    "CreditDecision",
    "CreditHold",
    "CreditOutcome",
    "CreditPolicy",
    "CreditProfile",
    "CustomFieldDefinition",
    "Customer",
    "CustomerQuery",
    "CustomerStatus",
    "CustomerType",
    "DataScope",
    "DunningLevel",
    "DunningPolicy",
    "DunningStatus",
    "DuplicateMatch",
    "EnableReport",
    "ErasureReport",
    "Event",
    "ExpenseRecord",
    "ExpiryReport",
    "Exposure",
    "FieldType",
    "Grant",
    "GrantShare",
    "GrantSource",
    "GrantStatus",
    "Hold",
    "HoldKind",
    "HoldStatus",
    "ImportReport",
    "IncomeMethod",
    "IncomeRecord",
    "Instalment",
    "InsufficientFunds",
    "Interaction",
    "LedgerEntry",
    "LimitChange",
    "MatchWeights",
    "MergeRecord",
    "MergeStatus",
    "Money",
    "NotAllowed",
    "NotFound",
    "NumberingScheme",
    "OpenItem",
    "Order",
    "OrderRebateRule",
    "Page",
    "PartnerRole",
    "PaymentBehaviour",
    "PaymentPlan",
    "PaymentTerms",
    "Permission",
    "PermissionDenied",
    "PlatformFee",
    "Priority",
    "Quote",
    "Reason",
    "RebateAllowance",
    "RebateGrant",
    "RebateScope",
    "ReconcileReport",
    "RecordStatus",
    "ReferenceEntry",
    "ReferenceKind",
    "Reservation",
    "ReservationState",
    "Role",
    "RowApproval",
    "RowError",
    "RuleBase",
    "RuleTrigger",
    "Scope",
    "ScopeKind",
    "Settings",
    "SettlementChange",
    "SettlementMethod",
    "Severity",
    "SortKey",
    "StatusChange",
    "SystemClock",
    "TermsKind",
    "TopUpRecord",
    "UsageRule",
    "ValidationError",
    "__version__",
    "acting_as",
    "connect",
    "current_actor",
    "normalise_code",
    "normalise_email",
    "normalise_phone",
]
