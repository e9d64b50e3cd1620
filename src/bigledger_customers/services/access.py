"""Access checks every service shares: who acts, may they, over which customers (issue 8).

Services call ``self._s.authorize(actor, permission)`` as the first line of every command and
``self._s.read_access(actor)`` in queries; both live on
:class:`~bigledger_customers.services._base.Services` and delegate here.

A host that does not want to pass ``actor=`` on every call sets it once per request:

>>> from bigledger_customers import connect, Actor, acting_as
>>> book = connect("memory://")
>>> with acting_as(Actor(id="u1", roles={"sales_admin"})):
...     book.customers.create({"name": "ABC Trading"}).code
'CUS-000001'

A refusal raises :class:`~bigledger_customers.PermissionDenied` and leaves one ``access.denied``
audit entry on the actor (``book.access.refusals(actor_id)``); nothing else is written.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from bigledger_customers.domain.access import UNRESTRICTED, AccessPolicy, DataScope, Permission, mask_customer
from bigledger_customers.domain.customer import Customer
from bigledger_customers.domain.records import Actor, AuditEntry
from bigledger_customers.errors import NotFound, PermissionDenied, ValidationError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from bigledger_customers.ports import UnitOfWork
    from bigledger_customers.services._base import Services

__all__ = ["AccessService", "ReadAccess", "acting_as", "current_actor"]

#: Entity type of refusal audit entries (the entity id is the actor's id).
DENIAL_ENTITY = "actor"
DENIAL_ACTION = "access.denied"

T = TypeVar("T")

_ACTING: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("bigledger_customers_actor", default=None)


@contextlib.contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    """Within the block, commands and queries called without ``actor=`` run as ``actor``.

    Context-local (threads and asyncio tasks each see their own), and nests: the innermost wins.
    """
    if not isinstance(actor, Actor):
        raise ValidationError("actor must be an Actor", code="invalid_actor", field="actor", value=actor)
    token = _ACTING.set(actor)
    try:
        yield actor
    finally:
        _ACTING.reset(token)


def current_actor() -> Actor | None:
    """The actor set by the innermost :func:`acting_as`, or None."""
    return _ACTING.get()


def resolve_actor(actor: Actor | None) -> Actor:
    """``actor`` if given, else the context's; a command with neither is a ValidationError."""
    chosen = actor if actor is not None else _ACTING.get()
    if chosen is None:
        raise ValidationError(
            "no actor: pass actor= or run inside acting_as(actor)", code="invalid_actor", field="actor"
        )
    if not isinstance(chosen, Actor):
        raise ValidationError("actor must be an Actor", code="invalid_actor", field="actor", value=chosen)
    return chosen


@attrs.frozen
class ReadAccess:
    """What a query may show: the actor (None for a trusted host call), the customers, the fields."""

    actor: Actor | None
    scope: DataScope
    sensitive: bool

    def covers(self, customer: Customer) -> bool:
        """True when the query may show ``customer``."""
        return self.scope.covers(customer)

    def show(self, customer: Customer) -> Customer:
        """``customer`` as this reader may see it (sensitive fields masked without the permission)."""
        return customer if self.sensitive else mask_customer(customer)

    def scope_or_none(self) -> DataScope | None:
        """The scope for ``CustomerQuery.scope`` (None when unrestricted)."""
        return None if self.scope.unrestricted else self.scope


#: A query without any actor is the host's own call: everything, unmasked.
TRUSTED = ReadAccess(None, UNRESTRICTED, True)


def deny(services: Services, actor: Actor, permission: str, *, reason: str, customer: str | None) -> None:
    """Audit a refusal in its own unit of work (the command's own work never started)."""
    with services.uow() as uow:
        uow.audit.add(
            AuditEntry(
                id=services.new_id(),
                at=services.clock.now(),
                actor_id=actor.id,
                action=DENIAL_ACTION,
                entity_type=DENIAL_ENTITY,
                entity_id=actor.id,
                changes={"permission": str(permission), "reason": reason, "customer": customer},
            )
        )
        uow.commit()


def _customer_ref(customer: Customer | str | None) -> str | None:
    if customer is None or isinstance(customer, str):
        return customer
    return customer.code or customer.id


#: What :func:`authorize` checks against: a customer record, its code or id, or a function that
#: finds the code or id only when it is needed (a scoped actor, or a refusal to audit).
CustomerRef = Customer | str | Callable[[], str | None] | None


def authorize(services: Services, actor: Actor | None, permission: str, customer: CustomerRef = None) -> Actor:
    """Check that ``actor`` (or the context's) holds ``permission`` over ``customer``; return the actor.

    Without the permission: PermissionDenied ``permission_denied`` (field: the permission, value:
    the actor id). A customer outside the actor's scope: NotFound when named by code or id (its
    existence is not revealed), PermissionDenied ``out_of_scope`` when passed as a record (a new
    customer being created). Every refusal is audited. A function given as ``customer`` is called
    only when the answer depends on it, so a whole-book actor costs no read.
    """
    who = resolve_actor(actor)
    scope = services.settings.access.scope_for(who, permission)
    if scope is not None and scope.unrestricted:
        return who
    target = customer() if callable(customer) else customer
    ref = _customer_ref(target)
    if scope is None:
        deny(services, who, permission, reason="missing_permission", customer=ref)
        raise PermissionDenied(
            f"{who.id} may not {permission}", code="permission_denied", field=str(permission), value=who.id
        )
    if target is None:
        return who
    if isinstance(target, str):
        from bigledger_customers.services._base import load_customer

        with services.uow(write=False) as uow:
            try:
                record = load_customer(uow, target, follow_merge=False)
            except NotFound:
                record = None
        if record is None or not scope.covers(record):
            if record is not None:
                deny(services, who, permission, reason="out_of_scope", customer=ref)
            raise NotFound(f"no customer {target!r}", code="customer_not_found", field="customer", value=target)
        return who
    if not scope.covers(target):
        deny(services, who, permission, reason="out_of_scope", customer=ref)
        raise PermissionDenied(
            f"{who.id} may not {permission} a customer outside their scope",
            code="out_of_scope",
            field=str(permission),
            value=who.id,
        )
    return who


def read_access(services: Services, actor: Actor | None, permission: str = Permission.CUSTOMER_READ) -> ReadAccess:
    """What a query for ``actor`` (or the context's) may show; a refusal is audited and raised.

    With no actor at all the query is the host's own: unrestricted and unmasked.
    """
    who = actor if actor is not None else _ACTING.get()
    if who is None:
        return TRUSTED
    who = authorize(services, who, permission)
    scope = services.settings.access.scope_for(who, permission)
    assert scope is not None  # authorize passed
    sensitive = services.settings.access.permits(who, Permission.CUSTOMER_VIEW_SENSITIVE)
    return ReadAccess(who, scope, sensitive)


def refusals(services: Services, actor_id: str) -> Sequence[AuditEntry]:
    """The audited refusals of one actor, oldest first."""
    with services.uow(write=False) as uow:
        return [e for e in uow.audit.for_entity(DENIAL_ENTITY, actor_id) if e.action == DENIAL_ACTION]


def mask_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Audit ``changes`` (``{field: [before, after]}``) with sensitive fields masked."""
    return {k: mask_customer({k: v})[k] for k, v in changes.items()}


def out_of_scope(services: Services, access: ReadAccess, permission: str, ref: str) -> NotFound:
    """Audit a look-up outside the reader's scope and give the NotFound to raise (existence is not told)."""
    if access.actor is not None:
        deny(services, access.actor, permission, reason="out_of_scope", customer=ref)
    return NotFound(f"no customer {ref!r}", code="customer_not_found", field="customer", value=ref)


def scoped_read(
    services: Services, actor: Actor | None, permission: str, ref: str, read: Callable[[UnitOfWork, Customer], T]
) -> T:
    """``read(uow, customer)`` in a read unit of work when ``actor`` holds ``permission`` over the
    customer ``ref`` (code or id); outside the reader's scope the audited NotFound of
    :func:`out_of_scope`, as for a customer that does not exist."""
    from bigledger_customers.services._base import load_customer

    access = read_access(services, actor, permission)
    with services.uow(write=False) as uow:
        customer = load_customer(uow, ref)
        if access.covers(customer):
            return read(uow, customer)
    raise out_of_scope(services, access, permission, ref)


def require_whole_book(services: Services, actor: Actor | None, permission: str, message: str) -> None:
    """A query over every customer needs ``permission`` over all of them: a scoped reader (a sales
    rep, branch staff) is refused with PermissionDenied ``out_of_scope`` (audited); ``message`` says
    what it may do instead, after its id. No actor is the host's own call."""
    access = read_access(services, actor, permission)
    if access.actor is not None and not access.scope.unrestricted:
        deny(services, access.actor, permission, reason="out_of_scope", customer=None)
        raise PermissionDenied(
            f"{access.actor.id} {message}", code="out_of_scope", field=str(permission), value=access.actor.id
        )


class AccessService:
    """The access policy in force and the audited refusals (``book.access``).

    >>> from bigledger_customers import connect, Actor, PermissionDenied
    >>> book = connect("memory://")
    >>> rep = Actor(id="u7", roles={"sales_rep"}, sales_rep="REP-7")
    >>> try:
    ...     book.customers.create({"name": "ABC Trading"}, actor=rep)
    ... except PermissionDenied as error:
    ...     error.code, error.field, error.value
    ('permission_denied', 'customer.create', 'u7')
    >>> [(e.action, e.changes["permission"]) for e in book.access.refusals("u7")]
    [('access.denied', 'customer.create')]
    """

    def __init__(self, services: Services) -> None:
        self._s = services

    @property
    def policy(self) -> AccessPolicy:
        """The policy this book enforces (``Settings.access``)."""
        return self._s.settings.access

    def permits(self, actor: Actor, permission: str) -> bool:
        """True when ``actor`` holds ``permission`` over at least some customers (nothing is audited)."""
        return self.policy.permits(actor, permission)

    def scope(self, actor: Actor, permission: str = Permission.CUSTOMER_READ) -> DataScope | None:
        """The customers ``actor`` holds ``permission`` over; None when it does not hold it."""
        return self.policy.scope_for(actor, permission)

    def refusals(self, actor_id: str, *, actor: Actor | None = None) -> Sequence[AuditEntry]:
        """The audited refusals of ``actor_id``, oldest first (reading them needs ``audit.read``)."""
        if actor is not None or _ACTING.get() is not None:
            self._s.authorize(actor, Permission.AUDIT_READ)
        return refusals(self._s, actor_id)
