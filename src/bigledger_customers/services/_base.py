"""What every service shares: the unit-of-work factory, the clock, id generation, settings."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs

from bigledger_customers.domain.access import DEFAULT_ACCESS_POLICY, AccessPolicy
from bigledger_customers.domain.customer import Customer, CustomerStatus
from bigledger_customers.domain.records import Actor, AuditEntry
from bigledger_customers.domain.validation import normalise_code
from bigledger_customers.errors import NotFound, ValidationError
from bigledger_customers.integrations import Integrations
from bigledger_customers.ports import Clock, IdGenerator, UnitOfWork, UnitOfWorkFactory
from bigledger_customers.services import access as _access

__all__ = ["Services", "Settings"]


def _decimal(value: object) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


@attrs.frozen(kw_only=True)
class Settings:
    """Choices a host makes once per book."""

    #: Deepest allowed customer hierarchy (a root alone has depth 1).
    max_hierarchy_depth: int = attrs.field(default=8, validator=attrs.validators.ge(1))
    #: Only customers whose registration was approved may get online ordering access.
    ordering_requires_approved_registration: bool = True
    #: What create does when a likely duplicate exists (DESIGN.md section 3, Duplicates): ``"warn"``
    #: (a ``customer.duplicate_suspected`` event), ``"block"`` (Conflict ``possible_duplicate``) or ``"off"``.
    duplicate_check: str = attrs.field(default="warn", validator=attrs.validators.in_(("off", "warn", "block")))
    #: Score (0..1) from which a pair is a likely duplicate; 0.5 was tuned on FEBRL (docs/data-quality.md).
    duplicate_threshold: Decimal = attrs.field(default=Decimal("0.5"), converter=_decimal)
    #: Who may do what (docs/permissions.md); pass your own AccessPolicy to change roles.
    access: AccessPolicy = DEFAULT_ACCESS_POLICY
    #: The host's providers: exchange rates, credit bureau, address verifier, notifier (docs/ports.md).
    integrations: Integrations = attrs.field(factory=Integrations)


@attrs.frozen(kw_only=True)
class Services:
    """The dependencies every service gets from the composition root."""

    uow: UnitOfWorkFactory
    clock: Clock
    new_id: IdGenerator
    settings: Settings = Settings()

    def authorize(self, actor: Actor | None, permission: str, customer: _access.CustomerRef = None) -> Actor:
        """The acting actor (``actor`` or the context's) if it holds ``permission`` over ``customer``.

        Call it first in every command; a refusal is audited in its own unit of work and raised
        (see :func:`bigledger_customers.services.access.authorize`).
        """
        return _access.authorize(self, actor, permission, customer)

    def read_access(self, actor: Actor | None, permission: str = "customer.read") -> _access.ReadAccess:
        """What a query may show ``actor`` (no actor at all: the host's own call, unrestricted)."""
        return _access.read_access(self, actor, permission)

    def record(
        self,
        uow: UnitOfWork,
        *,
        actor: Actor,
        action: str,
        entity_type: str,
        entity_id: str,
        changes: Mapping[str, Any],
        event: str | None = None,
        payload: Mapping[str, Any] | None = None,
    ) -> None:
        """Write the audit entry and (optionally) the outbox event of one change, in ``uow``."""
        if not isinstance(actor, Actor):
            raise ValidationError("actor must be an Actor", code="invalid_actor", field="actor", value=actor)
        now = self.clock.now()
        uow.audit.add(
            AuditEntry(
                id=self.new_id(),
                at=now,
                actor_id=actor.id,
                action=action,
                entity_type=entity_type,
                entity_id=entity_id,
                changes=dict(changes),
            )
        )
        if event is not None:
            uow.events.append(
                id=self.new_id(),
                type=event,
                aggregate_type=entity_type,
                aggregate_id=entity_id,
                occurred_at=now,
                payload=dict(payload or {}),
            )


def save_config(services: Services, uow: UnitOfWork, area: str, changes: Mapping[str, Any], actor: Actor) -> None:
    """Store named settings of ``area`` and audit each with its previous and new value, in ``uow``."""
    before = {name: uow.config.get(name) for name in changes}
    for name, value in changes.items():
        uow.config.put(name, value)
    services.record(
        uow,
        actor=actor,
        action=f"{area}.configure",
        entity_type="config",
        entity_id=area,
        changes={name: [before[name], value] for name, value in changes.items()},
    )


def load_customer(uow: UnitOfWork, ref: str, *, follow_merge: bool = True) -> Customer:
    """Find a customer by code (ignoring case) or id; a merged one resolves to its survivor."""
    if not isinstance(ref, str) or not ref.strip():
        raise ValidationError("give a customer code or id", code="invalid_reference", field="customer", value=ref)
    customer = uow.customers.get_by_code(ref.strip()) or uow.customers.get(ref.strip())
    if customer is None:
        raise NotFound(f"no customer {ref!r}", code="customer_not_found", field="customer", value=ref)
    seen = {customer.id}
    while follow_merge and customer.status is CustomerStatus.MERGED and customer.merged_into:
        survivor = uow.customers.get(customer.merged_into)
        if survivor is None or survivor.id in seen:
            break
        seen.add(survivor.id)
        customer = survivor
    return customer


def clean_code(code: object) -> str:
    """A customer code after the code rules (re-exported for services)."""
    return normalise_code(code)
