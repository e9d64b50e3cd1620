"""Governance on real SQL databases: nothing personal survives an erasure anywhere in the database,
amounts are untouched, a merge racing an edit of the survivor raises ConcurrencyError, and two
opposite hierarchy moves at once cannot make a cycle."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from typing import Any

import pytest
import sqlalchemy as sa

from bigledger_customers import Actor, ConcurrencyError, Money, ValidationError, connect
from bigledger_customers.services import customers as customers_service
from bigledger_customers.services import hierarchy
from bigledger_customers.services import merge as merge_service
from bigledger_customers.testing import FrozenClock
from tests.servers import reset_database

STEWARD = Actor(id="steward", roles=frozenset({"admin"}))
PERSONAL = (
    "Zelda",
    "Quixotic",
    "Xylophone",
    "zelda.q@example.org",
    "880101-14-5566",
    "+60198765432",
    "prefers calls after 6pm",
    "203.0.113.9",
    "s3://bucket/zelda-passport.pdf",
    "Zelda paid at the Xylophone counter",
    "Zelda's birthday goodwill",
    "Zelda's broken Xylophone",
)
#: Tables whose rows are financial records: erasure must leave every row exactly as it was, but
#: for the free text typed by people (erased) in these columns.
FINANCIAL = {
    "account_balances": (),
    "ledger_entries": ("reason",),
    "account_top_ups": ("reference",),
    "account_incomes": ("reference",),
    "account_expenses": ("reason",),
    "rebate_grants": ("reason",),
    "account_holds": ("reason",),
    "credit_documents": (),
    "credit_items": (),
}
APPROVER = Actor(id="approver", roles=frozenset({"finance_approver"}))
VALID = (dt.datetime(2025, 1, 1, tzinfo=dt.UTC), dt.datetime(2030, 1, 1, tzinfo=dt.UTC))


def _text_values(conn: sa.Connection) -> list[tuple[str, str, str]]:
    """(table, column, text) for every text-like value of every table (JSON as its text)."""
    found: list[tuple[str, str, str]] = []
    inspector = sa.inspect(conn)
    for table in inspector.get_table_names():
        columns = [c["name"] for c in inspector.get_columns(table)]
        quoted = ", ".join(conn.dialect.identifier_preparer.quote(c) for c in columns)
        rows = conn.exec_driver_sql(f"SELECT {quoted} FROM {conn.dialect.identifier_preparer.quote(table)}")
        for row in rows:
            for column, value in zip(columns, row, strict=True):
                if isinstance(value, str):
                    found.append((table, column, value))
                elif isinstance(value, dict | list):
                    found.append((table, column, json.dumps(value, ensure_ascii=False)))
    return found


def _financial_rows(conn: sa.Connection) -> dict[str, list[Any]]:
    """Every row of the financial tables (all present), free-text columns left out."""
    rows: dict[str, list[Any]] = {}
    for table, free_text in FINANCIAL.items():
        result = conn.exec_driver_sql(f"SELECT * FROM {table}")
        keep = [i for i, name in enumerate(result.keys()) if name not in free_text]
        rows[table] = sorted(repr([row[i] for i in keep]) for row in result.all())
    return rows


@pytest.fixture
def url(sql_url: str) -> str:
    return sql_url


def test_after_erasure_no_personal_value_is_left_in_any_text_column(url: str) -> None:
    with connect(url, clock=FrozenClock()) as book:
        c = book.customers.create(
            {
                "name": {"en": "Zelda Quixotic"},
                "country": "MY",
                "currency": "MYR",
                "tax_numbers": {"nric": "880101-14-5566"},
                "notes": "prefers calls after 6pm",
                "contacts": [{"name": "Zelda Quixotic", "email": "zelda.q@example.org", "mobile": "019-876 5432"}],
                "addresses": [{"lines": ["77 Jalan Xylophone"], "city": "Ipoh", "country": "MY"}],
                "attachments": [
                    {
                        "name": "Zelda passport.pdf",
                        "content_type": "application/pdf",
                        "size": 1,
                        "checksum": "sha256:00",
                        "storage_uri": "s3://bucket/zelda-passport.pdf",
                    }
                ],
            },
            actor=STEWARD,
        )
        book.customers.update(c.code, {"names": {"en": "Zelda Q. Quixotic"}}, actor=STEWARD)
        book.customers.record_interaction(
            c.code, channel="phone", summary="Zelda on the Xylophone order", actor=STEWARD
        )
        book.privacy.record_consent(
            c.code,
            "marketing_email",
            True,
            method="web_form",
            contact_id=c.contacts[0].id,
            evidence="ticked box from 203.0.113.9",
            actor=STEWARD,
        )
        twin = book.customers.create(
            {"name": "Zelda Quixotic", "country": "MY", "contacts": [{"name": "Z", "email": "zelda.q@example.org"}]},
            actor=STEWARD,
            allow_duplicate=True,
        )
        book.duplicates.merge(c.code, twin.code, actor=STEWARD)
        book.accounts.top_up(c.code, Money("250.00", "MYR"), reference=PERSONAL[9], key="tp-1", actor=STEWARD)
        book.accounts.record_income(
            c.code, Money("5", "MYR"), method="cash", reference=PERSONAL[9], key="in-1", actor=STEWARD
        )
        grant = book.accounts.grant_rebate(
            c.code,
            Money("20", "MYR"),
            valid_from=VALID[0],
            valid_until=VALID[1],
            reason=PERSONAL[10],
            key="g-1",
            actor=STEWARD,
        )
        book.accounts.submit_expense(c.code, Money("3", "MYR"), reason=PERSONAL[11], key="ex-1", actor=STEWARD)
        for request in book.approvals.pending():
            book.approvals.approve(request.id, actor=APPROVER)
        assert book.accounts.grants(c.code)[0].status.value == "approved", grant
        book.credit.post_invoice(c.code, "INV-1", Money("80.00", "MYR"), issued=dt.date(2026, 1, 5), actor=STEWARD)
        store: Any = book.store
        with store.engine.connect() as conn:
            texts = _text_values(conn)
            assert any(v for _, _, v in texts if "Xylophone" in v)  # the scan sees the data
            # ... and the free text where it is kept and where it was copied
            for table in ("account_top_ups", "account_incomes", "rebate_grants", "ledger_entries", "idempotency_keys"):
                assert any(t == table and "Zelda" in v for t, _, v in texts), table
            money_before = _financial_rows(conn)

        report = book.privacy.erase(c.code, actor=STEWARD)

        assert set(report.customer_ids) == {c.id, twin.id}
        assert report.attachment_uris == ("s3://bucket/zelda-passport.pdf",)
        with store.engine.connect() as conn:
            leftovers = [
                (table, column, value)
                for table, column, value in _text_values(conn)
                for personal in PERSONAL
                if personal.casefold() in value.casefold()
            ]
            assert leftovers == []
            assert _financial_rows(conn) == money_before
        balance = book.accounts.balance(c.code, "MYR")
        assert (balance.actual, balance.rebate_available) == (Money("252.00", "MYR"), Money("20", "MYR"))


@pytest.mark.postgresql
def test_a_merge_racing_an_edit_of_the_survivor_raises_concurrency_error(
    postgresql_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    reset_database(postgresql_url)
    with connect(postgresql_url, clock=FrozenClock()) as book, connect(postgresql_url) as other:
        s = book.customers.create({"name": "ABC Trading", "country": "MY"}, actor=STEWARD)
        d = book.customers.create({"name": "ABC Trading Sdn Bhd", "country": "MY"}, actor=STEWARD)
        real_check = merge_service.check_mergeable

        def edit_meanwhile(*args: Any) -> None:
            # The merge has read both customers; another connection commits an edit of the survivor.
            other.customers.update(s.code, {"notes": "edited during the merge"}, actor=STEWARD)
            real_check(*args)

        monkeypatch.setattr(merge_service, "check_mergeable", edit_meanwhile)
        with pytest.raises(ConcurrencyError):
            book.duplicates.merge(s.code, d.code, actor=STEWARD)

        after = book.customers.get(s.code)
        assert (after.notes, after.version) == ("edited during the merge", 2)
        assert book.customers.get(d.code).id == d.id  # not merged
        assert book.duplicates.merges(s.code) == []


@pytest.mark.postgresql
def test_two_opposite_moves_at_once_cannot_make_a_cycle(postgresql_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    reset_database(postgresql_url)
    with connect(postgresql_url, clock=FrozenClock()) as book, connect(postgresql_url) as other:
        a = book.customers.create({"name": "Alpha Group", "country": "MY"}, actor=STEWARD)
        b = book.customers.create({"name": "Beta Group", "country": "MY"}, actor=STEWARD)
        first_locked = threading.Event()
        real_lock = hierarchy.lock_hierarchy

        def slow_lock(uow: Any) -> None:
            real_lock(uow)
            if threading.current_thread().name == "first":
                first_locked.set()
                time.sleep(0.5)  # the second move starts now and must wait for this one

        monkeypatch.setattr(customers_service, "lock_hierarchy", slow_lock)
        outcomes: dict[str, str] = {}

        def move(name: str, target: Any, child: str, parent: str) -> None:
            try:
                target.hierarchy.move(child, parent, actor=STEWARD)
                outcomes[name] = "moved"
            except ValidationError as error:
                outcomes[name] = error.code

        first = threading.Thread(target=move, name="first", args=("first", book, a.code, b.code))
        first.start()
        assert first_locked.wait(10)
        second = threading.Thread(target=move, name="second", args=("second", other, b.code, a.code))
        second.start()
        first.join()
        second.join()

        assert outcomes == {"first": "moved", "second": "hierarchy_cycle"}
        assert book.customers.get(a.code).parent_id == b.id
        assert book.customers.get(b.code).parent_id is None
