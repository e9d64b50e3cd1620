"""Commands over the host's providers (``book.integrations``; docs/ports.md).

Every provider call happens *outside* a transaction (a slow bureau never holds a row lock); the
result is then saved in its own unit of work with the usual version check, audit entry and event.

Notifications: the library decides what to send, the host sends it. :meth:`IntegrationService.dispatch`
reads the outbox after the host's cursor, turns each event that a :data:`NOTIFICATION_RULES` entry
names into :class:`~bigledger_customers.domain.external.Notification` values
(:func:`notifications_for`) and hands them to the host's :class:`~bigledger_customers.integrations.Notifier`.
Delivery is at least once, like the outbox: a notification's ``id`` is stable across retries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Final

import attrs

from bigledger_customers.domain import customer as rules
from bigledger_customers.domain.access import Permission
from bigledger_customers.domain.currency import convert, rate_for
from bigledger_customers.domain.customer import Customer
from bigledger_customers.domain.external import Notification, NotificationChannel
from bigledger_customers.domain.records import Actor, Event
from bigledger_customers.errors import ConcurrencyError, NotAllowed, NotFound, ValidationError
from bigledger_customers.integrations import AddressVerifier, CreditBureau, Notifier
from bigledger_customers.money import Money
from bigledger_customers.services._base import Services, load_customer

__all__ = ["NOTIFICATION_RULES", "REBATE_GRANT_COMMANDS", "IntegrationService", "NotificationRule", "notifications_for"]


def _channels(values: Iterable[NotificationChannel | str]) -> tuple[NotificationChannel, ...]:
    return tuple(NotificationChannel(v) for v in values)


@attrs.frozen(kw_only=True)
class NotificationRule:
    """Which event becomes which message, for whom.

    ``audience`` is ``"customer"`` (the primary contact, else the first with an address for the
    channel) or a name in ``Integrations.recipients`` (``"administrators"``, ``"finance"``...). When
    the event's payload has ``recipients`` (a list of such names), those replace the audience.
    ``when`` narrows the rule to events whose payload holds one of the listed values under each key
    (``{"status": ("approved",)}``).
    """

    template: str
    audience: str = "customer"
    channels: tuple[NotificationChannel, ...] = attrs.field(default=(NotificationChannel.EMAIL,), converter=_channels)
    when: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict, hash=False)

    def applies(self, event: Event) -> bool:
        """True when ``event``'s payload meets every ``when`` condition."""
        return all(str(event.payload.get(key)) in allowed for key, allowed in self.when.items())


#: Approval commands whose approval gives a customer a rebate grant.
REBATE_GRANT_COMMANDS: Final = ("rebate.grant.manual", "rebate.grant.refund", "rebate.grant.order_rule")


#: The default rules (docs/events.md lists the events). Hosts pass their own to :meth:`IntegrationService.dispatch`.
NOTIFICATION_RULES: Final[Mapping[str, NotificationRule]] = {
    # DESIGN.md section 5: an order rebate notifies administrators by default (the rule may name others).
    "rebate.order_grant_created": NotificationRule(template="rebate_granted", audience="administrators"),
    # DESIGN.md section 5: enabling accounts for every customer notifies the administrators.
    "accounts.enabled": NotificationRule(template="accounts_enabled", audience="administrators"),
    # A rebate grant that needed approval tells the customer once it is approved.
    "approval.decided": NotificationRule(
        template="rebate_granted", when={"status": ("approved",), "command": REBATE_GRANT_COMMANDS}
    ),
    # DESIGN.md section 4, collections: a customer reaching a dunning level hears of it by e-mail and SMS
    # (``book.credit.run_dunning`` writes the event once per level reached).
    "credit.dunning_level_reached": NotificationRule(
        template="dunning", channels=(NotificationChannel.EMAIL, NotificationChannel.SMS)
    ),
}


def _customer_of(event: Event) -> str | None:
    """The customer an event is about: its aggregate, else the payload's ``customer_id``."""
    if event.aggregate_type == "customer":
        return event.aggregate_id
    found = event.payload.get("customer_id")
    return found if isinstance(found, str) and found else None


def _customer_addresses(customer: Customer, channel: NotificationChannel) -> list[str]:
    contacts = sorted(customer.contacts, key=lambda c: not c.primary)
    for contact in contacts:
        value = contact.email if channel is NotificationChannel.EMAIL else (contact.mobile or contact.phone)
        if value:
            return [value]
    return []


def notifications_for(
    event: Event,
    rule: NotificationRule,
    *,
    customer: Customer | None,
    recipients: Mapping[str, Sequence[str]],
) -> list[Notification]:
    """The messages ``rule`` asks for on ``event`` (pure; no recipient known means no message).

    >>> import datetime as dt
    >>> at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    >>> event = Event(position=1, id="e1", type="accounts.enabled", aggregate_type="config",
    ...               aggregate_id="accounts", occurred_at=at, payload={"accounts": 3})
    >>> [(n.recipient, n.template) for n in notifications_for(
    ...     event, NOTIFICATION_RULES["accounts.enabled"], customer=None,
    ...     recipients={"administrators": ["ops@example.com"]})]
    [('ops@example.com', 'accounts_enabled')]
    """
    if not rule.applies(event):
        return []
    audiences = event.payload.get("recipients") or [rule.audience]
    found: list[Notification] = []
    for channel in rule.channels:
        targets: list[str] = []
        for audience in audiences:
            if audience == "customer":
                targets += _customer_addresses(customer, channel) if customer is not None else []
            elif channel is NotificationChannel.EMAIL:
                targets += [r for r in recipients.get(str(audience), ()) if "@" in r]
            else:
                targets += [r for r in recipients.get(str(audience), ()) if r.startswith("+")]
        for target in dict.fromkeys(targets):
            found.append(
                Notification(
                    id=f"{event.id}:{channel.value}:{target}",
                    channel=channel,
                    recipient=target,
                    template=rule.template,
                    customer_id=customer.id if customer is not None else None,
                    language=customer.preferred_language if customer is not None else None,
                    data={"event": event.type, "event_id": event.id, **event.payload},
                )
            )
    return found


def _missing(port: str) -> NotAllowed:
    return NotAllowed(
        f"no {port} is configured; pass it in Settings(integrations=Integrations(...))",
        code="port_not_configured",
        field=port,
    )


class IntegrationService:
    """Exchange rates, credit bureau reports, address verification and notifications.

    >>> import datetime as dt
    >>> from bigledger_customers import connect, Actor, Money, Settings
    >>> from bigledger_customers.domain.currency import RateTable
    >>> from bigledger_customers.integrations import Integrations
    >>> rates = RateTable.of(dt.date(2026, 3, 31), {"EUR/MYR": "4.70"})
    >>> book = connect("memory://", settings=Settings(integrations=Integrations(rates=rates)))
    >>> book.integrations.convert(Money("100", "EUR"), "MYR", on=dt.date(2026, 4, 1))
    Money('470.00', 'MYR')
    """

    def __init__(self, services: Services) -> None:
        self._s = services

    # -- exchange rates ------------------------------------------------------------------------

    def rate(self, base: str, quote: str, *, on: dt.date) -> Decimal:
        """Units of ``quote`` per ``base`` as of ``on`` (NotFound ``missing_exchange_rate`` if none)."""
        return rate_for(self._s.settings.integrations.rates, base, quote, on)

    def convert(self, amount: Money, currency: str, *, on: dt.date) -> Money:
        """``amount`` in ``currency`` at the rate as of ``on``, rounded half up."""
        return convert(amount, currency, self._s.settings.integrations.rates, on=on)

    # -- credit bureau -------------------------------------------------------------------------

    def refresh_credit_report(self, ref: str, *, on: dt.date | None = None, actor: Actor | None = None) -> Customer:
        """Fetch a report from the credit bureau and store it on the customer with its date."""
        actor = self._s.authorize(actor, Permission.CREDIT_MANAGE, ref)
        bureau: CreditBureau | None = self._s.settings.integrations.credit_bureau
        if bureau is None:
            raise _missing("credit_bureau")
        day = on or self._s.clock.now().date()
        with self._s.uow(write=False) as uow:
            customer = load_customer(uow, ref)
        report = bureau.report(customer, on=day)
        return self._save(customer, attrs.evolve(customer, credit_report=report), actor, "customer.credit_report")

    # -- address verification ------------------------------------------------------------------

    def verify_address(
        self, ref: str, address_id: str, *, expected_version: int | None = None, actor: Actor | None = None
    ) -> Customer:
        """Replace one address of the customer with its normalised form from the address verifier.

        An address the verifier cannot match raises its ValidationError; nothing is written.
        """
        actor = self._s.authorize(actor, Permission.CUSTOMER_EDIT, ref)
        verifier: AddressVerifier | None = self._s.settings.integrations.address_verifier
        if verifier is None:
            raise _missing("address_verifier")
        with self._s.uow(write=False) as uow:
            customer = load_customer(uow, ref)
        if expected_version is not None and expected_version != customer.version:
            raise ConcurrencyError(f"customer {customer.code} is at version {customer.version}", field="version")
        old = next((a for a in customer.addresses if a.id == address_id), None)
        if old is None:
            raise ValidationError("no such address", code="unknown_address", field="address_id", value=address_id)
        new = attrs.evolve(
            verifier.verify(old), id=old.id, kind=old.kind, contact_id=old.contact_id, is_default=old.is_default
        )
        addresses = rules.replace_item(customer.addresses, old.id, new, "address")
        after = rules.check(attrs.evolve(customer, addresses=addresses))
        return self._save(customer, after, actor, "customer.addresses")

    # -- notifications -------------------------------------------------------------------------

    def dispatch(
        self, *, after: int, limit: int = 100, notification_rules: Mapping[str, NotificationRule] | None = None
    ) -> int:
        """Send the notifications of events after position ``after``; return the last position handled.

        Keep the returned position and pass it back next time. When the notifier raises, the
        position before the failing event is kept (so it is retried); nothing is written.
        """
        notifier: Notifier | None = self._s.settings.integrations.notifier
        if notifier is None:
            raise _missing("notifier")
        table = NOTIFICATION_RULES if notification_rules is None else notification_rules
        recipients = self._s.settings.integrations.recipients
        with self._s.uow(write=False) as uow:
            events = list(uow.events.read(after, limit))
            customers: dict[str, Customer | None] = {}
            for event in events:
                customer_id = _customer_of(event)
                if event.type in table and customer_id is not None and customer_id not in customers:
                    customers[customer_id] = uow.customers.get(customer_id)
        position = after
        for event in events:
            rule = table.get(event.type)
            if rule is not None:
                customer_id = _customer_of(event)
                customer = customers.get(customer_id) if customer_id is not None else None
                for message in notifications_for(event, rule, customer=customer, recipients=recipients):
                    notifier.send(message)
            position = event.position
        return position

    # -- internals -----------------------------------------------------------------------------

    def _save(self, before: Customer, after: Customer, actor: Actor, action: str) -> Customer:
        changes = rules.diff(before, after)
        after = attrs.evolve(after, version=before.version + 1, updated_at=self._s.clock.now())
        with self._s.uow() as uow:
            if uow.customers.get(before.id) is None:
                raise NotFound(f"no customer {before.code!r}", code="customer_not_found", field="customer")
            uow.customers.update(after, before.version)
            self._s.record(
                uow,
                actor=actor,
                action=action,
                entity_type="customer",
                entity_id=after.id,
                changes=changes,
                event="customer.updated",
                payload={"customer_id": after.id, "code": after.code, "fields": sorted(changes)},
            )
            uow.commit()
        return after
