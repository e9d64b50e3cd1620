"""Bulk import and export: per-row errors, the two modes, upsert by code, CSV and JSON Lines."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bigledger_customers import Actor, Book, ImportReport, connect
from bigledger_customers.services.bulk import read_csv, read_jsonl, write_csv, write_jsonl
from bigledger_customers.testing import FrozenClock
from tests.servers import reset_database

ADMIN = Actor(id="admin", roles={"sales_admin"})
ROWS = 10_000
#: (column, bad value, reported field, reported code); bad rows cycle through these.
FAULTS = [
    ("contacts.0.phone", "12345", "contacts[0].phone", "invalid_phone"),
    ("contacts.0.email", "not-an-email", "contacts[0].email", "invalid_email"),
    ("category", "NOPE", "category", "unknown_category"),
    ("country", "XX", "country", "invalid_country"),
    ("code", "BAD CODE", "code", "invalid_code"),
    ("priority", "urgent", "priority", "invalid_type"),
]
BAD_ROWS = [1500 + 97 * i for i in range(37)]  # rows 1500..4992: batches 2-5 of 1,000


def _row(n: int) -> dict[str, str]:
    return {
        "code": f"IMP-{n:05d}",
        "names.en": f"Customer {n} Trading",
        "names.zh": f"客户{n}贸易",
        "country": "MY",
        "category": "WHOLESALE" if n % 3 else "retail",
        "tags": "bulk;north" if n % 2 else "bulk",
        "contacts.0.name": f"Buyer {n}",
        "contacts.0.phone": f"+60 12-{n % 1000:03d} {n % 10000:04d}",
        "contacts.0.email": f"Buyer{n}@Example.com",
    }


def _csv(bad: dict[int, tuple[str, str, str, str]]) -> str:
    rows = []
    for n in range(1, ROWS + 1):
        row = _row(n)
        if n in bad:
            column, value, _, _ = bad[n]
            row[column] = f"{value}-{n}" if column == "code" else value
        rows.append(row)
    out = io.StringIO()
    write_csv(rows, out, columns=[*_row(1), "priority"], bom=True)
    return out.getvalue()


BAD = {n: FAULTS[i % len(FAULTS)] for i, n in enumerate(BAD_ROWS)}
EXPECTED = {(n, field, code) for n, (_, _, field, code) in BAD.items()}


@pytest.fixture(
    params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)],
)
def book(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Book]:
    if request.param == "memory":
        url = "memory://"
    elif request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'bulk.db'}"
    else:
        url = request.getfixturevalue("postgresql_url")
        reset_database(url)
    with connect(url, clock=FrozenClock()) as book:
        book.reference.add("category", "WHOLESALE", actor=ADMIN)
        book.reference.add("category", "RETAIL", actor=ADMIN)
        yield book


def _count(book: Book) -> int:
    with book.unit_of_work(write=False) as uow:
        return uow.customers.count()


@pytest.fixture(scope="module")
def csv_text() -> str:
    return _csv(BAD)


def test_commit_good_rows_stores_the_good_rows_and_reports_every_bad_one(book: Book, csv_text: str) -> None:
    seen: list[ImportReport] = []
    report = book.customers.import_rows(
        read_csv(io.StringIO(csv_text)), mode="commit_good_rows", on_progress=seen.append, actor=ADMIN, workers=0
    )
    assert (report.rows_seen, report.rows_ok) == (10_000, 9_963)
    assert {(e.row, e.field, e.code) for e in report.errors} == EXPECTED
    assert len(report.errors) == 37
    assert _count(book) == 9_963
    assert [r.rows_seen for r in seen] == [5_000, 10_000]
    stored = book.customers.get("imp-00002")
    assert stored.category == "WHOLESALE"
    assert stored.contacts[0].phone == "+60120020002"
    assert stored.contacts[0].email == "Buyer2@example.com"
    assert stored.tags == frozenset({"bulk"})
    assert book.customers.search("客户2贸易").total == 1


def test_all_or_nothing_stores_nothing_of_a_batch_with_a_bad_row(book: Book, csv_text: str) -> None:
    report = book.customers.import_rows(
        read_csv(io.StringIO(csv_text)), mode="all_or_nothing", batch_size=1000, actor=ADMIN, workers=0
    )
    bad_batches = {(n - 1) // 1000 for n in BAD_ROWS}
    assert bad_batches == {1, 2, 3, 4}
    assert report.rows_ok == 6_000
    assert {(e.row, e.field, e.code) for e in report.errors} == EXPECTED
    assert _count(book) == 6_000
    codes = {c["code"] for c in book.customers.export()}
    assert all((int(code[4:]) - 1) // 1000 not in bad_batches for code in codes)


def test_rows_with_a_known_code_update_the_given_fields(book: Book) -> None:
    rows = [{"code": f"UPS-{n:03d}", "name": {"en": f"Up {n}"}, "country": "MY"} for n in range(5)]
    assert book.customers.import_rows(rows, actor=ADMIN).rows_ok == 5
    csv_text = "code,category,tags\nups-001,wholesale,a;b\nUPS-002,NOPE,\nUPS-009,RETAIL,\n"
    report = book.customers.import_rows(read_csv(io.StringIO(csv_text)), actor=ADMIN)
    assert report.rows_ok == 1
    assert {(e.row, e.field, e.code) for e in report.errors} == {
        (2, "category", "unknown_category"),
        (3, "names", "required"),  # a new code: a create, and a customer needs a name
    }
    updated = book.customers.get("UPS-001")
    assert (updated.category, updated.tags, updated.version) == ("WHOLESALE", frozenset({"a", "b"}), 2)
    assert updated.names == {"en": "Up 1"}
    assert book.customers.history("UPS-001")[-1].changes["category"] == [None, "WHOLESALE"]
    assert book.customers.get("UPS-002").version == 1


def test_import_records_audit_and_created_events(book: Book) -> None:
    rows = [{"code": f"EVT-{n:03d}", "name": {"en": f"Ev {n}"}} for n in range(3)]
    book.customers.import_rows(rows, actor=ADMIN)
    events = [e for e in book.events.read() if e.type == "customer.created"]
    assert [e.payload["code"] for e in events] == ["EVT-000", "EVT-001", "EVT-002"]
    (entry,) = book.customers.history("EVT-001")
    assert (entry.action, entry.actor_id, entry.changes["code"]) == ("customer.import", "admin", [None, "EVT-001"])


def test_rows_without_code_get_generated_codes_and_bad_shapes_are_reported(book: Book) -> None:
    report = book.customers.import_rows([{"name": {"en": "No Code"}}, "not a row", {"colour": "red"}], actor=ADMIN)
    assert report.rows_ok == 1
    assert {(e.row, e.code) for e in report.errors} == {(2, "invalid_type"), (3, "unknown_field")}
    assert book.customers.search("no code").items[0].code == "CUS-000001"


def test_export_round_trips_through_csv_and_json_lines(book: Book, tmp_path: Path) -> None:
    rows = [_row(n) for n in range(1, 41)]
    book.customers.import_rows(read_csv(io.StringIO(_csv_of(rows))), actor=ADMIN)
    exported = list(book.customers.export(page_size=7))
    assert [r["code"] for r in exported] == [f"IMP-{n:05d}" for n in range(1, 41)]
    path = tmp_path / "out.jsonl"
    with path.open("w", encoding="utf-8") as out:
        assert write_jsonl(exported, out) == 40
    assert list(read_jsonl(path)) == exported
    csv_path = tmp_path / "out.csv"
    with csv_path.open("w", encoding="utf-8", newline="") as out:
        write_csv(book.customers.export(category="RETAIL"), out, dialect="excel-tab", bom=True)
    back = list(read_csv(csv_path, dialect="excel-tab"))
    assert [r["code"] for r in back] == [f"IMP-{n:05d}" for n in range(3, 41, 3)]
    assert back[0]["names"] == {"en": "Customer 3 Trading", "zh": "客户3贸易"}
    assert back[0]["contacts"][0]["phone"] == "+60120030003"
    # importing the export again changes nothing but versions (status and ids are read-only columns)
    report = book.customers.import_rows(back, actor=ADMIN)
    assert (report.rows_ok, report.errors) == (len(back), ())


def test_a_bom_and_a_semicolon_dialect_are_read(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes("\ufeffcode;names.en;tags\nA-001;Müller;x; y\n".encode())
    assert list(read_csv(path, delimiter=";", quoting=3)) == [
        {"code": "A-001", "names": {"en": "Müller"}, "tags": ["x"]}
    ]
    assert next(read_csv(io.BytesIO(path.read_bytes()), delimiter=";"))["code"] == "A-001"


def test_worker_processes_give_the_same_report(book: Book) -> None:
    bad = {3: FAULTS[0], 77: FAULTS[2]}
    rows: list[dict[str, Any]] = []
    for n in range(1, 121):
        row = _row(n)
        if n in bad:
            row[bad[n][0]] = bad[n][1]
        rows.append(row)
    report = book.customers.import_rows(read_csv(io.StringIO(_csv_of(rows))), batch_size=50, actor=ADMIN, workers=2)
    assert report.rows_ok == 118
    assert {(e.row, e.field, e.code) for e in report.errors} == {
        (3, "contacts[0].phone", "invalid_phone"),
        (77, "category", "unknown_category"),
    }


def _csv_of(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    write_csv(rows, out, columns=list(rows[0]))
    return out.getvalue()
