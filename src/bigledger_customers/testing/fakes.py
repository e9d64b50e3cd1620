"""In-memory fakes of the host-provider ports (docs/ports.md), for the library's tests and a host's.

>>> import datetime as dt
>>> from bigledger_customers import connect, Actor, Settings
>>> from bigledger_customers.integrations import Integrations
>>> bureau = FakeCreditBureau({"CUS-000001": (712, "A")})
>>> book = connect("memory://", settings=Settings(integrations=Integrations(credit_bureau=bureau)))
>>> admin = Actor(id="u1", roles={"admin"})
>>> _ = book.customers.create({"name": "ABC Trading"}, actor=admin)
>>> book.integrations.refresh_credit_report("CUS-000001", on=dt.date(2026, 4, 1), actor=admin).credit_report
CreditReport(bureau='fake', score=712, rating='A', reference='fake-CUS-000001', fetched_on=datetime.date(2026, 4, 1))
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import attrs

from bigledger_customers.domain.currency import ExchangeRate, RateTable
from bigledger_customers.domain.customer import Address, Customer
from bigledger_customers.domain.external import CreditReport, Notification
from bigledger_customers.errors import NotFound, ValidationError

__all__ = ["ExchangeRate", "FakeAddressVerifier", "FakeCreditBureau", "RateTable", "RecordingNotifier"]


class FakeCreditBureau:
    """Answers from a table ``{customer code: (score, rating)}``; unknown customers are NotFound."""

    name = "fake"

    def __init__(self, scores: Mapping[str, tuple[int | None, str | None]] | None = None) -> None:
        self.scores = dict(scores or {})
        self.calls: list[str] = []

    def report(self, customer: Customer, *, on: dt.date) -> CreditReport:
        """The table's score and rating for the customer's code, dated ``on``."""
        self.calls.append(customer.code)
        if customer.code not in self.scores:
            raise NotFound(f"the bureau has no file on {customer.code}", code="bureau_no_file", value=customer.code)
        score, rating = self.scores[customer.code]
        return CreditReport(
            bureau=self.name, score=score, rating=rating, reference=f"fake-{customer.code}", fetched_on=on
        )


class FakeAddressVerifier:
    """Normalises like a postal service would (upper-case city and state, postcode without spaces);
    postcodes in ``unknown_postcodes`` (or empty ones) cannot be matched."""

    def __init__(self, unknown_postcodes: frozenset[str] = frozenset()) -> None:
        self.unknown_postcodes = unknown_postcodes

    def verify(self, address: Address) -> Address:
        """The normalised address, or ValidationError ``address_unverified``."""
        postcode = address.postcode.replace(" ", "").upper()
        if not postcode or postcode in self.unknown_postcodes:
            raise ValidationError(
                "the address could not be matched", code="address_unverified", field="postcode", value=address.postcode
            )
        return attrs.evolve(
            address,
            lines=tuple(" ".join(line.split()) for line in address.lines if line.strip()),
            city=address.city.strip().upper(),
            state=address.state.strip().upper(),
            postcode=postcode,
        )


class RecordingNotifier:
    """Keeps every notification it is asked to send (``sent``); ``fail_on`` makes one template fail."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.sent: list[Notification] = []
        self.fail_on = fail_on

    def send(self, notification: Notification) -> None:
        """Record the notification (or raise for the ``fail_on`` template)."""
        if notification.template == self.fail_on:
            raise ConnectionError(f"could not send {notification.template}")
        self.sent.append(notification)
