"""Who may do what: permissions, roles, the access policy and data scopes (issue 8). Pure.

A :class:`Permission` is a stable dotted name (``customer.create``, ``credit.change_limit``); it is
what a command asks for and what a :class:`PermissionDenied` names. An :class:`AccessPolicy` maps
role names to a :class:`Grant`: the permissions the role holds and the :class:`Scope` of customers
it holds them over (all, the actor's own customers, the actor's branch). The library ships
:data:`DEFAULT_ACCESS_POLICY`; a host passes its own through ``Settings(access=...)``.

>>> rep = Actor(id="u7", roles={"sales_rep"}, sales_rep="REP-7")
>>> DEFAULT_ACCESS_POLICY.permits(rep, Permission.CUSTOMER_EDIT)
True
>>> DEFAULT_ACCESS_POLICY.scope_for(rep, Permission.CUSTOMER_EDIT)
DataScope(unrestricted=False, sales_rep='REP-7', branch=None)
>>> DEFAULT_ACCESS_POLICY.permits(rep, Permission.CREDIT_CHANGE_LIMIT)
False

An actor with several roles holds the union of their grants; a permission held over all customers
by any of its roles is held over all customers (scopes of the other roles no longer narrow it).
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Iterable, Mapping
from typing import Any, Final

import attrs

from bigledger_customers.domain.records import Actor
from bigledger_customers.errors import ValidationError

__all__ = [
    "ALL_PERMISSIONS",
    "DEFAULT_ACCESS_POLICY",
    "MASK",
    "NOTHING",
    "SENSITIVE_FIELDS",
    "UNRESTRICTED",
    "AccessPolicy",
    "DataScope",
    "Grant",
    "Permission",
    "Role",
    "Scope",
    "mask_customer",
    "mask_value",
    "refuse_masked",
]


class Permission(enum.StrEnum):
    """What a command needs. Values are stable: hosts store them in their own role tables."""

    CUSTOMER_READ = "customer.read"
    CUSTOMER_VIEW_SENSITIVE = "customer.view_sensitive"
    CUSTOMER_CREATE = "customer.create"
    CUSTOMER_EDIT = "customer.edit"
    CUSTOMER_ASSIGN = "customer.assign"
    CUSTOMER_SET_STATUS = "customer.set_status"
    CUSTOMER_VOID = "customer.void"
    CUSTOMER_DELETE = "customer.delete"
    CUSTOMER_IMPORT = "customer.import"
    CUSTOMER_EXPORT = "customer.export"
    CUSTOMER_MERGE = "customer.merge"
    REFERENCE_MANAGE = "reference.manage"
    AUDIT_READ = "audit.read"
    #: Reading the outbox (``book.events.read``): every customer's events, so only over all customers.
    EVENTS_READ = "events.read"
    CREDIT_VIEW = "credit.view"
    CREDIT_CHANGE_LIMIT = "credit.change_limit"
    CREDIT_MANAGE = "credit.manage"
    CREDIT_OVERRIDE = "credit.override"
    RECEIVABLES_POST = "receivables.post"
    ACCOUNTS_VIEW = "accounts.view"
    ACCOUNTS_ENABLE = "accounts.enable"
    ACCOUNTS_SETTLEMENT = "accounts.settlement"
    ACCOUNTS_SETTLEMENT_APPROVE = "accounts.settlement.approve"
    ACCOUNTS_TOP_UP = "accounts.top_up"
    ACCOUNTS_INCOME_SUBMIT = "accounts.income.submit"
    ACCOUNTS_INCOME_APPROVE = "accounts.income.approve"
    ACCOUNTS_EXPENSE_SUBMIT = "accounts.expense.submit"
    ACCOUNTS_EXPENSE_APPROVE = "accounts.expense.approve"
    ACCOUNTS_PAY = "accounts.pay"
    REBATE_GRANT_SUBMIT = "rebate.grant.submit"
    REBATE_GRANT_APPROVE = "rebate.grant.approve"
    REBATE_RULES_MANAGE = "rebate.rules.manage"
    APPROVAL_RULES_MANAGE = "approval.rules.manage"
    PRIVACY_EXPORT = "privacy.export"
    PRIVACY_ERASE = "privacy.erase"


#: Every permission the library defines (a grant of ``"*"`` holds these and any a host adds).
ALL_PERMISSIONS: Final = frozenset(Permission)


class Role(enum.StrEnum):
    """The roles of the default policy (DESIGN.md section 3 and issue 8). Hosts may add others."""

    ADMIN = "admin"
    SALES_ADMIN = "sales_admin"
    CREDIT_CONTROLLER = "credit_controller"
    FINANCE_APPROVER = "finance_approver"
    SALES_REP = "sales_rep"
    BRANCH_STAFF = "branch_staff"
    AUDITOR = "auditor"
    SYSTEM = "system"


class Scope(enum.StrEnum):
    """Over which customers a role holds its permissions."""

    ALL = "all"
    #: Customers whose ``sales_rep`` equals the actor's ``sales_rep``.
    OWN_CUSTOMERS = "own_customers"
    #: Customers whose ``branch`` equals the actor's ``branch``.
    OWN_BRANCH = "own_branch"


def _names(values: Iterable[str]) -> frozenset[str]:
    if isinstance(values, str):
        raise TypeError("give an iterable of permission names, not one string")
    return frozenset(str(v) for v in values)


@attrs.frozen
class Grant:
    """What one role holds: permission names (``"*"`` for all) over a scope of customers."""

    permissions: frozenset[str] = attrs.field(converter=_names)
    scope: Scope = attrs.field(default=Scope.ALL, converter=Scope)

    def holds(self, permission: str) -> bool:
        """True when the grant includes ``permission``."""
        return "*" in self.permissions or str(permission) in self.permissions


@attrs.frozen(kw_only=True)
class DataScope:
    """The customers an actor may touch with one permission.

    Unrestricted, or those whose ``sales_rep`` equals :attr:`sales_rep` *or* whose ``branch``
    equals :attr:`branch` (an actor with neither identity sees nothing). Adapters apply it in the
    query (``CustomerQuery.scope``), never after fetching.
    """

    unrestricted: bool = False
    sales_rep: str | None = None
    branch: str | None = None

    def covers(self, customer: Any) -> bool:
        """True when ``customer`` (anything with ``sales_rep`` and ``branch``) is inside the scope."""
        if self.unrestricted:
            return True
        return (self.sales_rep is not None and customer.sales_rep == self.sales_rep) or (
            self.branch is not None and customer.branch == self.branch
        )

    @property
    def is_empty(self) -> bool:
        """True when the scope can hold no customer at all."""
        return not self.unrestricted and self.sales_rep is None and self.branch is None


#: Every customer.
UNRESTRICTED: Final = DataScope(unrestricted=True)
#: No customer.
NOTHING: Final = DataScope()


def _roles(value: Mapping[str, Grant]) -> Mapping[str, Grant]:
    return {str(name): grant for name, grant in value.items()}


@attrs.frozen
class AccessPolicy:
    """Role name to :class:`Grant`. Unknown roles hold nothing.

    >>> policy = DEFAULT_ACCESS_POLICY.with_role("cashier", Grant({"customer.read", "accounts.pay"}))
    >>> policy.permits(Actor(id="c1", roles={"cashier"}), "accounts.pay")
    True
    """

    roles: Mapping[str, Grant] = attrs.field(converter=_roles, hash=False)

    def grants(self, actor: Actor) -> list[Grant]:
        """The grants of the actor's roles that this policy knows."""
        return [self.roles[r] for r in sorted(actor.roles) if r in self.roles]

    def permits(self, actor: Actor, permission: str) -> bool:
        """True when some role of the actor holds ``permission`` (over any scope)."""
        return any(g.holds(permission) for g in self.grants(actor))

    def scope_for(self, actor: Actor, permission: str) -> DataScope | None:
        """Over which customers the actor holds ``permission``; None when it does not hold it."""
        held = [g for g in self.grants(actor) if g.holds(permission)]
        if not held:
            return None
        if any(g.scope is Scope.ALL for g in held):
            return UNRESTRICTED
        scopes = {g.scope for g in held}
        # An empty identity ("") matches no stored value (stored text is stripped to None).
        return DataScope(
            sales_rep=(actor.sales_rep or "") if Scope.OWN_CUSTOMERS in scopes else None,
            branch=(actor.branch or "") if Scope.OWN_BRANCH in scopes else None,
        )

    def roles_with(self, permission: str) -> frozenset[str]:
        """The roles that hold ``permission`` (for documentation and for approval steps)."""
        return frozenset(name for name, grant in self.roles.items() if grant.holds(permission))

    def with_role(self, name: str, grant: Grant) -> AccessPolicy:
        """A policy where role ``name`` holds ``grant`` (added or replaced)."""
        return AccessPolicy({**self.roles, name: grant})

    def without_role(self, name: str) -> AccessPolicy:
        """A policy without role ``name``."""
        return AccessPolicy({k: g for k, g in self.roles.items() if k != name})


P = Permission
_READ: Final = {P.CUSTOMER_READ, P.CREDIT_VIEW, P.ACCOUNTS_VIEW}
_MAINTAIN: Final = {
    P.CUSTOMER_CREATE,
    P.CUSTOMER_EDIT,
    P.CUSTOMER_ASSIGN,
    P.CUSTOMER_SET_STATUS,
    P.CUSTOMER_VOID,
    P.CUSTOMER_DELETE,
    P.CUSTOMER_IMPORT,
    P.CUSTOMER_EXPORT,
    P.CUSTOMER_VIEW_SENSITIVE,
    P.REFERENCE_MANAGE,
}

#: The default policy (docs/permissions.md has the table). Sales admin is the minimum level that
#: maintains customers; approving roles hold the ``*.approve`` permissions the approval steps need.
DEFAULT_ACCESS_POLICY: Final = AccessPolicy(
    {
        Role.ADMIN: Grant({"*"}),
        Role.SYSTEM: Grant({"*"}),
        Role.SALES_ADMIN: Grant(
            {
                *_READ,
                *_MAINTAIN,
                P.ACCOUNTS_ENABLE,
                P.ACCOUNTS_SETTLEMENT,
                P.ACCOUNTS_TOP_UP,
                P.ACCOUNTS_INCOME_SUBMIT,
                P.ACCOUNTS_EXPENSE_SUBMIT,
                P.ACCOUNTS_PAY,
                P.REBATE_GRANT_SUBMIT,
                P.RECEIVABLES_POST,
                P.PRIVACY_EXPORT,
            }
        ),
        Role.CREDIT_CONTROLLER: Grant(
            {
                *_READ,
                P.CUSTOMER_VIEW_SENSITIVE,
                P.CUSTOMER_SET_STATUS,
                P.CUSTOMER_EXPORT,
                P.CREDIT_CHANGE_LIMIT,
                P.CREDIT_MANAGE,
                P.CREDIT_OVERRIDE,
                P.RECEIVABLES_POST,
            }
        ),
        Role.FINANCE_APPROVER: Grant(
            {
                *_READ,
                P.CUSTOMER_VIEW_SENSITIVE,
                P.ACCOUNTS_INCOME_APPROVE,
                P.ACCOUNTS_EXPENSE_APPROVE,
                P.ACCOUNTS_SETTLEMENT_APPROVE,
                P.REBATE_GRANT_APPROVE,
                P.CREDIT_OVERRIDE,
            }
        ),
        Role.SALES_REP: Grant({*_READ, P.CUSTOMER_EDIT, P.CUSTOMER_EXPORT, P.ACCOUNTS_PAY}, Scope.OWN_CUSTOMERS),
        Role.BRANCH_STAFF: Grant({*_READ, P.CUSTOMER_EDIT, P.CUSTOMER_EXPORT, P.ACCOUNTS_PAY}, Scope.OWN_BRANCH),
        Role.AUDITOR: Grant({*_READ, P.CUSTOMER_VIEW_SENSITIVE, P.CUSTOMER_EXPORT, P.AUDIT_READ, P.EVENTS_READ}),
    }
)

#: Fields masked for actors without ``customer.view_sensitive`` (those present on the record).
SENSITIVE_FIELDS: Final = ("tax_numbers", "bank_accounts")
#: What replaces the hidden part of a sensitive value.
MASK: Final = "****"


def mask_value(value: str) -> str:
    """A sensitive value with all but its last four characters hidden (short values entirely).

    >>> mask_value("W10-1808-32000001"), mask_value("123")
    ('****0001', '****')
    """
    return MASK + value[-4:] if len(value) > 8 else MASK


#: The parts of a bank account (``domain.tax.BankAccount``) that are masked; the bank, holder and
#: SWIFT/BIC code stay readable so a clerk can still tell the accounts apart.
BANK_SECRETS: Final = ("account_number", "iban")


def _mask_any(value: Any) -> Any:
    if isinstance(value, str):
        return mask_value(value)
    if hasattr(value, "masked"):  # a value object that knows its secret parts (BankAccount)
        return value.masked()
    if isinstance(value, Mapping):
        if any(k in value for k in BANK_SECRETS):  # a bank account as JSON
            return {k: _mask_any(v) if k in BANK_SECRETS else v for k, v in value.items()}
        return {k: _mask_any(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_mask_any(v) for v in value)
    return value


def mask_customer(customer: Any) -> Any:
    """The customer (an attrs value or a JSON mapping) with :data:`SENSITIVE_FIELDS` masked.

    >>> mask_customer({"code": "C1", "bank_accounts": [
    ...     {"bank": "Maybank", "account_number": "514012345678", "iban": None}]})
    {'code': 'C1', 'bank_accounts': [{'bank': 'Maybank', 'account_number': '****5678', 'iban': None}]}
    """
    if isinstance(customer, Mapping):
        return {k: _mask_any(v) if k in SENSITIVE_FIELDS else v for k, v in customer.items()}
    present = {f.name for f in attrs.fields(type(customer))}
    changes = {name: _mask_any(getattr(customer, name)) for name in SENSITIVE_FIELDS if name in present}
    if not changes:
        return customer
    masked = copy.copy(customer)  # not evolve: a mask must not go through the field converters again
    for name, value in changes.items():
        object.__setattr__(masked, name, value)
    return masked


def _has_mask(value: Any) -> bool:
    if isinstance(value, str):
        return value.startswith(MASK)
    if isinstance(value, Mapping):
        return any(_has_mask(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_mask(v) for v in value)
    return False


def refuse_masked(data: Mapping[str, Any]) -> None:
    """Refuse input that writes a masked value back into a sensitive field (a form round-trip).

    >>> try:
    ...     refuse_masked({"tax_numbers": {"sst": "****0001"}})
    ... except ValidationError as error:
    ...     error.code
    'masked_value'
    """
    for name in SENSITIVE_FIELDS:
        if name in data and _has_mask(data[name]):
            raise ValidationError(
                f"{name} holds a masked value; send the real value or leave it out", code="masked_value", field=name
            )
