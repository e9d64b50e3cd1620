"""The credit part of the adapter contract suite (DESIGN.md section 4; issue 6).

Subclass :class:`CreditContract` in an adapter's test module and supply a ``book`` fixture on a
:class:`~bigledger_customers.testing.FrozenClock` (2026-01-01 00:00 UTC), as for the other contracts.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import attrs
import pytest

from bigledger_customers._book import Book
from bigledger_customers.domain.aging import DunningLevel
from bigledger_customers.domain.checkout import Order, ReservationState
from bigledger_customers.domain.credit import CreditOutcome, HoldState, ItemKind
from bigledger_customers.domain.customer import Customer
from bigledger_customers.domain.idempotency import IdempotencyRecord
from bigledger_customers.domain.records import Actor
from bigledger_customers.domain.terms import PaymentTerms
from bigledger_customers.errors import Conflict, InsufficientFunds, NotAllowed, NotFound, ValidationError
from bigledger_customers.money import Money
from bigledger_customers.services._base import Services
from bigledger_customers.services.accounts import AccountService
from bigledger_customers.services.checkout import CheckoutService
from bigledger_customers.services.credit import CreditService
from bigledger_customers.testing.contract_accounts import crash_every_step

__all__ = ["CheckoutContract", "CreditConcurrencyContract", "CreditContract"]

ADMIN = Actor(id="admin", roles=frozenset({"admin"}))
CHECKER = Actor(id="checker", roles=frozenset({"admin", "finance_approver"}))
DAY = dt.date(2026, 1, 1)


def myr(amount: str) -> Money:
    return Money(amount, "MYR")


def _customer(book: Book, **data: Any) -> Customer:
    data.setdefault("name", {"en": "ABC Manufacturing Sdn Bhd"})
    data.setdefault("country", "MY")
    return book.customers.create(data, actor=ADMIN)


def _credit_customer(book: Book, limit: str = "10000", **profile: Any) -> Customer:
    customer = _customer(book)
    book.credit.set_profile(customer.code, "MYR", limit=myr(limit), actor=ADMIN, **profile)
    return customer


class CreditContract:
    """Credit rules every adapter must keep."""

    # -- profiles and terms ------------------------------------------------------------------------

    def test_profile_round_trips_and_versions(self, book: Book) -> None:
        customer = _customer(book)
        book.credit.define_terms(PaymentTerms.net(30), actor=ADMIN)
        first = book.credit.set_profile(
            customer.code,
            "myr",
            limit=myr("5000.50"),
            terms="net30",
            rating="A",
            last_review=DAY,
            review_months=12,
            policy="warn",
            tolerance=myr("100"),
            max_overdue_days=10,
            actor=ADMIN,
        )
        assert first.version == 1
        assert first.terms == "NET30"
        assert book.credit.profile(customer.code, "MYR") == first
        second = book.credit.set_profile(customer.code, "MYR", limit=None, actor=ADMIN)
        assert second.version == 2
        assert second.limit is None
        assert second.rating == "A"
        assert book.credit.profile(customer.code, "MYR") == second
        assert book.credit.profile(customer.code, "USD") is None

    def test_profile_refuses_unknown_terms_and_negative_limits(self, book: Book) -> None:
        customer = _customer(book)
        with pytest.raises(ValidationError) as error:
            book.credit.set_profile(customer.code, "MYR", terms="NOPE", actor=ADMIN)
        assert error.value.code == "unknown_terms"
        with pytest.raises(ValidationError):
            book.credit.set_profile(customer.code, "MYR", limit=myr("-1"), actor=ADMIN)

    def test_terms_are_reference_data(self, book: Book) -> None:
        terms = PaymentTerms.in_instalments([("30", 15), ("70", 45)], code="SPLIT")
        book.credit.define_terms(terms, actor=ADMIN)
        assert book.credit.terms("split") == terms
        assert [t.code for t in book.credit.list_terms()] == ["COD", "PREPAID", "SPLIT"]

    # -- receivables -------------------------------------------------------------------------------

    def test_invoice_lines_follow_the_terms(self, book: Book) -> None:
        customer = _credit_customer(book)
        book.credit.define_terms(PaymentTerms.in_instalments([("30", 15), ("70", 45)], code="SPLIT"), actor=ADMIN)
        book.credit.define_terms(PaymentTerms.end_of_month_plus(1, code="EOM1"), actor=ADMIN)
        posted = book.credit.post_invoice(
            customer.code, "INV-1", myr("100.01"), issued=dt.date(2016, 1, 22), terms="SPLIT", actor=ADMIN
        )
        assert [(i.due, i.amount) for i in posted.items] == [
            (dt.date(2016, 2, 6), myr("30.00")),
            (dt.date(2016, 3, 7), myr("70.01")),
        ]
        eom = book.credit.post_invoice(
            customer.code, "INV-2", myr("10"), issued=dt.date(2016, 1, 22), terms="EOM1", actor=ADMIN
        )
        assert eom.items[0].due == dt.date(2016, 2, 29)
        assert len(book.credit.open_items(customer.code)) == 3

    def test_invoice_takes_the_profile_terms_by_default(self, book: Book) -> None:
        book.credit.define_terms(PaymentTerms.net(30), actor=ADMIN)
        customer = _credit_customer(book, terms="NET30")
        posted = book.credit.post_invoice(customer.code, "INV-1", myr("10"), issued=dt.date(2022, 1, 31), actor=ADMIN)
        assert posted.items[0].due == dt.date(2022, 3, 2)

    def test_reposting_a_document_replays_and_different_content_conflicts(self, book: Book) -> None:
        customer = _credit_customer(book)
        first = book.credit.post_invoice(customer.code, "INV-1", myr("100"), issued=DAY, actor=ADMIN)
        again = book.credit.post_invoice(customer.code, "inv-1", myr("100.00"), issued=DAY, actor=ADMIN)
        assert again.replayed
        assert again.items == first.items
        assert len(book.credit.open_items(customer.code)) == 1
        with pytest.raises(Conflict) as error:
            book.credit.post_invoice(customer.code, "INV-1", myr("101"), issued=DAY, actor=ADMIN)
        assert error.value.code == "document_number_reused"
        pay = book.credit.post_payment(customer.code, "PAY-1", myr("40"), received=DAY, actor=ADMIN)
        assert book.credit.post_payment(customer.code, "PAY-1", myr("40"), received=DAY, actor=ADMIN).replayed
        assert pay.allocations[0].amount == myr("40")
        assert book.credit.open_items(customer.code)[0].open == myr("60")

    def test_payment_closes_the_oldest_invoice_first(self, book: Book) -> None:
        customer = _credit_customer(book)
        book.credit.post_invoice(customer.code, "INV-2", myr("200"), issued=dt.date(2025, 12, 1), actor=ADMIN)
        book.credit.post_invoice(customer.code, "INV-1", myr("100"), issued=dt.date(2025, 11, 1), actor=ADMIN)
        posted = book.credit.post_payment(customer.code, "PAY-1", myr("150"), received=DAY, actor=ADMIN)
        assert [(a.invoice, a.amount) for a in posted.allocations] == [("INV-1", myr("100")), ("INV-2", myr("50"))]
        items = book.credit.open_items(customer.code)
        assert [(i.document, i.open) for i in items] == [("INV-2", myr("150"))]
        closed = next(i for i in book.credit.items(customer.code) if i.document == "INV-1")
        assert closed.closed_on == DAY

    def test_payment_to_named_invoices_and_overpayment_stays_unapplied(self, book: Book) -> None:
        customer = _credit_customer(book)
        book.credit.post_invoice(customer.code, "INV-1", myr("100"), issued=dt.date(2025, 11, 1), actor=ADMIN)
        book.credit.post_invoice(customer.code, "INV-2", myr("200"), issued=dt.date(2025, 12, 1), actor=ADMIN)
        posted = book.credit.post_payment(
            customer.code, "PAY-1", myr("250"), received=DAY, invoices=["INV-2"], actor=ADMIN
        )
        assert [(a.invoice, a.amount) for a in posted.allocations] == [("INV-2", myr("200"))]
        assert posted.unapplied == myr("50")
        explicit = book.credit.post_payment(
            customer.code, "PAY-2", myr("30"), received=DAY, invoices={"INV-1": myr("30")}, actor=ADMIN
        )
        assert explicit.allocations[0].amount == myr("30")
        open_items = {(i.kind, i.document): i.open for i in book.credit.open_items(customer.code)}
        assert open_items == {(ItemKind.INVOICE, "INV-1"): myr("70"), (ItemKind.UNAPPLIED, "PAY-1"): myr("50")}
        assert book.credit.exposure(customer.code, "MYR").open_items == myr("20")
        with pytest.raises(ValidationError):
            book.credit.post_payment(customer.code, "PAY-3", myr("5"), received=DAY, invoices=["NOPE"], actor=ADMIN)

    def test_credit_note_reduces_its_invoice(self, book: Book) -> None:
        customer = _credit_customer(book)
        book.credit.post_invoice(customer.code, "INV-1", myr("100"), issued=dt.date(2025, 11, 1), actor=ADMIN)
        book.credit.post_invoice(customer.code, "INV-2", myr("100"), issued=dt.date(2025, 12, 1), actor=ADMIN)
        book.credit.post_credit_note(customer.code, "CN-1", myr("25"), issued=DAY, invoice="INV-2", actor=ADMIN)
        assert [(i.document, i.open) for i in book.credit.open_items(customer.code)] == [
            ("INV-1", myr("100")),
            ("INV-2", myr("75")),
        ]

    # -- exposure and decisions ----------------------------------------------------------------

    def test_over_limit_blocks_with_the_amount_over(self, book: Book) -> None:
        customer = _credit_customer(book)
        book.credit.post_invoice(customer.code, "INV-1", myr("7000"), issued=DAY, actor=ADMIN)
        book.credit.hold(customer.code, myr("2000"), reference="SO-1", expires_at=_later(book), key="h-1", actor=ADMIN)
        decision = book.credit.check(customer.code, myr("1500"))
        assert decision.outcome is CreditOutcome.BLOCK
        assert [(r.code, r.message) for r in decision.reasons] == [("over_limit", "over limit by 500.00")]
        assert decision.exposure.total == myr("10500")
        assert decision.available == myr("1000")
        book.credit.set_profile(customer.code, "MYR", policy="warn", actor=ADMIN)
        warned = book.credit.check(customer.code, myr("1500"))
        assert warned.outcome is CreditOutcome.WARN
        assert warned.reasons[0].message == "over limit by 500.00"

    def test_exposure_equal_to_the_limit_is_allowed(self, book: Book) -> None:
        customer = _credit_customer(book)
        book.credit.post_invoice(customer.code, "INV-1", myr("7000"), issued=DAY, actor=ADMIN)
        decision = book.credit.check(customer.code, myr("3000"))
        assert decision.outcome is CreditOutcome.ALLOW
        assert decision.reasons == ()

    def test_tolerance_turns_a_small_overrun_into_a_warning(self, book: Book) -> None:
        customer = _credit_customer(book, tolerance=myr("100"))
        assert book.credit.check(customer.code, myr("10100")).outcome is CreditOutcome.WARN
        assert book.credit.check(customer.code, myr("10100.01")).outcome is CreditOutcome.BLOCK

    def test_no_profile_means_no_credit(self, book: Book) -> None:
        customer = _customer(book)
        decision = book.credit.check(customer.code, myr("1"))
        assert decision.outcome is CreditOutcome.BLOCK
        assert decision.codes == ("no_credit",)

    def test_every_reason_is_reported(self, book: Book) -> None:
        customer = _credit_customer(book, last_review=dt.date(2024, 1, 1), review_months=12, max_overdue_days=30)
        book.credit.post_invoice(customer.code, "INV-1", myr("100"), issued=dt.date(2025, 11, 1), actor=ADMIN)
        book.customers.set_status(customer.code, "suspended", actor=ADMIN)
        decision = book.credit.check(customer.code, myr("20000"))
        assert decision.codes == (
            "customer_not_active",
            "stop_supply",
            "over_limit",
            "overdue_items",
            "review_overdue",
        )
        assert decision.outcome is CreditOutcome.BLOCK
        overdue = decision.reasons[3]
        assert overdue.days == 61
        assert overdue.amount == myr("100")

    def test_review_overdue_alone_only_warns(self, book: Book) -> None:
        customer = _credit_customer(book, last_review=dt.date(2024, 6, 1), review_months=12)
        decision = book.credit.check(customer.code, myr("1"))
        assert decision.outcome is CreditOutcome.WARN
        assert decision.codes == ("review_overdue",)

    def test_group_exposure_rolls_up_to_the_parent(self, book: Book) -> None:
        parent = _credit_customer(book, limit="1000", group=True)
        child = _customer(book, parent_id=parent.code)
        book.credit.set_profile(child.code, "MYR", limit=myr("900"), actor=ADMIN)
        book.credit.post_invoice(parent.code, "INV-P", myr("600"), issued=DAY, actor=ADMIN)
        decision = book.credit.check(child.code, myr("500"))
        assert decision.outcome is CreditOutcome.BLOCK
        assert decision.codes == ("group_over_limit",)
        assert decision.reasons[0].amount == myr("100")
        assert decision.group_id == parent.id
        book.credit.post_invoice(child.code, "INV-C", myr("300"), issued=DAY, actor=ADMIN)
        assert book.credit.check(parent.code, myr("100")).outcome is CreditOutcome.ALLOW
        assert book.credit.check(parent.code, myr("100.01")).codes == ("over_limit",)

    def test_a_block_is_overridden_only_by_an_approved_request(self, book: Book) -> None:
        customer = _credit_customer(book, limit="100")
        maker = Actor(id="maker", roles=frozenset({"admin", "finance_approver"}))
        request = book.credit.request_override(customer.code, myr("500"), reason="good customer", actor=maker)
        with pytest.raises(NotAllowed) as pending:
            book.credit.check(customer.code, myr("500"), override=request.id)
        assert pending.value.code == "override_not_approved"
        with pytest.raises(NotAllowed) as own:
            book.accounts.approve(request.id, actor=maker)
        assert own.value.code == "self_approval"
        book.accounts.approve(request.id, actor=CHECKER)
        decision = book.credit.check(customer.code, myr("500"), override=request.id)
        assert decision.outcome is CreditOutcome.WARN
        assert decision.overridden_by == request.id
        with pytest.raises(NotAllowed):
            book.credit.check(customer.code, myr("500.01"), override=request.id)

    # -- holds -----------------------------------------------------------------------------------

    def test_holds_count_until_released_settled_or_expired(self, book: Book) -> None:
        customer = _credit_customer(book, limit="1000")
        hold = book.credit.hold(
            customer.code, myr("600"), reference="SO-1", expires_at=_later(book), key="h-1", actor=ADMIN
        )
        assert book.credit.exposure(customer.code, "MYR").held == myr("600")
        with pytest.raises(InsufficientFunds) as error:
            book.credit.hold(
                customer.code, myr("500"), reference="SO-2", expires_at=_later(book), key="h-2", actor=ADMIN
            )
        assert error.value.code == "credit_limit_exceeded"
        with pytest.raises(InsufficientFunds):  # the refusal is replayed for the same key
            book.credit.hold(
                customer.code, myr("500"), reference="SO-2", expires_at=_later(book), key="h-2", actor=ADMIN
            )
        replay = book.credit.hold(
            customer.code, myr("600"), reference="SO-1", expires_at=_later(book), key="h-1", actor=ADMIN
        )
        assert replay == hold
        settled = book.credit.settle(hold.id, amount=myr("550"), key="s-1", actor=ADMIN)
        assert settled.state is HoldState.SETTLED
        exposure = book.credit.exposure(customer.code, "MYR")
        assert (exposure.held, exposure.open_items) == (myr("0"), myr("550"))
        assert [i.document for i in book.credit.open_items(customer.code)] == ["SO-1"]
        second = book.credit.hold(
            customer.code, myr("450"), reference="SO-3", expires_at=_later(book), key="h-3", actor=ADMIN
        )
        assert book.credit.release(second.id, key="r-3", actor=ADMIN).state is HoldState.RELEASED
        book.credit.hold(customer.code, myr("450"), reference="SO-4", expires_at=_later(book), key="h-4", actor=ADMIN)
        book.services.clock.advance(hours=1)  # type: ignore[attr-defined]
        assert book.credit.exposure(customer.code, "MYR").held == myr("0")

    # -- aging, DSO, behaviour, dunning ----------------------------------------------------------

    def test_aging_buckets_by_days_past_due(self, book: Book) -> None:
        customer = _credit_customer(book)
        other = _credit_customer(book)
        book.credit.post_invoice(customer.code, "INV-1", myr("100"), issued=DAY, due=DAY, actor=ADMIN)
        book.credit.post_invoice(customer.code, "INV-2", myr("50"), issued=DAY, due=dt.date(2026, 2, 20), actor=ADMIN)
        book.credit.post_invoice(
            other.code, "INV-3", myr("10"), issued=dt.date(2025, 11, 1), due=dt.date(2025, 12, 1), actor=ADMIN
        )
        book.credit.post_payment(other.code, "PAY-9", myr("15"), received=DAY, actor=ADMIN)
        report = book.credit.aging(dt.date(2026, 2, 5))  # INV-1 is 35 days overdue
        assert report.bucket_names == ("current", "1-30", "31-60", "61-90", "91-120", "over 120")
        rows = {r.customer_id: r for r in report.rows}
        assert rows[customer.id].buckets["31-60"] == myr("100")
        assert rows[customer.id].buckets["current"] == myr("50")
        assert rows[other.id].buckets["61-90"] == myr("0")
        assert rows[other.id].unapplied == myr("5")
        assert report.totals[0].total == myr("150")
        book.credit.configure(aging_buckets=[15, 45], actor=ADMIN)
        custom = book.credit.aging(dt.date(2026, 2, 5), customer=customer.code)
        assert custom.bucket_names == ("current", "1-15", "16-45", "over 45")
        assert custom.rows[0].buckets["16-45"] == myr("100")

    def test_dso_and_payment_behaviour(self, book: Book) -> None:
        customer = _credit_customer(book)
        book.credit.post_invoice(customer.code, "INV-1", myr("300"), issued=DAY, due=DAY, actor=ADMIN)
        book.credit.post_invoice(customer.code, "INV-2", myr("600"), issued=DAY, due=dt.date(2026, 1, 10), actor=ADMIN)
        book.credit.post_payment(customer.code, "PAY-1", myr("300"), received=dt.date(2026, 1, 11), actor=ADMIN)
        book.credit.post_payment(customer.code, "PAY-2", myr("600"), received=dt.date(2026, 1, 5), actor=ADMIN)
        behaviour = book.credit.payment_behaviour(customer.code)
        assert (behaviour.paid_items, behaviour.paid_late) == (2, 1)
        assert str(behaviour.average_days_late) == "5.0"
        assert str(behaviour.share_paid_late) == "0.5000"
        book.credit.post_invoice(customer.code, "INV-3", myr("900"), issued=DAY, actor=ADMIN)
        assert str(book.credit.dso("MYR", as_of=dt.date(2026, 1, 31))) == "45.0"  # 900 / 1800 x 90

    def test_dunning_levels_and_stop_supply(self, book: Book) -> None:
        customer = _credit_customer(book, max_overdue_days=365)
        book.credit.post_invoice(customer.code, "INV-1", myr("100"), issued=DAY, due=DAY, actor=ADMIN)
        status = book.credit.dunning(dt.date(2026, 1, 20))[0]
        assert (status.level and status.level.name, status.oldest_overdue_days) == ("warning", 19)
        assert status.next_level is not None
        assert (status.next_level.name, status.next_level_on) == ("stop_supply", dt.date(2026, 2, 15))
        assert book.credit.check(customer.code, myr("1"), as_of=dt.date(2026, 2, 14)).outcome is CreditOutcome.ALLOW
        stopped = book.credit.check(customer.code, myr("1"), as_of=dt.date(2026, 2, 15))
        assert stopped.codes == ("stop_supply",)
        book.credit.configure(dunning=[DunningLevel("call", 5, "phone the customer")], actor=ADMIN)
        assert book.credit.dunning(dt.date(2026, 3, 1), customer=customer.code)[0].next_action == "phone the customer"
        assert book.credit.check(customer.code, myr("1"), as_of=dt.date(2026, 3, 1)).outcome is CreditOutcome.ALLOW

    # -- history, events, audit ------------------------------------------------------------------

    def test_customer_with_receivables_is_voided_not_deleted(self, book: Book) -> None:
        customer = _credit_customer(book)
        book.credit.post_invoice(customer.code, "INV-1", myr("1"), issued=DAY, actor=ADMIN)
        assert book.customers.delete(customer.code, actor=ADMIN) == "voided"

    def test_commands_write_events_and_audit(self, book: Book) -> None:
        customer = _credit_customer(book)
        book.credit.post_invoice(customer.code, "INV-1", myr("1"), issued=DAY, actor=ADMIN)
        types = [e.type for e in book.events.read(limit=1000)]
        assert "credit.profile_changed" in types
        assert "credit.invoice_posted" in types
        with book.unit_of_work(write=False) as uow:
            actions = [a.action for a in uow.audit.for_entity("credit", customer.id)]
        assert actions == ["credit.set_profile", "credit.post_invoice"]


def _later(book: Book, minutes: int = 30) -> dt.datetime:
    return book.services.clock.now() + dt.timedelta(minutes=minutes)


class CreditConcurrencyContract:
    """Concurrent holds on one customer never pass its limit (needs real concurrency: SQL adapters)."""

    threads = 20

    def test_concurrent_holds_never_exceed_the_limit(self, book: Book) -> None:
        customer = _credit_customer(book, limit="5000")
        results: list[str] = []
        lock = threading.Lock()
        start = threading.Barrier(self.threads)

        def attempt(n: int) -> None:
            start.wait()
            try:
                book.credit.hold(
                    customer.code,
                    myr("1000"),
                    reference=f"SO-{n}",
                    expires_at=_later(book),
                    key=f"race-{n}",
                    actor=ADMIN,
                )
                outcome = "held"
            except InsufficientFunds:
                outcome = "refused"
            with lock:
                results.append(outcome)

        workers = [threading.Thread(target=attempt, args=(n,)) for n in range(self.threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert results.count("held") == 5
        assert results.count("refused") == self.threads - 5
        exposure = book.credit.exposure(customer.code, "MYR")
        assert exposure.held == myr("5000")

    def test_concurrent_checkouts_reserve_exactly_the_credit_room(self, book: Book) -> None:
        customer = _credit_customer(book, limit="5000")
        book.accounts.set_settlement_method(customer.code, "credit", actor=ADMIN)
        results: list[str] = []
        lock = threading.Lock()
        start = threading.Barrier(self.threads)

        def attempt(n: int) -> None:
            quote = book.checkout.quote(Order(customer=customer.code, number=f"SO-{n}", amount=myr("1000")))
            start.wait()
            try:
                book.checkout.reserve(quote, key=f"checkout-{n}", actor=ADMIN)
                outcome = "reserved"
            except InsufficientFunds:
                outcome = "refused"
            with lock:
                results.append(outcome)

        workers = [threading.Thread(target=attempt, args=(n,)) for n in range(self.threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert results.count("reserved") == 5
        assert book.credit.exposure(customer.code, "MYR").total <= myr("5000")


def _checkout_customer(
    book: Book, *, method: str, prepayment: str = "0", rebate: str = "0", limit: str = "10000"
) -> Customer:
    customer = _credit_customer(book, limit=limit)
    book.accounts.set_settlement_method(customer.code, method, actor=ADMIN)
    if prepayment != "0":
        book.accounts.top_up(customer.code, myr(prepayment), key=f"top-{customer.code}", actor=ADMIN)
    if rebate != "0":
        now = book.services.clock.now()
        book.accounts.grant_rebate(
            customer.code,
            myr(rebate),
            valid_from=now,
            valid_until=now + dt.timedelta(days=365),
            key=f"grant-{customer.code}",
            actor=ADMIN,
        )
        for request in book.accounts.pending_approvals():
            book.accounts.approve(request.id, actor=CHECKER)
    return customer


class CheckoutContract:
    """Checkout: quote, reserve, confirm, reject, idempotently (DESIGN.md section 6)."""

    def test_quote_splits_the_order_into_rebate_prepayment_and_credit(self, book: Book) -> None:
        customer = _checkout_customer(book, method="credit", prepayment="300", rebate="100")
        quote = book.checkout.quote(Order(customer=customer.code, number="SO-1", amount=myr("1000")))
        assert quote.settlement_method == "credit"
        assert (quote.rebate_allowed, quote.prepayment_available) == (myr("100"), myr("300"))
        plan = quote.plan
        assert (plan.rebate, plan.prepayment, plan.credit, plan.cash) == (myr("100"), myr("300"), myr("600"), myr("0"))
        assert quote.credit is not None
        assert quote.credit.outcome is CreditOutcome.ALLOW
        assert quote.ok
        assert book.credit.exposure(customer.code, "MYR").held == myr("0")  # a quote writes nothing

    def test_reserve_then_confirm_settles_every_part(self, book: Book) -> None:
        customer = _checkout_customer(book, method="credit", prepayment="300", rebate="100")
        quote = book.checkout.quote(Order(customer=customer.code, number="SO-1", amount=myr("1000")))
        reservation = book.checkout.reserve(quote, key="res-1", actor=ADMIN)
        assert book.credit.exposure(customer.code, "MYR").held == myr("600")
        assert book.accounts.balance(customer.code, "MYR").available == myr("0")
        assert book.checkout.reserve(quote, key="res-1", actor=ADMIN) == reservation  # replay
        confirmed = book.checkout.confirm(reservation, key="conf-1", actor=ADMIN)
        assert confirmed.state is ReservationState.CONFIRMED
        assert book.checkout.confirm(reservation, key="conf-1", actor=ADMIN) == confirmed  # replay
        assert [(i.document, i.open) for i in book.credit.open_items(customer.code)] == [("SO-1", myr("600"))]
        assert book.credit.exposure(customer.code, "MYR").held == myr("0")
        assert [e.amount for e in book.accounts.expenses(customer.code)] == [myr("300")]
        other = book.checkout.quote(Order(customer=customer.code, number="SO-2", amount=myr("5")))
        with pytest.raises(Conflict):
            book.checkout.reserve(other, key="res-1", actor=ADMIN)

    def test_reject_releases_everything(self, book: Book) -> None:
        customer = _checkout_customer(book, method="credit", prepayment="300")
        quote = book.checkout.quote(Order(customer=customer.code, number="SO-1", amount=myr("1000")))
        reservation = book.checkout.reserve(quote, key="res-1", actor=ADMIN)
        assert book.checkout.reject(reservation, key="rej-1", actor=ADMIN).state is ReservationState.REJECTED
        assert book.accounts.balance(customer.code, "MYR").available == myr("300")
        assert book.credit.exposure(customer.code, "MYR").held == myr("0")

    def test_a_refused_credit_part_holds_nothing_at_all(self, book: Book) -> None:
        customer = _checkout_customer(book, method="credit", prepayment="300", rebate="100", limit="1000")
        quote = book.checkout.quote(Order(customer=customer.code, number="SO-1", amount=myr("1400")))
        book.credit.post_invoice(customer.code, "INV-1", myr("500"), issued=DAY, actor=ADMIN)  # credit moved since
        before = _state(book, customer.code)
        with pytest.raises(InsufficientFunds) as error:
            book.checkout.reserve(quote, key="res-1", actor=ADMIN)
        assert error.value.code == "credit_limit_exceeded"
        assert _state(book, customer.code) == before  # no accounts hold was ever written, no event
        assert [e.kind for e in book.accounts.ledger(customer.code)] == [e.kind for e in before[1]]
        book.credit.post_payment(customer.code, "PAY-1", myr("500"), received=DAY, actor=ADMIN)
        with pytest.raises(InsufficientFunds):  # the first outcome replays, though credit is back now
            book.checkout.reserve(quote, key="res-1", actor=ADMIN)
        assert book.accounts.balance(customer.code, "MYR").locked == myr("0")
        assert book.checkout.reserve(quote, key="res-2", actor=ADMIN).credit_hold_id is not None

    def test_reserve_is_all_or_nothing(self, book: Book) -> None:
        customer = _checkout_customer(book, method="credit", prepayment="300", rebate="100")
        book.accounts.submit_payment(  # an overdue hold: reserve releases it first (a write to roll back)
            customer.code, prepayment=myr("50"), expires_in=dt.timedelta(minutes=1), key="old", actor=ADMIN
        )
        book.services.clock.advance(minutes=2)  # type: ignore[attr-defined]
        quote = book.checkout.quote(Order(customer=customer.code, number="SO-1", amount=myr("1000")))
        steps = crash_every_step(
            lambda: _state(book, customer.code, "res-1"),
            book.services,
            lambda s: _checkout(s).reserve(quote, key="res-1", actor=ADMIN),
        )
        assert steps >= 8
        reservation = book.checkout.reserve(quote, key="res-1", actor=ADMIN)  # replays the finished one
        assert reservation.account_hold_id is not None
        assert reservation.credit_hold_id is not None
        balance = book.accounts.balance(customer.code, "MYR")
        assert (balance.available, balance.locked, balance.rebate_locked) == (myr("50"), myr("250"), myr("100"))
        assert book.credit.exposure(customer.code, "MYR").held == myr("650")
        assert book.accounts.reconcile().ok

    def test_confirm_and_reject_are_all_or_nothing(self, book: Book) -> None:
        customer = _checkout_customer(book, method="credit", prepayment="300", rebate="100")
        first = book.checkout.reserve(
            book.checkout.quote(Order(customer=customer.code, number="SO-1", amount=myr("1000"))),
            key="res-1",
            actor=ADMIN,
        )
        steps = crash_every_step(
            lambda: _state(book, customer.code, "conf-1"),
            book.services,
            lambda s: _checkout(s).confirm(first, key="conf-1", actor=ADMIN),
        )
        assert steps >= 8
        assert [(i.document, i.open) for i in book.credit.open_items(customer.code)] == [("SO-1", myr("600"))]
        assert [e.amount for e in book.accounts.expenses(customer.code)] == [myr("300")]
        book.accounts.top_up(customer.code, myr("100"), key="top-2", actor=ADMIN)
        second = book.checkout.reserve(
            book.checkout.quote(Order(customer=customer.code, number="SO-2", amount=myr("500"))),
            key="res-2",
            actor=ADMIN,
        )
        steps = crash_every_step(
            lambda: _state(book, customer.code, "rej-2"),
            book.services,
            lambda s: _checkout(s).reject(second, key="rej-2", actor=ADMIN),
        )
        assert steps >= 4
        assert book.accounts.balance(customer.code, "MYR").available == myr("100")
        assert book.credit.exposure(customer.code, "MYR").held == myr("0")
        assert book.accounts.reconcile().ok

    def test_confirm_replays_and_a_reused_key_conflicts(self, book: Book) -> None:
        customer = _checkout_customer(book, method="credit", prepayment="300")
        quote = book.checkout.quote(Order(customer=customer.code, number="SO-1", amount=myr("1000")))
        reservation = book.checkout.reserve(quote, key="res-1", actor=ADMIN)
        other = book.checkout.reserve(
            book.checkout.quote(Order(customer=customer.code, number="SO-2", amount=myr("10"))),
            key="res-2",
            actor=ADMIN,
        )
        book.checkout.confirm(reservation, key="conf-1", actor=ADMIN)
        with pytest.raises(Conflict) as error:
            book.checkout.confirm(other, key="conf-1", actor=ADMIN)
        assert error.value.code == "idempotency_key_reused"
        with pytest.raises(Conflict):
            book.checkout.reject(reservation, key="conf-1", actor=ADMIN)
        with pytest.raises(NotAllowed):  # confirmed already: a new key is refused, and that refusal replays
            book.checkout.reject(reservation, key="rej-1", actor=ADMIN)
        with pytest.raises(NotAllowed):
            book.checkout.reject(reservation, key="rej-1", actor=ADMIN)

    def test_a_reservation_cannot_reach_another_customers_holds(self, book: Book) -> None:
        one = _checkout_customer(book, method="credit", prepayment="300")
        two = _checkout_customer(book, method="credit", prepayment="300")
        mine = book.checkout.reserve(
            book.checkout.quote(Order(customer=one.code, number="SO-1", amount=myr("1000"))), key="r1", actor=ADMIN
        )
        theirs = book.checkout.reserve(
            book.checkout.quote(Order(customer=two.code, number="SO-2", amount=myr("1000"))), key="r2", actor=ADMIN
        )
        forged = attrs.evolve(mine, account_hold_id=theirs.account_hold_id)
        with pytest.raises(NotFound):
            book.checkout.confirm(forged, key="c1", actor=ADMIN)
        assert book.accounts.balance(two.code, "MYR").locked == myr("300")
        assert book.credit.exposure(one.code, "MYR").held == myr("700")

    def test_an_expired_reservation_cannot_be_confirmed(self, book: Book) -> None:
        customer = _checkout_customer(book, method="credit", prepayment="300")
        quote = book.checkout.quote(Order(customer=customer.code, number="SO-1", amount=myr("1000")))
        reservation = book.checkout.reserve(quote, key="res-1", expires_in=dt.timedelta(minutes=5), actor=ADMIN)
        book.services.clock.advance(minutes=5)  # type: ignore[attr-defined]
        with pytest.raises(NotAllowed) as error:
            book.checkout.confirm(reservation, key="conf-1", actor=ADMIN)
        assert error.value.code == "hold_expired"
        assert book.accounts.balance(customer.code, "MYR").available == myr("300")
        assert book.credit.exposure(customer.code, "MYR").held == myr("0")
        assert book.credit.open_items(customer.code) == []

    def test_prepaid_customer_needs_cover_and_voided_customers_cannot_check_out(self, book: Book) -> None:
        customer = _checkout_customer(book, method="prepaid", prepayment="300", rebate="100")
        covered = book.checkout.quote(Order(customer=customer.code, number="SO-1", amount=myr("400")))
        assert covered.ok
        assert covered.plan.prepayment == myr("300")
        short = book.checkout.quote(Order(customer=customer.code, number="SO-2", amount=myr("400.01")))
        assert [r.code for r in short.reasons] == ["prepayment_short"]
        with pytest.raises(NotAllowed) as error:
            book.checkout.reserve(short, key="res-2", actor=ADMIN)
        assert error.value.code == "checkout_blocked"
        book.customers.set_status(customer.code, "suspended", actor=ADMIN)
        blocked = book.checkout.quote(Order(customer=customer.code, number="SO-3", amount=myr("10")))
        assert not blocked.ok
        assert blocked.reasons[0].code == "customer_not_active"

    def test_pay_now_customer_pays_the_rest_in_cash(self, book: Book) -> None:
        customer = _checkout_customer(book, method="pay_now", prepayment="30")
        quote = book.checkout.quote(Order(customer=customer.code, number="SO-1", amount=myr("100")))
        assert (quote.plan.prepayment, quote.plan.cash, quote.plan.credit) == (myr("30"), myr("70"), myr("0"))
        assert quote.credit is None


def _checkout(services: Services) -> CheckoutService:
    return CheckoutService(services, AccountService(services), CreditService(services))


def _key_state(book: Book, key: str) -> Any:
    """The stored idempotency record of ``key`` (command, fingerprint, outcome), or None: probed by
    claiming it in a unit of work that is never committed."""
    with book.unit_of_work() as uow:
        found = uow.idempotency.claim(
            IdempotencyRecord(key=key, command="probe", fingerprint="", created_at=book.services.clock.now())
        )
    return None if found is None else (found.command, found.fingerprint, found.outcome)


def _state(book: Book, code: str, *keys: str) -> Any:
    """Everything a checkout step may write for one customer: balances, ledger, grants, expense
    records, receivables, credit exposure, the outbox and the idempotency keys named."""
    return (
        book.accounts.balance(code, "MYR"),
        book.accounts.ledger(code),
        book.accounts.grants(code),
        book.accounts.expenses(code),
        book.credit.items(code),
        book.credit.exposure(code, "MYR"),
        [e.id for e in book.events.read(limit=10_000)],
        [_key_state(book, key) for key in keys],
    )
