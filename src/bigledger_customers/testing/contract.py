"""The adapter contract suite: tests written once, run against every adapter.

A test module per adapter subclasses each contract class and supplies a ``book`` fixture (a fresh,
empty :class:`~bigledger_customers.Book` on a :class:`~bigledger_customers.testing.FrozenClock`)::

    class TestMemoryCustomers(CustomerContract):
        @pytest.fixture
        def book(self):
            return connect("memory://", clock=FrozenClock())

Class names here do not start with ``Test`` so pytest does not collect them twice.
A host can run the suite against its own adapter in exactly the same way, subclassing every class in
:data:`ALL_CONTRACTS` (docs/testing.md; ``tests/host_example/test_host_adapter.py`` is an example).
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import attrs
import pytest

from bigledger_customers._book import Book
from bigledger_customers.domain.customer import Customer, CustomerStatus
from bigledger_customers.domain.records import Actor
from bigledger_customers.errors import BigLedgerError, ConcurrencyError, Conflict, NotAllowed, NotFound, ValidationError
from bigledger_customers.testing.contract_access import (
    AccessMatrixContract,
    CustomerSettingsContract,
    DataScopeContract,
)
from bigledger_customers.testing.contract_accounts import (
    AccountConcurrencyContract,
    AccountContract,
    AccountCrashContract,
    AccountStateMachineContract,
)
from bigledger_customers.testing.contract_credit import CheckoutContract, CreditConcurrencyContract, CreditContract
from bigledger_customers.testing.contract_credit_currency import (
    CreditNotificationContract,
    MultiCurrencyCreditContract,
    PrepaidCoverContract,
)
from bigledger_customers.testing.contract_search import SearchContract

__all__ = [
    "ALL_CONTRACTS",
    "ConcurrencyContract",
    "CustomerContract",
    "EventContract",
    "ReferenceContract",
    "SearchContract",
]

ADMIN = Actor(id="admin", roles=frozenset({"sales_admin"}))


def _create(book: Book, **data: Any) -> Customer:
    data.setdefault("name", {"en": "ABC Manufacturing Sdn Bhd"})
    data.setdefault("country", "MY")
    return book.customers.create(data, actor=ADMIN)


def _fields(error: BigLedgerError) -> set[str | None]:
    return {e.field for e in (error.details or (error,))}


def _stored_count(book: Book) -> int:
    with book.unit_of_work(write=False) as uow:
        return uow.customers.count()


class CustomerContract:
    """Customer master rules every adapter must keep."""

    def test_create_generates_sequential_codes_and_version_one(self, book: Book) -> None:
        first, second = _create(book), _create(book, name={"zh": "深圳市前海科技有限公司"})
        assert (first.code, second.code) == ("CUS-000001", "CUS-000002")
        assert first.version == 1
        assert book.customers.get("cus-000002") == second

    def test_customer_round_trips_every_field(self, book: Book) -> None:
        book.reference.add("category", "WHOLESALE", actor=ADMIN)
        book.reference.define_field("credit_tier", "choice", choices=["gold", "silver"], actor=ADMIN)
        book.reference.define_field("since", "date", actor=ADMIN)
        created = _create(
            book,
            code="ABC-1",
            name={"en": "ABC Trading", "zh": "ABC贸易", "ms": "ABC Dagangan"},
            legal_name="ABC Trading Sdn Bhd",
            type="wholesale",
            category="WHOLESALE",
            priority="vip",
            currency="MYR",
            tax_numbers={"sst": "w10-1808-32000001"},
            tags=["Key-Account", "north"],
            custom_values={"credit_tier": "gold", "since": "2020-02-29"},
            contacts=[{"name": "Siti", "email": "Siti@Example.COM", "phone": "012-345 6789", "roles": ["Orderer"]}],
            addresses=[
                {
                    "kind": "shipping",
                    "lines": ["1 Jalan Ampang"],
                    "city": "KL",
                    "country": "my",
                    "latitude": "3.1579",
                    "longitude": "101.7116",
                }
            ],
        )
        loaded = book.customers.get(created.id)
        assert loaded == created
        assert loaded.contacts[0].phone == "+60123456789"
        assert loaded.contacts[0].email == "Siti@example.com"
        assert loaded.contacts[0].primary
        assert loaded.addresses[0].is_default
        assert loaded.addresses[0].country == "MY"
        assert loaded.custom_values == {"credit_tier": "gold", "since": dt.date(2020, 2, 29)}
        assert loaded.tags == frozenset({"key-account", "north"})
        assert loaded.tax_numbers == {"sst": "W10-1808-32000001"}

    @pytest.mark.parametrize(
        ("data", "field", "code"),
        [
            ({"code": "AB"}, "code", "invalid_code_length"),
            ({"code": "A" * 51}, "code", "invalid_code_length"),
            ({"code": "ABC 1"}, "code", "invalid_code"),
            ({"category": "NOPE"}, "category", "unknown_category"),
            ({"country": "XX"}, "country", "invalid_country"),
            ({"currency": "ABC"}, "currency", "invalid_currency"),
            ({"contacts": [{"name": "Ali", "phone": "12345"}]}, "contacts[0].phone", "invalid_phone"),
            ({"contacts": [{"name": "Ali", "email": "not-an-email"}]}, "contacts[0].email", "invalid_email"),
            (
                {"contacts": [{"name": "A", "primary": True}, {"name": "B", "primary": True}]},
                "contacts[1].primary",
                "duplicate_primary_contact",
            ),
            ({"contacts": [{"name": f"C{i}"} for i in range(51)]}, "contacts[50]", "too_many_contacts"),
            ({"addresses": [{"country": "MY"} for _ in range(21)]}, "addresses[20]", "too_many_addresses"),
            (
                {"addresses": [{"country": "MY", "latitude": "91", "longitude": "0"}]},
                "addresses[0].latitude",
                "invalid_coordinate",
            ),
            (
                {"addresses": [{"country": "MY", "is_default": True}, {"country": "MY", "is_default": True}]},
                "addresses[1].is_default",
                "duplicate_default_address",
            ),
            ({"custom_values": {"nope": 1}}, "custom_values.nope", "unknown_custom_field"),
            ({"colour": "red"}, "colour", "unknown_field"),
            ({"priority": "urgent"}, "priority", "invalid_type"),
        ],
    )
    def test_bad_input_is_refused_with_its_field_and_writes_nothing(
        self, book: Book, data: dict[str, Any], field: str, code: str
    ) -> None:
        with pytest.raises(ValidationError) as caught:
            _create(book, **data)
        found = {(e.field, e.code) for e in (caught.value.details or (caught.value,))}
        assert (field, code) in found
        assert _stored_count(book) == 0
        assert book.events.read() == []

    def test_every_problem_of_one_input_is_reported_at_once(self, book: Book) -> None:
        with pytest.raises(ValidationError) as caught:
            _create(book, code="AB", country="XX", contacts=[{"name": "A", "phone": "1"}])
        assert {"code", "country", "contacts[0].phone"} <= _fields(caught.value)

    def test_codes_are_unique_ignoring_case(self, book: Book) -> None:
        _create(book, code="ABC-001")
        with pytest.raises(Conflict) as caught:
            _create(book, code="abc-001")
        assert (caught.value.code, caught.value.field) == ("duplicate_code", "code")
        assert _stored_count(book) == 1

    def test_generated_codes_skip_codes_given_by_hand(self, book: Book) -> None:
        _create(book, code="CUS-000001")
        assert _create(book).code == "CUS-000002"

    def test_numbering_scheme_can_be_changed(self, book: Book) -> None:
        book.reference.set_numbering(prefix="C", width=4, actor=ADMIN)
        assert _create(book).code == "C0001"

    def test_update_bumps_version_and_audits_before_and_after(self, book: Book) -> None:
        c = _create(book)
        book.reference.add("region", "SEL", actor=ADMIN)
        updated = book.customers.update(c.code, {"region": "sel"}, expected_version=1, actor=ADMIN)
        assert (updated.region, updated.version) == ("SEL", 2)
        last = book.customers.history(c.code)[-1]
        assert last.changes["region"] == [None, "SEL"]
        assert last.actor_id == "admin"

    def test_update_with_stale_version_raises_concurrency_error(self, book: Book) -> None:
        c = _create(book)
        book.customers.update(c.code, {"notes": "first"}, expected_version=1, actor=ADMIN)
        with pytest.raises(ConcurrencyError):
            book.customers.update(c.code, {"notes": "second"}, expected_version=1, actor=ADMIN)
        assert book.customers.get(c.code).notes == "first"

    def test_repository_refuses_a_stale_save(self, book: Book) -> None:
        c = _create(book)
        book.customers.update(c.code, {"notes": "someone else"}, actor=ADMIN)
        stale = attrs.evolve(c, notes="mine", version=2)
        with book.unit_of_work() as uow, pytest.raises(ConcurrencyError):
            uow.customers.update(stale, expected_version=1)
        assert book.customers.get(c.code).notes == "someone else"

    def test_unknown_customer_is_not_found(self, book: Book) -> None:
        with pytest.raises(NotFound) as caught:
            book.customers.get("CUS-404")
        assert caught.value.code == "customer_not_found"

    def test_status_lifecycle_and_voided_is_read_only(self, book: Book) -> None:
        c = _create(book)
        assert book.customers.set_status(c.code, "suspended", reason="overdue", actor=ADMIN).status == "suspended"
        voided = book.customers.set_status(c.code, "voided", actor=ADMIN)
        assert voided.status is CustomerStatus.VOIDED
        with pytest.raises(NotAllowed) as caught:
            book.customers.update(c.code, {"notes": "x"}, actor=ADMIN)
        assert caught.value.code == "customer_voided"
        with pytest.raises(NotAllowed):
            book.customers.set_status(c.code, "suspended", actor=ADMIN)
        restored = book.customers.set_status(c.code, "active", reason="restored", actor=ADMIN)
        assert restored.status is CustomerStatus.ACTIVE
        actions = [e.action for e in book.customers.history(c.code)]
        assert actions.count("customer.set_status") == 3

    def test_ordering_access_needs_orderer_and_approved_registration_and_voiding_revokes(self, book: Book) -> None:
        c = _create(book, contacts=[{"name": "Buyer"}])
        with pytest.raises(NotAllowed):
            book.customers.set_ordering_access(c.code, True, actor=ADMIN)
        book.customers.update(c.code, {"registration_approved": True}, actor=ADMIN)
        with pytest.raises(ValidationError) as caught:
            book.customers.set_ordering_access(c.code, True, actor=ADMIN)
        assert caught.value.code == "orderer_required"
        contact_id = book.customers.get(c.code).contacts[0].id
        book.customers.update_contact(c.code, contact_id, {"roles": ["orderer"]}, actor=ADMIN)
        assert book.customers.set_ordering_access(c.code, True, actor=ADMIN).ordering_enabled
        assert not book.customers.set_status(c.code, "voided", actor=ADMIN).ordering_enabled

    def test_contacts_are_capped_at_fifty(self, book: Book) -> None:
        c = _create(book, contacts=[{"name": f"C{i}"} for i in range(50)])
        with pytest.raises(ValidationError) as caught:
            book.customers.add_contact(c.code, {"name": "one too many"}, actor=ADMIN)
        assert caught.value.code == "too_many_contacts"
        assert len(book.customers.get(c.code).contacts) == 50

    def test_second_primary_contact_is_refused(self, book: Book) -> None:
        c = _create(book, contacts=[{"name": "A"}])
        with pytest.raises(ValidationError) as caught:
            book.customers.add_contact(c.code, {"name": "B", "primary": True}, actor=ADMIN)
        assert caught.value.code == "duplicate_primary_contact"

    def test_addresses_are_capped_at_twenty_and_first_of_a_kind_is_default(self, book: Book) -> None:
        c = _create(book, addresses=[{"kind": "billing", "country": "MY"} for _ in range(20)])
        assert [a.is_default for a in c.addresses].count(True) == 1
        with pytest.raises(ValidationError) as caught:
            book.customers.add_address(c.code, {"country": "SG"}, actor=ADMIN)
        assert caught.value.code == "too_many_addresses"

    def test_phone_uses_customer_country_as_default_region(self, book: Book) -> None:
        c = _create(book, country="SG")
        c = book.customers.add_contact(c.code, {"name": "Tan", "mobile": "9123 4567"}, actor=ADMIN)
        assert c.contacts[0].mobile == "+6591234567"

    def test_remove_contact_and_address(self, book: Book) -> None:
        c = _create(book, contacts=[{"name": "A"}, {"name": "B"}], addresses=[{"country": "MY"}])
        c = book.customers.remove_contact(c.code, c.contacts[0].id, actor=ADMIN)
        assert [x.name for x in c.contacts] == ["B"]
        assert c.contacts[0].primary
        c = book.customers.remove_address(c.code, c.addresses[0].id, actor=ADMIN)
        assert c.addresses == ()

    def test_attachments_are_capped_at_100_mib(self, book: Book) -> None:
        c = _create(book)
        meta = {"name": "a.pdf", "content_type": "application/pdf", "checksum": "sha256:00", "storage_uri": "s3://x"}
        c = book.customers.add_attachment(c.code, {**meta, "size": 104_857_600}, actor=ADMIN)
        with pytest.raises(ValidationError) as caught:
            book.customers.add_attachment(c.code, {**meta, "size": 1}, actor=ADMIN)
        assert caught.value.code == "attachments_too_large"
        assert book.customers.get(c.code).attachment_bytes == 104_857_600

    def test_custom_field_required_and_typed(self, book: Book) -> None:
        book.reference.define_field("employees", "integer", required=True, actor=ADMIN)
        with pytest.raises(ValidationError) as caught:
            _create(book)
        assert caught.value.field == "custom_values.employees"
        with pytest.raises(ValidationError):
            _create(book, custom_values={"employees": "many"})
        assert _create(book, custom_values={"employees": 12}).custom_values == {"employees": 12}

    def test_at_most_thirty_custom_fields(self, book: Book) -> None:
        for i in range(30):
            book.reference.define_field(f"f{i}", "text", actor=ADMIN)
        with pytest.raises(ValidationError) as caught:
            book.reference.define_field("f30", "text", actor=ADMIN)
        assert caught.value.code == "too_many_custom_fields"

    def test_hierarchy_refuses_cycles_and_excess_depth(self, book: Book) -> None:
        codes = [_create(book).code]
        for _ in range(7):
            codes.append(_create(book, parent_id=codes[-1]).code)
        with pytest.raises(ValidationError) as caught:
            _create(book, parent_id=codes[-1])
        assert caught.value.code == "hierarchy_too_deep"
        with pytest.raises(ValidationError) as caught:
            book.customers.set_parent(codes[0], codes[3], actor=ADMIN)
        assert caught.value.code == "hierarchy_cycle"
        assert book.customers.get(codes[0]).parent_id is None
        assert [c.code for c in book.customers.children(codes[0])] == [codes[1]]

    def test_delete_without_financial_history_removes_the_customer(self, book: Book) -> None:
        c = _create(book)
        assert book.customers.delete(c.code, actor=ADMIN) == "deleted"
        with pytest.raises(NotFound):
            book.customers.get(c.code)
        assert [e.type for e in book.events.read()][-1] == "customer.deleted"

    def test_delete_refuses_a_parent(self, book: Book) -> None:
        parent = _create(book)
        _create(book, parent_id=parent.code)
        with pytest.raises(NotAllowed):
            book.customers.delete(parent.code, actor=ADMIN)

    def test_interactions_are_kept_newest_first(self, book: Book) -> None:
        c = _create(book)
        t0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
        book.customers.record_interaction(c.code, channel="phone", summary="first", at=t0, actor=ADMIN)
        book.customers.record_interaction(
            c.code, channel="email", summary="second", at=t0 + dt.timedelta(days=1), actor=ADMIN
        )
        assert [i.summary for i in book.customers.interactions(c.code)] == ["second", "first"]

    def test_search_filters_sorts_and_pages(self, book: Book) -> None:
        names = ["Delta Sdn Bhd", "alpha trading", "Charlie Müller GmbH", "Bravo 深圳市前海科技有限公司"]
        for name in names:
            _create(book, name={"en": name})
        book.customers.set_status("CUS-000002", "suspended", actor=ADMIN)
        by_name = book.customers.search(sort="name", limit=3)
        assert [c.name for c in by_name.items] == [
            "alpha trading",
            "Bravo 深圳市前海科技有限公司",
            "Charlie Müller GmbH",
        ]
        rest = book.customers.search(sort="name", limit=3, cursor=by_name.next_cursor)
        assert [c.name for c in rest.items] == ["Delta Sdn Bhd"]
        assert rest.next_cursor is None
        assert [c.code for c in book.customers.search("muller").items] == ["CUS-000003"]
        assert [c.code for c in book.customers.search("深圳").items] == ["CUS-000004"]
        assert [c.code for c in book.customers.search(status="active", sort="code", descending=True).items] == [
            "CUS-000004",
            "CUS-000003",
            "CUS-000001",
        ]
        assert book.customers.search("100%_").items == []


class ReferenceContract:
    """Reference data rules."""

    def test_reference_entries_are_unique_per_kind_ignoring_case(self, book: Book) -> None:
        book.reference.add("category", "RETAIL", name="Retail", actor=ADMIN)
        book.reference.add("level", "retail", actor=ADMIN)
        with pytest.raises(Conflict):
            book.reference.add("category", "retail", actor=ADMIN)
        assert [e.code for e in book.reference.list("category")] == ["RETAIL"]
        assert book.reference.get("category", "retail").name == "Retail"

    def test_unknown_reference_kind_is_refused(self, book: Book) -> None:
        with pytest.raises(ValidationError) as caught:
            book.reference.add("colour", "RED", actor=ADMIN)
        assert caught.value.field == "kind"


class EventContract:
    """The outbox: events in commit order, stable ids, nothing from a failed command."""

    def test_events_are_read_in_order_with_a_cursor(self, book: Book) -> None:
        c = _create(book)
        book.customers.update(c.code, {"notes": "x"}, actor=ADMIN)
        events = book.events.read()
        assert [e.type for e in events] == ["customer.created", "customer.updated"]
        assert events[0].position < events[1].position
        assert book.events.read(after=events[0].position) == events[1:]
        assert book.events.read(after=events[0].position)[0].id == events[1].id

    def test_a_failed_command_leaves_no_event_and_no_audit(self, book: Book) -> None:
        c = _create(book)
        with pytest.raises(ValidationError):
            book.customers.update(c.code, {"country": "XX"}, actor=ADMIN)
        assert [e.type for e in book.events.read()] == ["customer.created"]
        assert len(book.customers.history(c.code)) == 1

    def test_unit_of_work_rolls_back_without_commit(self, book: Book) -> None:
        c = _create(book)
        with book.unit_of_work() as uow:
            uow.customers.update(attrs.evolve(c, notes="uncommitted", version=2), expected_version=1)
        assert book.customers.get(c.code).notes == ""


class ConcurrencyContract:
    """Concurrent writers: generated codes never collide, no create is lost."""

    threads = 8
    per_thread = 500

    def test_concurrent_creates_get_distinct_codes_and_none_is_lost(self, book: Book) -> None:
        errors: list[BaseException] = []
        codes: list[str] = []
        lock = threading.Lock()

        def work() -> None:
            try:
                for _ in range(self.per_thread):
                    code = book.customers.create({"name": "Concurrent Co", "country": "MY"}, actor=ADMIN).code
                    with lock:
                        codes.append(code)
            except BaseException as error:  # surfaced in the assertion below
                errors.append(error)

        workers = [threading.Thread(target=work) for _ in range(self.threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert errors == []
        total = self.threads * self.per_thread
        assert len(codes) == len(set(codes)) == total
        assert _stored_count(book) == total


ALL_CONTRACTS = (
    CustomerContract,
    ReferenceContract,
    EventContract,
    ConcurrencyContract,
    SearchContract,
    AccessMatrixContract,
    DataScopeContract,
    CustomerSettingsContract,
    AccountContract,
    AccountConcurrencyContract,
    AccountCrashContract,
    AccountStateMachineContract,
    CreditContract,
    CreditConcurrencyContract,
    CheckoutContract,
    MultiCurrencyCreditContract,
    PrepaidCoverContract,
    CreditNotificationContract,
)
