"""Adapter contract suite for master-data governance (issue 7): duplicates, merge, privacy, hierarchy.

Subclass each class in an adapter's test module with a ``book`` fixture, as for
:mod:`bigledger_customers.testing.contract`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import attrs
import pytest

from bigledger_customers._book import Book
from bigledger_customers.domain.accounts import EntryKind, SettlementMethod
from bigledger_customers.domain.approvals import (
    DEFAULT_POLICY,
    ApprovalPolicy,
    ApprovalRequest,
    ApprovalRule,
    ApprovalStatus,
    ApprovalStep,
    Comparison,
    Condition,
)
from bigledger_customers.domain.customer import Customer, CustomerStatus
from bigledger_customers.domain.merge import MergeStatus
from bigledger_customers.domain.privacy import ERASED
from bigledger_customers.domain.rebates import GrantStatus
from bigledger_customers.domain.records import Actor
from bigledger_customers.errors import ConcurrencyError, Conflict, NotAllowed, PermissionDenied, ValidationError
from bigledger_customers.money import Money
from bigledger_customers.services._base import Settings
from bigledger_customers.services.approvals import Handler, request_in

__all__ = [
    "GOVERNANCE_CONTRACTS",
    "ApprovalContract",
    "DuplicateContract",
    "HierarchyContract",
    "MergeContract",
    "PrivacyContract",
]

STEWARD = Actor(id="steward", roles=frozenset({"admin"}))
T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
#: The maker holds every role, the approver role included: maker-checker must still refuse them.
MAKER = Actor(id="maker", roles=frozenset({"admin", "finance_approver"}))
CHECKER = Actor(id="checker", roles=frozenset({"finance_approver"}))
SECOND = Actor(id="second", roles=frozenset({"admin"}))
VALID = (dt.datetime(2025, 1, 1, tzinfo=dt.UTC), dt.datetime(2030, 1, 1, tzinfo=dt.UTC))


def _create(book: Book, **data: Any) -> Customer:
    data.setdefault("name", {"en": "ABC Manufacturing Sdn Bhd"})
    data.setdefault("country", "MY")
    return book.customers.create(data, actor=STEWARD, allow_duplicate=True)


def _limit(book: Book, ref: str) -> Money | None:
    profile = book.credit.profile(ref, "MYR")
    assert profile is not None
    return profile.limit


def _comparable(customer: Customer) -> Customer:
    """Everything but the version and updated_at, which only move forward."""
    return attrs.evolve(customer, version=0, updated_at=T0)


class DuplicateContract:
    """The create-time check and the batch report find the same likely duplicates on every adapter."""

    def test_create_warns_of_a_likely_duplicate_with_an_event(self, book: Book) -> None:
        first = _create(book, tax_numbers={"brn": "201901000005"})
        second = book.customers.create({"name": "A.B.C. Manufacturing", "country": "MY"}, actor=STEWARD)
        events = [e for e in book.events.read() if e.type == "customer.duplicate_suspected"]
        assert [e.aggregate_id for e in events] == [second.id]
        assert events[0].payload["candidates"][0]["code"] == first.code

    def test_block_mode_refuses_a_likely_duplicate_unless_allowed(self, book: Book) -> None:
        strict = Book(book.store, clock=book.services.clock, settings=Settings(duplicate_check="block"))
        first = _create(strict, tax_numbers={"sst": "W10-1808-32000001"})
        with pytest.raises(Conflict) as caught:
            strict.customers.create({"name": "Other Name", "tax_numbers": {"sst": "w10 1808 32000001"}}, actor=STEWARD)
        assert caught.value.code == "possible_duplicate"
        assert [m.right_code for m in caught.value.value] == [first.code]  # type: ignore[attr-defined]
        assert strict.customers.create(
            {"name": "Other Name", "tax_numbers": {"sst": "W10180832000001"}}, actor=STEWARD, allow_duplicate=True
        )

    def test_find_duplicates_scores_a_form_before_it_is_saved(self, book: Book) -> None:
        c = _create(book, contacts=[{"name": "Siti", "email": "siti@abc.com.my", "phone": "012-345 6789"}])
        _create(book, name={"en": "Unrelated Bakery"})
        found = book.customers.find_duplicates(
            {"name": "Someone Else", "contacts": [{"name": "x", "email": "SITI@abc.com.my"}]}
        )
        assert [(m.right_code, m.matched) for m in found] == [(c.code, ("email",))]
        assert found[0].score >= Decimal("0.9")

    def test_match_keys_follow_updates_and_deletes(self, book: Book) -> None:
        c = _create(book, tax_numbers={"brn": "111111"})
        book.customers.update(c.code, {"tax_numbers": {"brn": "222222"}, "names": {"en": "Zed Widgets"}}, actor=STEWARD)
        assert book.duplicates.find({"name": "Q", "tax_numbers": {"brn": "111111"}}) == []
        assert [m.right_code for m in book.duplicates.find({"name": "Q", "tax_numbers": {"brn": "222222"}})] == [c.code]
        book.customers.delete(c.code, actor=STEWARD)
        assert book.duplicates.find({"name": "Zed Widgets", "tax_numbers": {"brn": "222222"}}) == []

    def test_report_streams_each_likely_pair_once_with_the_fields_that_matched(self, book: Book) -> None:
        a = _create(
            book,
            addresses=[{"lines": ["1 Jalan Ampang"], "city": "Kuala Lumpur", "postcode": "50450", "country": "MY"}],
        )
        b = _create(
            book,
            name={"en": "ABC Manufacturing"},
            addresses=[{"lines": ["1, Jalan Ampang"], "city": "Kuala Lumpur", "postcode": "50450", "country": "MY"}],
        )
        _create(book, name={"en": "Delta Foods Pte Ltd"}, country="SG")
        stages: list[str] = []
        pairs = list(book.duplicates.report(on_progress=lambda stage, done, total: stages.append(stage)))
        assert [(m.left_code, m.right_code) for m in pairs] == [(a.code, b.code)]
        assert pairs[0].matched == ("address", "name")
        assert {"read", "compare"} <= set(stages)


class MergeContract:
    """Merge moves everything to the survivor; unmerge puts both back exactly."""

    def _pair(self, book: Book) -> tuple[Customer, Customer]:
        book.reference.define_field("tier", "choice", choices=["gold", "silver"], actor=STEWARD)
        book.reference.define_field("since", "date", actor=STEWARD)
        survivor = _create(
            book,
            code="ABC-1",
            legal_name="ABC Manufacturing Sdn Bhd",
            tax_numbers={"brn": "201901000005"},
            tags=["key-account"],
            custom_values={"tier": "gold"},
            contacts=[{"name": "Siti", "email": "siti@abc.com.my", "roles": ["finance"]}],
            addresses=[{"kind": "billing", "lines": ["1 Jalan Ampang"], "city": "KL", "country": "MY"}],
        )
        duplicate = _create(
            book,
            code="ABC-2",
            name={"en": "ABC Mfg", "zh": "ABC制造"},
            notes="entered twice by the Penang branch",
            tags=["north"],
            custom_values={"tier": "silver", "since": "2020-02-29"},
            contacts=[{"name": "Ahmad", "phone": "+60 12-345 6789", "roles": ["orderer"]}],
            addresses=[
                {"kind": "billing", "lines": ["9 Lebuh Pantai"], "city": "Penang", "country": "MY"},
                {"kind": "shipping", "lines": ["Lot 5"], "city": "Prai", "country": "MY"},
            ],
            attachments=[
                {
                    "name": "ssm.pdf",
                    "content_type": "application/pdf",
                    "size": 10,
                    "checksum": "x",
                    "storage_uri": "s3://a",
                }
            ],
        )
        book.customers.record_interaction(survivor.code, channel="phone", summary="survivor call", at=T0, actor=STEWARD)
        book.customers.record_interaction(duplicate.code, channel="email", summary="dup mail", at=T0, actor=STEWARD)
        return book.customers.get(survivor.code), book.customers.get(duplicate.code)

    def test_merge_moves_everything_to_the_survivor_and_old_code_resolves_to_it(self, book: Book) -> None:
        s, d = self._pair(book)
        record = book.duplicates.merge(s.code, d.code, choices={"custom_values.tier": "duplicate"}, actor=STEWARD)
        merged = book.customers.get("abc-2")
        assert merged.id == s.id
        assert [c.name for c in merged.contacts] == ["Siti", "Ahmad"]
        assert [c.primary for c in merged.contacts] == [True, False]
        assert [(a.kind, a.is_default) for a in merged.addresses] == [
            ("billing", True),
            ("billing", False),
            ("shipping", True),
        ]
        assert merged.custom_values == {"tier": "silver", "since": dt.date(2020, 2, 29)}
        assert merged.names == {"en": "ABC Manufacturing Sdn Bhd", "zh": "ABC制造"}
        assert merged.tags == frozenset({"key-account", "north"})
        assert merged.notes == "entered twice by the Penang branch"
        assert len(merged.attachments) == 1
        assert sorted(i.summary for i in book.customers.interactions(s.code)) == ["dup mail", "survivor call"]
        with book.unit_of_work(write=False) as uow:
            gone = uow.customers.get(d.id)
        assert gone is not None
        assert (gone.status, gone.merged_into, gone.contacts) == (CustomerStatus.MERGED, s.id, ())
        assert [e.action for e in book.customers.history(d.id)][-1] == "customer.merge"
        assert book.duplicates.merges(s.code) == [record]
        assert "customer.merged" in [e.type for e in book.events.read(limit=1000)]

    def test_merge_takes_the_callers_choice_field_by_field(self, book: Book) -> None:
        s, d = self._pair(book)
        book.reference.add("region", "PNG", actor=STEWARD)
        book.duplicates.merge(
            s.code,
            d.code,
            choices={"legal_name": "duplicate", "notes": "survivor", "region": {"value": "png"}, "tags": {"value": []}},
            actor=STEWARD,
        )
        merged = book.customers.get(s.code)
        assert (merged.legal_name, merged.notes, merged.region, merged.tags) == ("", "", "PNG", frozenset())
        with pytest.raises(ValidationError):
            book.duplicates.merge(s.code, s.code, actor=STEWARD)

    def test_merge_then_unmerge_restores_both_exactly(self, book: Book) -> None:
        s, d = self._pair(book)
        s_interactions = book.customers.interactions(s.code)
        d_interactions = book.customers.interactions(d.code)
        record = book.duplicates.merge(s.code, d.code, choices={"legal_name": "duplicate"}, actor=STEWARD)
        undone = book.duplicates.unmerge(record.id, actor=STEWARD)
        assert undone.status is MergeStatus.UNMERGED
        with book.unit_of_work(write=False) as uow:
            s_after, d_after = uow.customers.get(s.id), uow.customers.get(d.id)
        assert s_after is not None
        assert d_after is not None
        for field in attrs.fields(Customer):
            if field.name not in ("version", "updated_at"):
                assert getattr(s_after, field.name) == getattr(s, field.name), field.name
                assert getattr(d_after, field.name) == getattr(d, field.name), field.name
        assert (s_after.version, d_after.version) == (s.version + 2, d.version + 2)
        assert book.customers.interactions(s.code) == s_interactions
        assert book.customers.interactions(d.code) == d_interactions
        assert book.customers.get("ABC-2").id == d.id
        with pytest.raises(NotAllowed):
            book.duplicates.unmerge(record.id, actor=STEWARD)

    def test_unmerge_is_refused_once_the_survivor_changed(self, book: Book) -> None:
        s, d = self._pair(book)
        record = book.duplicates.merge(s.code, d.code, actor=STEWARD)
        book.customers.record_interaction(s.code, channel="visit", summary="after the merge", actor=STEWARD)
        with pytest.raises(NotAllowed) as caught:
            book.duplicates.unmerge(record.id, actor=STEWARD)
        assert caught.value.code == "changed_since_merge"
        book.customers.update(s.code, {"notes": "edited"}, actor=STEWARD)
        with pytest.raises(NotAllowed):
            book.duplicates.unmerge(record.id, actor=STEWARD)

    def test_merge_against_a_stale_version_raises_and_keeps_the_other_edit(self, book: Book) -> None:
        s, d = self._pair(book)
        book.customers.update(s.code, {"notes": "someone else's edit"}, actor=STEWARD)
        with pytest.raises(ConcurrencyError):
            book.duplicates.merge(s.code, d.code, survivor_version=s.version, actor=STEWARD)
        assert book.customers.get(s.code).notes == "someone else's edit"
        assert book.customers.get(d.code).status is CustomerStatus.ACTIVE
        assert book.duplicates.merges(s.code) == []

    def test_merged_or_parent_customers_cannot_be_merged(self, book: Book) -> None:
        s, d = self._pair(book)
        _create(book, name={"en": "Branch"}, parent_id=d.code)
        with pytest.raises(NotAllowed) as caught:
            book.duplicates.merge(s.code, d.code, actor=STEWARD)
        assert caught.value.code == "has_children"

    def _money(self, book: Book, s: Customer, d: Customer) -> None:
        book.accounts.top_up(s.code, Money("100", "MYR"), key="m-tp-s", actor=STEWARD)
        book.accounts.top_up(d.code, Money("40", "MYR"), key="m-tp-d", actor=STEWARD)
        book.accounts.top_up(d.code, Money("7", "USD"), key="m-tp-d2", actor=STEWARD)
        grant = book.accounts.grant_rebate(
            d.code, Money("15", "MYR"), valid_from=VALID[0], valid_until=VALID[1], key="m-g", actor=MAKER
        )
        assert grant.approval_id is not None
        book.approvals.approve(grant.approval_id, actor=CHECKER)

    def _rebate(self, book: Book, customer: Customer) -> list[tuple[Money, GrantStatus]]:
        return [(g.remaining, g.status) for g in book.accounts.grants(customer.id)]

    def test_merge_moves_balances_and_grants_by_ledger_entries_and_unmerge_moves_them_back(self, book: Book) -> None:
        s, d = self._pair(book)
        self._money(book, s, d)
        record = book.duplicates.merge(s.code, d.code, actor=STEWARD)
        assert book.accounts.balance(s.code, "MYR").available == Money("140", "MYR")
        assert book.accounts.balance(s.code, "USD").available == Money("7", "USD")
        assert book.accounts.balance(s.code, "MYR").rebate_available == Money("15", "MYR")
        with book.unit_of_work(write=False) as uow:
            assert {c: b.actual for c, b in uow.balances.for_account(d.id).items()} == {
                "MYR": Money("0", "MYR"),
                "USD": Money("0", "USD"),
            }
        assert [e.kind for e in book.accounts.ledger(d.id)][-3:] == [EntryKind.TRANSFER] * 3
        assert book.accounts.reconcile().ok
        book.duplicates.unmerge(record.id, actor=STEWARD)
        assert book.accounts.balance(s.code, "MYR").available == Money("100", "MYR")
        assert book.accounts.balance(s.code, "MYR").rebate_available == Money("0", "MYR")
        assert book.accounts.balance(d.code, "MYR").available == Money("40", "MYR")
        assert book.accounts.balance(d.code, "USD").available == Money("7", "USD")
        assert self._rebate(book, d) == [(Money("15", "MYR"), GrantStatus.APPROVED)]
        assert book.accounts.reconcile().ok

    def test_unmerge_is_refused_once_money_was_posted_to_the_survivor(self, book: Book) -> None:
        s, d = self._pair(book)
        self._money(book, s, d)
        record = book.duplicates.merge(s.code, d.code, actor=STEWARD)
        book.accounts.top_up(s.code, Money("10", "MYR"), key="m-after", actor=STEWARD)
        with pytest.raises(NotAllowed) as caught:
            book.duplicates.unmerge(record.id, actor=STEWARD)
        assert caught.value.code == "posted_since_merge"
        assert book.accounts.balance(s.code, "MYR").available == Money("150", "MYR")

    def test_a_duplicate_with_money_on_hold_cannot_be_merged(self, book: Book) -> None:
        s, d = self._pair(book)
        self._money(book, s, d)
        book.accounts.submit_payment(d.code, prepayment=Money("5", "MYR"), key="m-pay", actor=STEWARD)
        with pytest.raises(NotAllowed) as caught:
            book.duplicates.merge(s.code, d.code, actor=STEWARD)
        assert caught.value.code == "open_holds"
        assert book.customers.get(d.code).status is CustomerStatus.ACTIVE
        assert book.accounts.balance(d.code, "MYR").actual == Money("40", "MYR")

    def test_a_duplicate_with_grants_awaiting_approval_cannot_be_merged(self, book: Book) -> None:
        s, d = self._pair(book)
        grant = book.accounts.grant_rebate(
            d.code, Money("15", "MYR"), valid_from=VALID[0], valid_until=VALID[1], key="m-pg", actor=MAKER
        )
        assert grant.approval_id is not None
        with pytest.raises(NotAllowed) as caught:
            book.duplicates.merge(s.code, d.code, actor=STEWARD)
        assert (caught.value.code, caught.value.field) == ("pending_approvals", "duplicate")
        book.approvals.approve(grant.approval_id, actor=CHECKER)
        book.duplicates.merge(s.code, d.code, actor=STEWARD)
        assert book.accounts.balance(s.code, "MYR").rebate_available == Money("15", "MYR")

    def _receivables(self, book: Book, s: Customer, d: Customer) -> None:
        book.credit.post_invoice(s.code, "INV-S1", Money("100", "MYR"), issued=dt.date(2026, 1, 5), actor=STEWARD)
        book.credit.post_invoice(d.code, "INV-D1", Money("60", "MYR"), issued=dt.date(2026, 1, 10), actor=STEWARD)
        book.credit.post_invoice(d.code, "INV-D2", Money("30", "MYR"), issued=dt.date(2026, 1, 12), actor=STEWARD)
        book.credit.post_payment(
            d.code, "PAY-D1", Money("40", "MYR"), received=dt.date(2026, 1, 20), invoices=["INV-D2"], actor=STEWARD
        )  # settles INV-D2 and leaves 10 unapplied

    def _held(self, book: Book, customer: Customer) -> list[tuple[str, str, Money]]:
        with book.unit_of_work(write=False) as uow:
            items = uow.credit.items([customer.id], open_only=False)
            return sorted((i.document, i.kind.value, i.open) for i in items)

    def test_merge_moves_open_receivables_and_unmerge_moves_exactly_those_back(self, book: Book) -> None:
        s, d = self._pair(book)
        self._receivables(book, s, d)
        before = (self._held(book, s), self._held(book, d))
        assert book.credit.exposure(s.code, "MYR").open_items == Money("100", "MYR")
        record = book.duplicates.merge(s.code, d.code, actor=STEWARD)
        assert book.credit.exposure(s.code, "MYR").open_items == Money("150", "MYR")  # 100 + 60 - 10 unapplied
        aging = book.credit.aging(dt.date(2026, 3, 1), customer=s.code)
        assert [(r.customer_id, r.total) for r in aging.rows] == [(s.id, Money("160", "MYR"))]
        assert [x[0] for x in self._held(book, s)] == ["INV-D1", "INV-S1", "PAY-D1"]
        assert self._held(book, d) == [("INV-D2", "invoice", Money("0", "MYR"))]  # settled: stays
        book.duplicates.unmerge(record.id, actor=STEWARD)
        assert (self._held(book, s), self._held(book, d)) == before
        assert book.credit.exposure(s.code, "MYR").open_items == Money("100", "MYR")
        assert book.credit.exposure(d.code, "MYR").open_items == Money("50", "MYR")

    def test_unmerge_is_refused_once_a_moved_receivable_changed(self, book: Book) -> None:
        s, d = self._pair(book)
        self._receivables(book, s, d)
        record = book.duplicates.merge(s.code, d.code, actor=STEWARD)
        book.credit.post_payment(
            s.code, "PAY-S1", Money("20", "MYR"), received=dt.date(2026, 2, 1), invoices=["INV-D1"], actor=STEWARD
        )
        with pytest.raises(NotAllowed) as caught:
            book.duplicates.unmerge(record.id, actor=STEWARD)
        assert caught.value.code == "receivables_changed"
        assert book.customers.get(d.code).id == s.id  # still merged
        assert self._held(book, s)[0] == ("INV-D1", "invoice", Money("40", "MYR"))


class PrivacyContract:
    """Export everything held on a person; erase it without touching financial records."""

    def _person(self, book: Book) -> Customer:
        c = _create(
            book,
            name={"en": "Zelda Quixotic"},
            tax_numbers={"nric": "880101-14-5566"},
            notes="prefers calls after 6pm",
            contacts=[{"name": "Zelda Quixotic", "email": "zelda.q@example.org", "mobile": "+60 19-876 5432"}],
            addresses=[{"lines": ["77 Jalan Xylophone"], "city": "Ipoh", "postcode": "30450", "country": "MY"}],
        )
        book.customers.update(c.code, {"names": {"en": "Zelda Q. Quixotic"}}, actor=STEWARD)
        book.customers.record_interaction(
            c.code, channel="phone", summary="Zelda asked about Xylophone order", actor=STEWARD
        )
        book.privacy.record_consent(
            c.code,
            "marketing_email",
            True,
            method="web_form",
            contact_id=c.contacts[0].id,
            evidence="ticked box, IP 203.0.113.9, Zelda",
            actor=STEWARD,
        )
        return book.customers.get(c.code)

    def test_export_holds_profile_contacts_interactions_consents_and_audit(self, book: Book) -> None:
        c = self._person(book)
        doc = book.privacy.export(c.code, actor=STEWARD)
        assert doc["customer"]["names"] == {"en": "Zelda Q. Quixotic"}
        assert doc["customer"]["contacts"][0]["email"] == "zelda.q@example.org"
        assert [i["summary"] for i in doc["interactions"]] == ["Zelda asked about Xylophone order"]
        assert doc["consents"][0]["method"] == "web_form"
        assert [e["action"] for e in doc["audit"]][:2] == ["customer.create", "customer.update"]
        contact_doc = book.privacy.export(c.code, contact_id=c.contacts[0].id, actor=STEWARD)
        assert contact_doc["contact"]["name"] == "Zelda Quixotic"
        assert [x["purpose"] for x in contact_doc["consents"]] == ["marketing_email"]

    def test_consent_records_when_and_how_and_sets_the_contact_flag(self, book: Book) -> None:
        c = self._person(book)
        contact_id = c.contacts[0].id
        assert c.contacts[0].marketing_email
        book.privacy.record_consent(
            c.code, "marketing_email", False, method="email", contact_id=contact_id, at=T0, actor=STEWARD
        )
        state = book.privacy.consents(c.code, contact_id=contact_id)
        assert (state["marketing_email"].granted, state["marketing_email"].method) == (False, "email")
        assert not book.customers.get(c.code).contacts[0].marketing_email

    def test_erasure_anonymises_everything_and_is_audited_without_values(self, book: Book) -> None:
        c = self._person(book)
        report = book.privacy.erase(c.code, actor=STEWARD)
        assert report.customer_ids == (c.id,)
        after = book.customers.get(c.code)
        assert (after.name, after.code, after.tax_numbers, after.notes) == (ERASED, c.code, {}, "")
        assert after.contacts[0].email is None
        assert after.addresses[0].lines == ()
        doc = book.privacy.export(c.code, actor=STEWARD)
        text = repr(doc).casefold()
        for value in ("zelda", "quixotic", "xylophone", "example.org", "880101", "876 5432", "8765432", "203.0.113"):
            assert value not in text, value
        last = book.customers.history(c.code)[-1]
        assert last.action == "customer.erase"
        assert "names" in last.changes["erased"][1]
        assert book.customers.search("zelda").items == []

    def test_erasing_one_contact_leaves_the_customer(self, book: Book) -> None:
        c = self._person(book)
        book.customers.add_contact(c.code, {"name": "Other Person", "email": "other@example.net"}, actor=STEWARD)
        book.privacy.erase_contact(c.code, c.contacts[0].id, actor=STEWARD)
        after = book.customers.get(c.code)
        assert [x.name for x in after.contacts] == [ERASED, "Other Person"]
        assert after.name == "Zelda Q. Quixotic"
        assert "zelda.q@example.org" not in repr(book.customers.history(c.code))

    def test_erasure_covers_customers_merged_into_it(self, book: Book) -> None:
        c = self._person(book)
        twin = _create(
            book, name={"en": "Zelda Quixotic (old)"}, contacts=[{"name": "Zelda", "email": "zq@old.example.org"}]
        )
        book.duplicates.merge(c.code, twin.code, actor=STEWARD)
        report = book.privacy.erase(c.code, actor=STEWARD)
        assert set(report.customer_ids) == {c.id, twin.id}
        assert "zelda" not in repr(book.duplicates.merges(c.code)).casefold()

    def test_erasure_keeps_every_ledger_and_receivable_amount_and_accounts_hold_no_personal_value(
        self, book: Book
    ) -> None:
        c = self._person(book)
        top_up = book.accounts.top_up(
            c.code, Money("250", "MYR"), reference="Zelda at the till", key="p-tp", actor=STEWARD
        )
        book.accounts.record_income(
            c.code, Money("5", "MYR"), method="cash", reference="Zelda Quixotic", key="p-in", actor=MAKER
        )
        grant = book.accounts.grant_rebate(
            c.code,
            Money("20", "MYR"),
            valid_from=VALID[0],
            valid_until=VALID[1],
            reason="goodwill for Zelda",
            key="p-g",
            actor=MAKER,
        )
        assert grant.approval_id is not None
        book.accounts.submit_expense(c.code, Money("3", "MYR"), reason="Xylophone repair", key="p-ex", actor=MAKER)
        for request in book.approvals.pending():
            book.approvals.approve(request.id, actor=CHECKER)
        book.credit.post_invoice(c.code, "INV-1", Money("80", "MYR"), issued=dt.date(2026, 1, 1), actor=STEWARD)

        def amounts() -> Any:
            ledger = [
                (e.kind, e.available_delta, e.locked_delta, e.available_after) for e in book.accounts.ledger(c.code)
            ]
            items = [(i.kind, i.amount, i.open) for i in book.credit.items(c.code)]
            grants = [(g.amount, g.remaining, g.status) for g in book.accounts.grants(c.code)]
            return ledger, items, grants, book.accounts.balance(c.code, "MYR")

        before = amounts()
        book.privacy.erase(c.code, actor=STEWARD)
        assert amounts() == before
        held = repr((book.accounts.account(c.code), book.accounts.ledger(c.code), book.accounts.grants(c.code)))
        held += repr((book.accounts.top_ups(c.code), book.credit.items(c.code)))
        held += repr((book.accounts.incomes(c.code), book.accounts.expenses(c.code)))
        held += repr([book.approvals.get(r.approval_id) for r in book.accounts.incomes(c.code) if r.approval_id])
        held += repr([book.approvals.get(g.approval_id) for g in book.accounts.grants(c.code) if g.approval_id])
        replayed = book.accounts.top_up(  # a replay returns the stored outcome
            c.code, Money("250", "MYR"), reference="Zelda at the till", key="p-tp", actor=STEWARD
        )
        assert (replayed.id, replayed.amount, replayed.reference) == (top_up.id, top_up.amount, ERASED)
        assert "Xylophone repair" not in repr(before)  # the amounts compared hold no text
        for value in ("Zelda", "Quixotic", "Xylophone", "example.org"):
            assert value.casefold() not in held.casefold(), value


class HierarchyContract:
    """Groups: descendants, ancestors, the roll-up ids for credit, safe moves."""

    def test_group_views_and_roll_up_ids(self, book: Book) -> None:
        hq = _create(book, name={"en": "Group HQ"})
        north = _create(book, name={"en": "North"}, parent_id=hq.code)
        south = _create(book, name={"en": "South"}, parent_id=hq.code)
        shop = _create(book, name={"en": "North Shop"}, parent_id=north.code)
        assert [c.code for c in book.hierarchy.descendants(hq.code)] == [north.code, south.code, shop.code] or {
            c.code for c in book.hierarchy.descendants(hq.code)
        } == {north.code, south.code, shop.code}
        assert [c.id for c in book.hierarchy.ancestors(shop.code)] == [north.id, hq.id]
        assert set(book.hierarchy.group_ids(south.code)) == {hq.id, north.id, south.id, shop.id}
        assert set(book.hierarchy.group_ids(north.code, scope="subtree")) == {north.id, shop.id}
        assert book.hierarchy.root(shop.code).id == hq.id

    def test_moving_a_subtree_refuses_cycles_and_keeps_the_depth_limit(self, book: Book) -> None:
        hq = _create(book, name={"en": "Group HQ"})
        north = _create(book, name={"en": "North"}, parent_id=hq.code)
        shop = _create(book, name={"en": "North Shop"}, parent_id=north.code)
        other = _create(book, name={"en": "Other Group"})
        moved = book.hierarchy.move(north.code, other.code, actor=STEWARD)
        assert moved.parent_id == other.id
        assert set(book.hierarchy.group_ids(shop.code)) == {other.id, north.id, shop.id}
        with pytest.raises(ValidationError) as caught:
            book.hierarchy.move(other.code, shop.code, actor=STEWARD)
        assert caught.value.code == "hierarchy_cycle"


#: Every command the library governs, with how to raise its request (maker: MAKER) and how to
#: see that the change was applied. Hosts enable the rules that are off by default.
GOVERNED_POLICY = ApprovalPolicy(
    rules=(
        ApprovalRule(command="credit.limit", conditions=[Condition("increase", Comparison.GT, Decimal("10000"))]),
        ApprovalRule(command="customer.restore", steps=[ApprovalStep("finance_approver")]),
        ApprovalRule(command="account.settlement_method"),
        *DEFAULT_POLICY.rules,
    )
)


class ApprovalContract:
    """One approval path for every governed command: maker-checker, steps, one transaction."""

    def _customer(self, book: Book, code: str = "GOV-1") -> Customer:
        book.approvals.configure(GOVERNED_POLICY, actor=STEWARD)
        return _create(book, code=code, name={"en": f"Governed {code}"})

    def _requests(self, book: Book, c: Customer) -> dict[str, tuple[ApprovalRequest, Any]]:
        """Raise one request per governed command; each with a check that its change is applied."""
        found: dict[str, tuple[ApprovalRequest, Any]] = {}
        settlement = book.accounts.set_settlement_method(c.code, "prepaid", actor=MAKER).approval
        assert settlement is not None
        found["account.settlement_method"] = (
            settlement,
            lambda: book.accounts.account(c.code).settlement_method is SettlementMethod.PREPAID,
        )
        book.credit.set_profile(c.code, "MYR", limit=Money("5000", "MYR"), actor=MAKER)
        limit = book.credit.change_limit(c.code, "MYR", Money("50000", "MYR"), actor=MAKER).approval
        assert limit is not None
        found["credit.limit"] = (limit, lambda: _limit(book, c.code) == Money("50000", "MYR"))
        income = book.accounts.record_income(c.code, Money("30", "MYR"), method="cash", key="g-inc", actor=MAKER)
        assert income.approval_id is not None
        found["prepayment.income"] = (
            book.approvals.get(income.approval_id),
            lambda: book.accounts.balance(c.code, "MYR").actual == Money("30", "MYR"),
        )
        grant = book.accounts.grant_rebate(
            c.code, Money("9", "MYR"), valid_from=VALID[0], valid_until=VALID[1], key="g-gr", actor=MAKER
        )
        assert grant.approval_id is not None
        found["rebate.grant.manual"] = (
            book.approvals.get(grant.approval_id),
            lambda: book.accounts.balance(c.code, "MYR").rebate_available == Money("9", "MYR"),
        )
        override = book.credit.request_override(c.code, Money("100", "MYR"), reason="big order", actor=MAKER)
        found["credit.override"] = (override, lambda: book.approvals.get(override.id).status is ApprovalStatus.APPROVED)
        voided = _create(book, code=f"{c.code}-V", name={"en": "Voided twin"})
        book.customers.set_status(voided.code, "voided", actor=MAKER)
        restore = book.customers.restore(voided.code, actor=MAKER).approval
        assert restore is not None
        found["customer.restore"] = (
            restore,
            lambda: book.customers.get(voided.code).status is CustomerStatus.ACTIVE,
        )
        return found

    def test_every_governed_command_waits_and_the_requester_cannot_approve_it(self, book: Book) -> None:
        c = self._customer(book)
        requests = self._requests(book, c)
        assert sorted(requests) == sorted(
            [
                "account.settlement_method",
                "credit.limit",
                "credit.override",
                "customer.restore",
                "prepayment.income",
                "rebate.grant.manual",
            ]
        )
        for command, (request, applied) in requests.items():
            assert request.command == command
            if command != "credit.override":
                assert not applied(), command
            with pytest.raises(NotAllowed) as caught:
                book.approvals.approve(request.id, actor=MAKER)
            assert caught.value.code == "self_approval", command
            assert book.approvals.approve(request.id, actor=CHECKER).status is ApprovalStatus.APPROVED, command
            assert applied(), command

    def test_a_governed_change_keeps_its_before_and_after(self, book: Book) -> None:
        c = self._customer(book)
        book.credit.set_profile(c.code, "MYR", limit=Money("5000", "MYR"), actor=MAKER)
        small = book.credit.change_limit(c.code, "MYR", Money("9000", "MYR"), actor=MAKER)
        assert (small.approval, small.profile.limit) == (None, Money("9000", "MYR"))  # under the threshold
        held = book.credit.set_profile(c.code, "MYR", limit=Money("30000", "MYR"), rating="A", actor=MAKER)
        assert (held.limit, held.rating) == (Money("9000", "MYR"), "A")  # the other fields apply
        [request] = book.approvals.pending(command="credit.limit")
        assert request.payload["before"] == {"amount": "9000.00", "currency": "MYR"}
        assert request.payload["after"] == {"amount": "30000.00", "currency": "MYR"}
        book.approvals.reject(request.id, note="too much", actor=CHECKER)
        assert _limit(book, c.code) == Money("9000", "MYR")
        assert book.approvals.get(request.id).status is ApprovalStatus.REJECTED

    def test_approval_applies_the_change_and_its_audit_entry_in_one_transaction(self, book: Book) -> None:
        c = self._customer(book)
        request = book.accounts.set_settlement_method(c.code, "prepaid", actor=MAKER).approval
        assert request is not None
        real = book.approvals.handler("account.settlement_method")

        def crash(*args: Any) -> None:
            real.apply(*args)
            raise RuntimeError("fault injected after the change was written")

        book.approvals.register("account.settlement_method", Handler(crash, real.discard, real.permission))
        with pytest.raises(RuntimeError):
            book.approvals.approve(request.id, actor=CHECKER)
        assert book.approvals.get(request.id).status is ApprovalStatus.PENDING
        assert book.accounts.account(c.code).settlement_method is SettlementMethod.PAY_NOW
        with book.unit_of_work(write=False) as uow:
            assert uow.audit.for_entity("approval", request.id) == []
            assert [e.action for e in uow.audit.for_entity("account", c.id)] == []

        book.approvals.register("account.settlement_method", real)
        book.approvals.approve(request.id, actor=CHECKER)
        assert book.accounts.account(c.code).settlement_method is SettlementMethod.PREPAID
        with book.unit_of_work(write=False) as uow:
            assert [e.action for e in uow.audit.for_entity("approval", request.id)] == ["approval.approve"]
            assert [e.action for e in uow.audit.for_entity("account", c.id)] == ["account.settlement_method"]

    def test_a_chain_of_steps_needs_each_role_and_different_people(self, book: Book) -> None:
        c = self._customer(book)
        chain = GOVERNED_POLICY.with_rules(
            ApprovalRule(command="customer.restore", steps=[ApprovalStep("finance_approver"), ApprovalStep("admin")])
        )
        book.approvals.configure(chain, actor=STEWARD)
        book.customers.set_status(c.code, "voided", actor=MAKER)
        with pytest.raises(NotAllowed) as caught:
            book.customers.set_status(c.code, "active", actor=MAKER)
        assert caught.value.code == "needs_approval"
        request = book.customers.restore(c.code, reason="paid up", actor=SECOND).approval
        assert request is not None
        with pytest.raises(NotAllowed) as caught:
            book.approvals.approve(request.id, actor=SECOND)
        assert caught.value.code == "self_approval"
        with pytest.raises(PermissionDenied) as caught:
            book.approvals.approve(request.id, actor=STEWARD)  # an admin, but step 1 needs finance_approver
        assert caught.value.code == "missing_role"
        both = Actor(id="both", roles=frozenset({"finance_approver", "admin"}))
        assert book.approvals.approve(request.id, actor=both).current_step == 1
        assert book.customers.get(c.code).status is CustomerStatus.VOIDED
        with pytest.raises(NotAllowed) as caught:
            book.approvals.approve(request.id, actor=both)
        assert caught.value.code == "duplicate_approver"
        book.approvals.approve(request.id, actor=STEWARD)
        assert book.customers.get(c.code).status is CustomerStatus.ACTIVE

    def test_pending_requests_are_listed_per_approver(self, book: Book) -> None:
        c = self._customer(book)
        chain = GOVERNED_POLICY.with_rules(
            ApprovalRule(command="account.settlement_method", steps=[ApprovalStep("credit_controller")])
        )
        book.approvals.configure(chain, actor=STEWARD)
        settlement = book.accounts.set_settlement_method(c.code, "credit", actor=MAKER).approval
        income = book.accounts.record_income(c.code, Money("5", "MYR"), method="cash", key="pl-1", actor=MAKER)
        assert settlement is not None
        controller = Actor(id="cc", roles=frozenset({"credit_controller"}))
        assert [r.id for r in book.approvals.pending(approver=controller)] == [settlement.id]
        assert [r.id for r in book.approvals.pending(approver=CHECKER)] == [income.approval_id]
        assert book.approvals.pending(approver=MAKER) == []  # their own requests
        assert [r.id for r in book.approvals.pending(command="prepayment.income")] == [income.approval_id]
        assert {r.id for r in book.accounts.pending_approvals()} == {settlement.id, income.approval_id}

    def test_an_imported_row_raises_requests_for_governed_fields_and_applies_the_rest(self, book: Book) -> None:
        c = self._customer(book)
        book.credit.set_profile(c.code, "MYR", limit=Money("1000", "MYR"), actor=MAKER)
        report = book.customers.import_rows(
            [
                {"code": c.code, "notes": "imported", "credit_limit": "90000 MYR", "settlement_method": "credit"},
                {"code": "GOV-NEW", "name": "Fresh"},
            ],
            actor=MAKER,
        )
        assert report.ok
        assert report.rows_ok == 2
        assert [(a.row, a.field) for a in report.approvals] == [(1, "settlement_method"), (1, "credit_limit")]
        assert book.customers.get(c.code).notes == "imported"
        assert _limit(book, c.code) == Money("1000", "MYR")
        assert book.accounts.account(c.code).settlement_method is SettlementMethod.PAY_NOW
        for row in report.approvals:
            book.approvals.approve(row.approval_id, actor=CHECKER)
        assert _limit(book, c.code) == Money("90000", "MYR")
        assert book.accounts.account(c.code).settlement_method is SettlementMethod.CREDIT

    def test_hosts_register_handlers_for_their_own_commands(self, book: Book) -> None:
        c = self._customer(book)
        applied: list[str] = []

        def ship(uow: Any, request: ApprovalRequest, actor: Actor, now: dt.datetime) -> None:
            applied.append(request.payload["order"])

        book.approvals.register("host.ship_on_credit", Handler(ship, permission="credit.override"))
        book.approvals.configure(GOVERNED_POLICY.with_rules(ApprovalRule(command="host.ship_on_credit")), actor=STEWARD)
        with book.unit_of_work() as uow:
            request = request_in(
                book.services,
                uow,
                command="host.ship_on_credit",
                facts={},
                subject_type="order",
                subject_id="SO-1",
                customer_id=c.id,
                payload={"order": "SO-1"},
                actor=MAKER,
                now=T0,
            )
            uow.commit()
        assert request is not None
        book.approvals.approve(request.id, actor=CHECKER)
        assert applied == ["SO-1"]


GOVERNANCE_CONTRACTS = (DuplicateContract, MergeContract, PrivacyContract, HierarchyContract, ApprovalContract)
