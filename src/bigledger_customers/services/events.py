"""Reading the outbox (``book.events``): at-least-once delivery with a cursor the host keeps."""

from __future__ import annotations

from collections.abc import Sequence

from bigledger_customers.domain.access import Permission
from bigledger_customers.domain.records import Actor, Event
from bigledger_customers.errors import PermissionDenied, ValidationError
from bigledger_customers.services import access as _access
from bigledger_customers.services._base import Services

__all__ = ["EventService"]


class EventService:
    """Committed domain events in order. Keep the last ``position`` you handled and pass it as ``after``.

    The host's relay reads without an actor (its own call). An actor needs ``events.read`` over all
    customers: the outbox carries every customer's events, so a scoped grant (own customers, own
    branch) is refused with PermissionDenied ``out_of_scope``; every refusal is audited.

    >>> from bigledger_customers import connect, Actor, PermissionDenied
    >>> book = connect("memory://")
    >>> _ = book.customers.create({"name": "ABC Trading"}, actor=Actor(id="u1", roles={"sales_admin"}))
    >>> [e.type for e in book.events.read(actor=Actor(id="a1", roles={"auditor"}))]
    ['customer.created']
    >>> try:
    ...     book.events.read(actor=Actor(id="u7", roles={"sales_rep"}, sales_rep="REP-7"))
    ... except PermissionDenied as error:
    ...     error.code, error.field
    ('permission_denied', 'events.read')
    """

    def __init__(self, services: Services) -> None:
        self._s = services

    def read(self, *, after: int = 0, limit: int = 100, actor: Actor | None = None) -> Sequence[Event]:
        """Events with position greater than ``after``, oldest first, at most ``limit``."""
        access = self._s.read_access(actor, Permission.EVENTS_READ)
        if access.actor is not None and not access.scope.unrestricted:
            _access.deny(self._s, access.actor, Permission.EVENTS_READ, reason="out_of_scope", customer=None)
            raise PermissionDenied(
                f"{access.actor.id} may read events only over all customers",
                code="out_of_scope",
                field=str(Permission.EVENTS_READ),
                value=access.actor.id,
            )
        if not 1 <= limit <= 10_000:
            raise ValidationError("limit must be 1-10000", field="limit", value=limit)
        with self._s.uow(write=False) as uow:
            return list(uow.events.read(after, limit))
