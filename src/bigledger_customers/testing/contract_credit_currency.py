"""Multi-currency credit, the prepaid cover test and credit notifications, on every adapter (issues 6 and 8).

A MYR credit limit counts open items and holds in EUR and USD converted with the host's rates as of
the decision date; a missing rate is an error naming the pair and the date, never a silent 1:1.
Dunning levels and approved rebate grants become notifications through the host's Notifier.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from bigledger_customers._book import Book
from bigledger_customers.domain.checkout import Order
from bigledger_customers.domain.currency import ExchangeRate, RateTable
from bigledger_customers.domain.customer import Customer
from bigledger_customers.domain.records import Actor
from bigledger_customers.errors import NotFound, PermissionDenied
from bigledger_customers.integrations import Integrations
from bigledger_customers.money import Money
from bigledger_customers.services._base import Settings
from bigledger_customers.testing.fakes import RecordingNotifier

__all__ = ["CreditNotificationContract", "MultiCurrencyCreditContract", "PrepaidCoverContract"]

ADMIN = Actor(id="admin", roles=frozenset({"admin"}))
MARCH_30 = dt.date(2026, 3, 30)
MARCH_31 = dt.date(2026, 3, 31)
DUE = dt.date(2026, 4, 30)
RATES = RateTable(
    [
        ExchangeRate("EUR", "MYR", MARCH_30, Decimal("4.6000")),
        ExchangeRate("USD", "MYR", MARCH_30, Decimal("4.3000")),
        ExchangeRate("EUR", "MYR", MARCH_31, Decimal("4.7000")),
        ExchangeRate("USD", "MYR", MARCH_31, Decimal("4.4000")),
    ]
)


def _with_rates(book: Book, rates: RateTable = RATES) -> Book:
    """A second book on the same store whose host supplies ``rates``."""
    return Book(book.store, clock=book.services.clock, settings=Settings(integrations=Integrations(rates=rates)))


def _myr_customer(book: Book, limit: str = "10000") -> Customer:
    customer = book.customers.create(
        {"name": "Global Trading Sdn Bhd", "country": "MY", "currency": "MYR"}, actor=ADMIN
    )
    book.credit.set_profile(customer.code, "MYR", limit=Money(limit, "MYR"), actor=ADMIN)
    return customer


def _eur_and_usd_invoices(book: Book, customer: Customer) -> None:
    book.credit.post_invoice(customer.code, "INV-EUR", Money("1000", "EUR"), issued=MARCH_30, due=DUE, actor=ADMIN)
    book.credit.post_invoice(customer.code, "INV-USD", Money("1000", "USD"), issued=MARCH_30, due=DUE, actor=ADMIN)


class MultiCurrencyCreditContract:
    """Exposure in the limit's currency across currencies, at the rates of the decision date."""

    def test_eur_and_usd_items_against_a_myr_limit_use_the_rates_of_the_decision_date(self, book: Book) -> None:
        host = _with_rates(book)
        customer = _myr_customer(book)
        _eur_and_usd_invoices(book, customer)

        on_30th = host.credit.check(customer.code, Money("1000", "MYR"), as_of=MARCH_30)
        on_31st = host.credit.check(customer.code, Money("1000", "MYR"), as_of=MARCH_31)

        assert on_30th.outcome == "allow"
        assert on_30th.exposure.open_items == Money("8900.00", "MYR")  # 4600 + 4300
        assert on_30th.exposure.total == Money("9900.00", "MYR")
        assert on_31st.outcome == "block"
        assert on_31st.exposure.open_items == Money("9100.00", "MYR")  # 4700 + 4400
        assert [r.message for r in on_31st.reasons] == ["over limit by 100.00"]

    def test_an_order_in_another_currency_counts_against_the_home_limit(self, book: Book) -> None:
        host = _with_rates(book)
        customer = _myr_customer(book)

        decision = host.credit.check(customer.code, Money("2000", "EUR"), as_of=MARCH_31)

        assert decision.limit == Money("10000", "MYR")
        assert decision.exposure.new_order == Money("9400.00", "MYR")
        assert decision.outcome == "allow"
        assert host.credit.check(customer.code, Money("2200", "EUR"), as_of=MARCH_31).codes == ("over_limit",)

    def test_a_missing_rate_names_the_pair_and_the_date(self, book: Book) -> None:
        customer = _myr_customer(book)
        _eur_and_usd_invoices(book, customer)
        book.credit.post_invoice(customer.code, "INV-GBP", Money("10", "GBP"), issued=MARCH_30, due=DUE, actor=ADMIN)

        with pytest.raises(NotFound) as caught:
            _with_rates(book).credit.check(customer.code, Money("1", "MYR"), as_of=MARCH_31)
        assert caught.value.code == "missing_exchange_rate"
        assert caught.value.value == "GBP/MYR 2026-03-31"
        assert "GBP/MYR" in caught.value.message
        assert "2026-03-31" in caught.value.message

        with pytest.raises(NotFound) as no_rates:  # a host without any rates: never 1:1
            book.credit.check(customer.code, Money("1", "MYR"), as_of=MARCH_31)
        assert no_rates.value.code == "missing_exchange_rate"

    def test_a_currency_with_its_own_limit_is_not_counted_twice(self, book: Book) -> None:
        host = _with_rates(book)
        customer = _myr_customer(book)
        book.credit.set_profile(customer.code, "EUR", limit=Money("5000", "EUR"), actor=ADMIN)
        _eur_and_usd_invoices(book, customer)

        in_myr = host.credit.check(customer.code, Money("1000", "MYR"), as_of=MARCH_31)
        in_eur = host.credit.check(customer.code, Money("100", "EUR"), as_of=MARCH_31)

        assert in_myr.exposure.open_items == Money("4400.00", "MYR")  # the USD invoice only
        assert in_eur.limit == Money("5000", "EUR")
        assert in_eur.exposure.open_items == Money("1000.00", "EUR")

    def test_holds_in_another_currency_count_converted(self, book: Book) -> None:
        host = _with_rates(book, RateTable.of(dt.date(2000, 1, 1), {"USD/MYR": "4.40"}))
        customer = _myr_customer(book)
        later = host.services.clock.now() + dt.timedelta(hours=1)
        host.credit.hold(customer.code, Money("1000", "USD"), reference="SO-1", expires_at=later, key="h1", actor=ADMIN)

        decision = host.credit.check(customer.code, Money("0", "MYR"))

        assert decision.exposure.held == Money("4400.00", "MYR")
        assert host.credit.check(customer.code, Money("5600.01", "MYR")).codes == ("over_limit",)

    def test_checkout_quote_decides_in_the_limit_currency(self, book: Book) -> None:
        host = _with_rates(book, RateTable.of(dt.date(2000, 1, 1), {"EUR/MYR": "4.70", "USD/MYR": "4.40"}))
        customer = _myr_customer(book)
        _eur_and_usd_invoices(book, customer)
        book.accounts.set_settlement_method(customer.code, "credit", actor=ADMIN)

        quote = host.checkout.quote(Order(customer=customer.code, number="SO-1", amount=Money("1000", "MYR")))

        assert quote.credit is not None
        assert quote.credit.exposure.open_items == Money("9100.00", "MYR")
        assert [r.message for r in quote.reasons] == ["over limit by 100.00"]


class PrepaidCoverContract:
    """``book.credit.check`` tests a prepaid customer against its cover, not a limit."""

    def test_prepaid_customer_without_cover_is_blocked_with_the_shortfall(self, book: Book) -> None:
        customer = book.customers.create({"name": "Prepaid Co", "country": "MY"}, actor=ADMIN)
        book.accounts.set_settlement_method(customer.code, "prepaid", actor=ADMIN)
        book.accounts.top_up(customer.code, Money("300", "MYR"), key="top-1", actor=ADMIN)

        covered = book.credit.check(customer.code, Money("300", "MYR"))
        short = book.credit.check(customer.code, Money("300.01", "MYR"))

        assert covered.outcome == "allow"
        assert covered.codes == ()
        assert short.outcome == "block"
        assert short.codes == ("prepaid_without_cover",)
        assert short.reasons[0].message == "prepaid customer without cover: short by 0.01"
        assert short.reasons[0].amount == Money("0.01", "MYR")

    def test_a_credit_customer_is_still_tested_against_its_limit(self, book: Book) -> None:
        customer = _myr_customer(book, limit="100")
        book.accounts.set_settlement_method(customer.code, "credit", actor=ADMIN)

        assert book.credit.check(customer.code, Money("100.01", "MYR")).codes == ("over_limit",)


CHECKER = Actor(id="checker", roles=frozenset({"finance_approver"}))


def _notified(book: Book) -> tuple[Book, RecordingNotifier]:
    """A second book on the same store whose host sends notifications through a recording fake."""
    notifier = RecordingNotifier()
    host = Book(
        book.store,
        clock=book.services.clock,
        settings=Settings(integrations=Integrations(notifier=notifier, recipients={"administrators": ("ops@x.my",)})),
    )
    return host, notifier


def _overdue_customer(book: Book) -> Customer:
    data = {
        "name": "Late Payer Sdn Bhd",
        "country": "MY",
        "contacts": [{"name": "Siti", "email": "siti@late.my", "mobile": "+60123456789", "primary": True}],
    }
    customer = book.customers.create(data, actor=ADMIN)
    book.credit.post_invoice(customer.code, "INV-1", Money("500", "MYR"), issued=MARCH_30, due=MARCH_31, actor=ADMIN)
    return customer


class CreditNotificationContract:
    """The library decides what to send (events, rules), the host's Notifier sends it."""

    def test_each_dunning_level_reached_is_announced_once(self, book: Book) -> None:
        customer = _overdue_customer(book)

        first = book.credit.run_dunning(dt.date(2026, 4, 1), actor=ADMIN)
        again = book.credit.run_dunning(dt.date(2026, 4, 2), actor=ADMIN)
        warning = book.credit.run_dunning(dt.date(2026, 4, 15), actor=ADMIN)

        assert [(s.customer_id, s.level and s.level.name) for s in first] == [(customer.id, "reminder")]
        assert again == []
        assert [s.level and s.level.name for s in warning] == ["warning"]
        events = [e for e in book.events.read(limit=1000) if e.type == "credit.dunning_level_reached"]
        assert [(e.payload["level"], e.payload["days_overdue"], e.payload["overdue"]) for e in events] == [
            ("reminder", 1, [{"amount": "500.00", "currency": "MYR"}]),
            ("warning", 15, [{"amount": "500.00", "currency": "MYR"}]),
        ]
        assert book.credit.run_dunning(dt.date(2026, 4, 15), actor=ADMIN) == []

    def test_dunning_events_become_email_and_sms_to_the_customer(self, book: Book) -> None:
        host, notifier = _notified(book)
        _overdue_customer(book)
        book.credit.run_dunning(dt.date(2026, 4, 1), actor=ADMIN)

        host.integrations.dispatch(after=0, limit=1000)

        assert [(n.channel.value, n.recipient, n.template) for n in notifier.sent] == [
            ("email", "siti@late.my", "dunning"),
            ("sms", "+60123456789", "dunning"),
        ]
        assert notifier.sent[0].data["level"] == "reminder"

    def test_a_paid_customer_is_told_again_when_a_new_item_falls_overdue(self, book: Book) -> None:
        customer = _overdue_customer(book)
        book.credit.run_dunning(dt.date(2026, 4, 1), actor=ADMIN)
        book.credit.post_payment(customer.code, "PAY-1", Money("500", "MYR"), received=dt.date(2026, 4, 2), actor=ADMIN)
        book.credit.post_invoice(
            customer.code,
            "INV-2",
            Money("80", "MYR"),
            issued=dt.date(2026, 4, 2),
            due=dt.date(2026, 4, 10),
            actor=ADMIN,
        )

        assert book.credit.run_dunning(dt.date(2026, 4, 5), actor=ADMIN) == []
        assert [s.level and s.level.name for s in book.credit.run_dunning(dt.date(2026, 4, 11), actor=ADMIN)] == [
            "reminder"
        ]

    def test_running_dunning_needs_credit_manage(self, book: Book) -> None:
        _overdue_customer(book)
        rep = Actor(id="rep", roles=frozenset({"sales_rep"}), sales_rep="REP-1")

        with pytest.raises(PermissionDenied):
            book.credit.run_dunning(dt.date(2026, 4, 1), actor=rep)
        assert [e for e in book.events.read(limit=1000) if e.type == "credit.dunning_level_reached"] == []

    def test_an_approved_rebate_grant_is_announced_to_the_customer(self, book: Book) -> None:
        host, notifier = _notified(book)
        customer = _overdue_customer(book)
        now = book.services.clock.now()
        for n, approve in ((1, True), (2, False)):
            book.accounts.grant_rebate(
                customer.code,
                Money("50", "MYR"),
                valid_from=now,
                valid_until=now + dt.timedelta(days=30),
                key=f"grant-{n}",
                actor=ADMIN,
            )
            (request,) = book.accounts.pending_approvals()
            if approve:
                book.accounts.approve(request.id, actor=CHECKER)
            else:
                book.accounts.reject_approval(request.id, actor=CHECKER)

        host.integrations.dispatch(after=0, limit=1000)

        assert [(n.recipient, n.template) for n in notifier.sent] == [("siti@late.my", "rebate_granted")]
        assert notifier.sent[0].data["command"] == "rebate.grant.manual"
