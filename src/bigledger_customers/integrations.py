"""Ports to the host's providers, and the values they exchange (issue 8; docs/ports.md).

The library never calls a network service itself: a host plugs its providers in through
``Settings(integrations=Integrations(...))``. Each port is a small Protocol with an in-memory
fake in :mod:`bigledger_customers.testing.fakes` for tests.

- :class:`~bigledger_customers.domain.currency.ExchangeRates`: rates as of a date (credit exposure
  in the limit's currency). Default: an empty :class:`~bigledger_customers.domain.currency.RateTable`,
  so a cross-currency decision without rates fails naming the pair and date.
- :class:`CreditBureau`: a score and a rating for a customer, stored with the date fetched.
- :class:`AddressVerifier`: a normalised address, or a ValidationError saying why not.
- :class:`Notifier`: sends the e-mails and text messages the library decides on (see
  :func:`bigledger_customers.services.integrations.notifications_for`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Protocol

import attrs

from bigledger_customers.domain.currency import ExchangeRates, RateTable
from bigledger_customers.domain.customer import Address, Customer
from bigledger_customers.domain.external import CreditReport, Notification, NotificationChannel

__all__ = [
    "AddressVerifier",
    "CreditBureau",
    "CreditReport",
    "ExchangeRates",
    "Integrations",
    "Notification",
    "NotificationChannel",
    "Notifier",
]


class CreditBureau(Protocol):
    """The host's credit bureau (a port)."""

    name: str

    def report(self, customer: Customer, *, on: dt.date) -> CreditReport:
        """A fresh report on ``customer`` dated ``on``; NotFound when the bureau does not know it."""
        ...


class AddressVerifier(Protocol):
    """The host's address verification service (a port)."""

    def verify(self, address: Address) -> Address:
        """The address normalised (lines, city, postcode, state as the postal service writes them).

        Raise :class:`~bigledger_customers.errors.ValidationError` (code ``address_unverified``)
        when the address cannot be matched; keep ``id``, ``kind``, ``contact_id`` and ``is_default``.
        """
        ...


class Notifier(Protocol):
    """The host's e-mail/SMS sender (a port)."""

    def send(self, notification: Notification) -> None:
        """Send (or queue) one notification; raising makes the dispatcher stop and retry it later."""
        ...


@attrs.frozen(kw_only=True)
class Integrations:
    """The providers one book uses; any left None makes the commands that need it fail clearly."""

    rates: ExchangeRates = attrs.field(factory=RateTable, hash=False)
    credit_bureau: CreditBureau | None = None
    address_verifier: AddressVerifier | None = None
    notifier: Notifier | None = None
    #: Where notifications for the back office go (e.g. ``{"administrators": ["ops@example.com"]}``).
    recipients: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict, hash=False)
