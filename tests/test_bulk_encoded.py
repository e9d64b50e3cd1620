"""The bulk import's fast write path (``add_encoded``: rows encoded in the workers, COPY / executemany,
FTS5 filled per batch on SQLite) stores exactly what ``add_many`` stores, table by table."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bigledger_customers import Actor, Book, Conflict, connect
from bigledger_customers.adapters.sql import _tables as t
from bigledger_customers.adapters.sql._repositories import encode_new_customer
from bigledger_customers.domain.customer import Customer
from bigledger_customers.services import bulk
from bigledger_customers.testing import FrozenClock
from bigledger_customers.testing.generate import customers, reference_data
from tests.servers import reset_database

ADMIN = Actor(id="admin", roles={"admin"})
NOW = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.postgresql),
        pytest.param("mariadb", marks=pytest.mark.mariadb),
    ]
)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'a.db'}"
    else:
        yield request.getfixturevalue(f"{request.param}_url")


def _checked(book: Book, count: int) -> list[Customer]:
    """Customers as the import's workers build them (validated, ids and item ids assigned)."""
    for kind, code in reference_data():
        book.reference.add(kind, code, actor=ADMIN)
    ctx = bulk._Importer(book.services, mode="commit_good_rows", actor=ADMIN, workers=0).ctx
    rows = [(n, row, f"id{n:05d}") for n, row in enumerate(customers(count, seed=3), start=1)]
    out = []
    for result in bulk._prepare(rows, NOW, bulk._Context(ctx.references, ctx.definitions)):
        assert not isinstance(result, list), result
        assert result[2] is not None
        out.append(result[2])
    return out


def _snapshot(book: Book) -> dict[str, list[tuple[Any, ...]]]:
    with book.unit_of_work(write=False) as uow:
        conn: sa.Connection = uow.connection  # type: ignore[attr-defined]
        return {
            table.name: sorted((tuple(map(repr, row)) for row in conn.execute(sa.select(table))), key=repr)
            for table in t.metadata.sorted_tables
            if table.name not in ("audit", "outbox")  # written by the service, not these methods
        }


def _store(url: str, how: str, count: int = 60) -> tuple[dict[str, list[tuple[Any, ...]]], list[list[str]]]:
    if not url.startswith("sqlite"):
        reset_database(url)
    with connect(url, clock=FrozenClock()) as book:
        checked = _checked(book, count)
        with book.unit_of_work() as uow:
            if how == "add_many":
                uow.customers.add_many(checked)  # type: ignore[attr-defined]
            else:
                uow.customers.add_encoded([encode_new_customer(c) for c in checked])  # type: ignore[attr-defined]
            uow.commit()
        found = [
            [c.code for c in book.customers.search(text=text, sort="code", limit=50).items]
            for text in ("trading", "深圳", "科技", checked[7].code.lower(), "sdn bhd")
        ]
        return _snapshot(book), found


def test_add_encoded_stores_what_add_many_stores(url: str, tmp_path: Path) -> None:
    other = url.replace("a.db", "b.db") if url.startswith("sqlite") else url
    many, many_found = _store(url, "add_many")
    encoded, encoded_found = _store(other, "add_encoded")
    assert encoded.keys() == many.keys()
    for table in many:
        assert encoded[table] == many[table], table
    assert encoded["customer_match_keys"]  # the duplicate check's keys are written too
    assert encoded_found == many_found
    assert any(encoded_found)


def test_a_taken_code_writes_nothing_and_keeps_the_text_index_trigger(tmp_path: Path) -> None:
    with connect(f"sqlite:///{tmp_path / 'c.db'}", clock=FrozenClock()) as book:
        checked = _checked(book, 5)
        with book.unit_of_work() as uow:
            uow.customers.add_encoded([encode_new_customer(c) for c in checked[:2]])  # type: ignore[attr-defined]
            uow.commit()
        with book.unit_of_work() as uow:
            with pytest.raises(Conflict):
                uow.customers.add_encoded([encode_new_customer(c) for c in checked[1:]])  # type: ignore[attr-defined]
            uow.commit()
        with book.unit_of_work(write=False) as uow:
            conn = uow.connection  # type: ignore[attr-defined]
            triggers = set(conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").scalars())
            assert "customers_search_ai" in triggers
            assert uow.customers.count() == 2
        with book.unit_of_work() as uow:  # the trigger still feeds the text index on a normal add
            uow.customers.add(checked[4])
            uow.commit()
        assert [c.code for c in book.customers.search(text=checked[4].code).items] == [checked[4].code]


@pytest.mark.postgresql
def test_a_postgresql_import_leaves_planner_statistics_that_fit_the_tables(postgresql_url: str) -> None:
    """Without it a prepared look-up planned on the empty table stays a sequential scan (the server
    used here runs without autovacuum, as a host's may), and each batch's cost grows with the table."""
    reset_database(postgresql_url)  # TRUNCATE: no statistics, as a new table
    grown = ("customers", "customer_search_keys", "customer_match_keys", "customer_contacts", "audit", "outbox")
    with connect(postgresql_url) as book:
        for kind, code in reference_data():
            book.reference.add(kind, code, actor=ADMIN)
        report = book.customers.import_rows(customers(1500, seed=5), actor=ADMIN, batch_size=300, workers=0)
        assert report.rows_ok == 1500
        with book.unit_of_work() as uow:
            conn: sa.Connection = uow.connection  # type: ignore[attr-defined]
            for table in grown:
                pages, tuples, actual = conn.exec_driver_sql(
                    "SELECT relpages, reltuples, pg_relation_size(oid) / current_setting('block_size')::int"
                    " FROM pg_class WHERE oid = to_regclass(%s)",
                    (table,),
                ).one()
                assert actual >= 16, table  # large enough to be looked after
                assert tuples > 0, table
                assert 2 * pages > actual, (table, pages, actual)
            assert uow.customers.refresh_statistics() == []  # type: ignore[attr-defined]


def test_refresh_statistics_leaves_sqlite_alone(tmp_path: Path) -> None:
    with connect(f"sqlite:///{tmp_path / 'd.db'}") as book:
        checked = _checked(book, 40)
        with book.unit_of_work() as uow:
            uow.customers.add_encoded([encode_new_customer(c) for c in checked])  # type: ignore[attr-defined]
            assert uow.customers.refresh_statistics() == []  # type: ignore[attr-defined]
            conn: sa.Connection = uow.connection  # type: ignore[attr-defined]
            assert conn.exec_driver_sql("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'").scalar() == 0
