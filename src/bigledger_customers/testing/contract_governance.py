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
from bigledger_customers.domain.customer import Customer, CustomerStatus
from bigledger_customers.domain.merge import MergeStatus
from bigledger_customers.domain.privacy import ERASED
from bigledger_customers.domain.records import Actor
from bigledger_customers.errors import ConcurrencyError, Conflict, NotAllowed, ValidationError
from bigledger_customers.services._base import Settings

__all__ = ["GOVERNANCE_CONTRACTS", "DuplicateContract", "HierarchyContract", "MergeContract", "PrivacyContract"]

STEWARD = Actor(id="steward", roles=frozenset({"admin"}))
T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def _create(book: Book, **data: Any) -> Customer:
    data.setdefault("name", {"en": "ABC Manufacturing Sdn Bhd"})
    data.setdefault("country", "MY")
    return book.customers.create(data, actor=STEWARD, allow_duplicate=True)


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


GOVERNANCE_CONTRACTS = (DuplicateContract, MergeContract, PrivacyContract, HierarchyContract)
