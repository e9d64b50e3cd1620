"""Who acts, what happened: actors, audit entries, domain events and interactions."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

__all__ = ["Actor", "AuditEntry", "Channel", "Event", "Interaction"]


def _roles(roles: Iterable[str]) -> frozenset[str]:
    return frozenset(roles)


@attrs.frozen(kw_only=True)
class Actor:
    """The principal a command runs for; recorded on every audit entry.

    >>> Actor(id="u1", roles={"sales_admin"}).roles
    frozenset({'sales_admin'})
    """

    id: str = attrs.field(validator=attrs.validators.min_len(1))
    roles: frozenset[str] = attrs.field(default=frozenset(), converter=_roles)
    branch: str | None = None
    sales_rep: str | None = None


#: The actor of work the library does on its own (expiry jobs, migrations).
SYSTEM = Actor(id="system", roles=frozenset({"system"}))


@attrs.frozen(kw_only=True)
class AuditEntry:
    """One change: who, when, what, and the before/after of every changed field."""

    id: str
    at: dt.datetime
    actor_id: str
    action: str
    entity_type: str
    entity_id: str
    changes: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class Event:
    """A domain event from the outbox. ``position`` orders events; ``id`` is stable across reads."""

    position: int
    id: str
    type: str
    aggregate_type: str
    aggregate_id: str
    occurred_at: dt.datetime
    payload: Mapping[str, Any] = attrs.field(factory=dict)
    schema_version: int = 1


class Channel(enum.StrEnum):
    """How an interaction took place."""

    PHONE = "phone"
    EMAIL = "email"
    SMS = "sms"
    CHAT = "chat"
    VISIT = "visit"
    MEETING = "meeting"
    OTHER = "other"


@attrs.frozen(kw_only=True)
class Interaction:
    """One entry of a customer's communication history."""

    id: str
    customer_id: str
    at: dt.datetime
    channel: Channel
    by: str
    summary: str
    contact_id: str | None = None
