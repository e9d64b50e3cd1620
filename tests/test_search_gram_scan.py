"""The index-only bigram scans (PostgreSQL: 0008_search; SQLite: 0009_search_sqlite) give the
in-memory reference's pages and counts.

A two-character Chinese term with a status filter, sorted by name, takes that path only when the
term is common (more than ``CANDIDATE_CAP`` candidates); here the cap is set to 0 so every such
query takes it on a small population, which mixes short bigram lists (PostgreSQL's index-only
partial index) with long ones (over 1,000 bytes: the other partial index), customers without any
bigram (outside SQLite's partial index), names that tie, and every status.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bigledger_customers.adapters.memory import MemoryStore
from bigledger_customers.adapters.sql import SqlStore, _search, open_sql
from bigledger_customers.domain.customer import Customer, CustomerStatus, CustomerType
from bigledger_customers.domain.search import CustomerQuery, SortKey, search_grams
from bigledger_customers.ports import UnitOfWorkFactory
from tests.servers import reset_database

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
PIECES = ["深圳", "市", "前海", "科技", "有限公司", "上海", "贸易", "物流"]
CHARS = "".join(PIECES)
#: Enough other CJK characters for a bigram list far over 1,000 bytes.
LONG = "".join(chr(0x4E00 + i) for i in range(200))


def population(n: int = 160) -> list[Customer]:
    rng = random.Random(20261126)
    customers = []
    for i in range(n):
        if i % 23 == 0:  # a long bigram list: in ix_customers_grams_long_by_status
            zh = rng.choice(["深圳", "科技", "上海"]) + LONG[: rng.randrange(120, 200)]
        else:
            zh = "".join(rng.choice(PIECES) for _ in range(rng.randrange(1, 4)))
        latin = rng.choice(["Alpha Sdn Bhd", "beta trading", "Alpha Sdn Bhd"])
        names = {"zh": zh} if i % 4 else {"en": latin, "zh": zh}
        if i % 7 == 3:  # no bigram at all: not in SQLite's partial index
            names = {"en": latin}
        customers.append(
            Customer(
                id=uuid.UUID(int=rng.getrandbits(128)).hex,
                code=f"G-{i:04d}",
                names=names,
                status=rng.choice([CustomerStatus.ACTIVE, *CustomerStatus]),
                customer_type=rng.choice(list(CustomerType)),
                category=rng.choice([None, "WHOLESALE"]),
                created_at=T0 + dt.timedelta(minutes=i),
                updated_at=T0,
                version=1,
            )
        )
    return customers


def fill(factory: UnitOfWorkFactory) -> None:
    with factory() as uow:
        for customer in population():
            uow.customers.add(customer)
        uow.commit()


def test_the_population_has_long_and_short_bigram_lists() -> None:
    sizes = [len(search_grams(c.names.get("zh", "")).encode()) for c in population()]
    assert max(sizes) > _search._SHORT_GRAMS > min(size for size in sizes if size)
    assert 0 in sizes


@pytest.fixture(scope="module")
def memory() -> MemoryStore:
    store = MemoryStore()
    fill(store.unit_of_work)
    return store


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def sql(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('grams') / 'search.db'}"
    else:
        url = request.getfixturevalue("postgresql_url")
        reset_database(url)
    store = open_sql(url)
    fill(store.unit_of_work)
    yield store
    store.dispose()


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every query takes the scan path (no candidate set is small enough); counts the gram scans."""
    monkeypatch.setattr(_search, "CANDIDATE_CAP", 0)
    calls: list[int] = []
    for name in ("_gram_halves", "_sqlite_gram_page"):
        original = getattr(_search, name)

        def counting(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            calls.append(1)
            return _original(*args, **kwargs)

        monkeypatch.setattr(_search, name, counting)
    return calls


def _pages(factory: UnitOfWorkFactory, query: CustomerQuery) -> list[tuple[list[str], int | None, bool]]:
    pages: list[tuple[list[str], int | None, bool]] = []
    cursor = None
    with factory(write=False) as uow:
        while True:
            page = uow.customers.search(CustomerQuery(**{**query.__getstate__(), "cursor": cursor}))
            pages.append(([c.id for c in page.items], page.total, page.total_is_estimate))
            cursor = page.next_cursor
            if cursor is None:
                return pages
            assert len(pages) <= 200


PAIRS = [CHARS[i : i + 2] for i in range(len(CHARS) - 1)] + ["一丁", "海上", "ＡＢ"]
queries = st.builds(
    CustomerQuery,
    text=st.lists(st.sampled_from(PAIRS), min_size=1, max_size=2).map(" ".join),
    status=st.sampled_from(["active", "inactive", "suspended"]),
    sort=st.just(SortKey.NAME),
    descending=st.booleans(),
    limit=st.integers(1, 12),
    count_limit=st.sampled_from([0, 1, 5, 200]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=queries)
def test_gram_scan_pages_and_counts_like_memory(
    memory: MemoryStore, sql: SqlStore, scans: list[int], query: CustomerQuery
) -> None:
    assert _pages(sql.unit_of_work, query) == _pages(memory.unit_of_work, query)


def test_takes_the_gram_scan(memory: MemoryStore, sql: SqlStore, scans: list[int]) -> None:
    query = CustomerQuery(text="深圳", status="active", sort=SortKey.NAME, limit=1)
    pages = _pages(sql.unit_of_work, query)
    assert pages == _pages(memory.unit_of_work, query)
    assert len(pages) > 2
    assert scans


def _sqlite_plans(sql: SqlStore, query: CustomerQuery) -> list[str]:
    """EXPLAIN QUERY PLAN of every statement a SQLite search runs."""
    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        statements.append((statement, parameters))

    sa.event.listen(sql.engine, "before_cursor_execute", record)
    try:
        with sql.unit_of_work(write=False) as uow:
            uow.customers.search(query)
    finally:
        sa.event.remove(sql.engine, "before_cursor_execute", record)
    plans = []
    with sql.engine.connect() as conn:
        for statement, parameters in statements:
            if statement.lstrip().upper().startswith("SELECT"):
                rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
                plans.append(" / ".join(row[-1] for row in rows))
    return plans


@pytest.mark.parametrize("descending", [False, True])
def test_sqlite_page_is_a_covering_scan_of_the_gram_index(sql: SqlStore, scans: list[int], descending: bool) -> None:
    if sql.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's plan")
    query = CustomerQuery(text="深圳 科技", status="active", sort=SortKey.NAME, descending=descending, limit=3)
    plans = _sqlite_plans(sql, query)
    assert any("COVERING INDEX ix_customers_search_grams_by_status" in plan for plan in plans), plans
    assert scans


def test_sqlite_other_queries_keep_the_search_text_index(sql: SqlStore, scans: list[int]) -> None:
    """The partial index cannot be picked for a plain term check (its rows lack the search text)."""
    if sql.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's plan")
    query = CustomerQuery(text="深", status="active", sort=SortKey.NAME, limit=3)
    plans = _sqlite_plans(sql, query)
    assert not scans
    assert any("ix_customers_search_by_status" in plan for plan in plans), plans
    assert not any("ix_customers_search_grams_by_status" in plan for plan in plans), plans
