"""PostgreSQL's index-only bigram scan (0008_search) gives the in-memory reference's pages and counts.

A two-character Chinese term with a status filter, sorted by name, takes that path only when the
term is common (more than ``CANDIDATE_CAP`` candidates); here the cap is set to 0 so every such
query takes it on a small population, which mixes short bigram lists (the index-only partial index)
with long ones (over 1,000 bytes: the other partial index), names that tie, and every status.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
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
    sizes = [len(search_grams(c.names["zh"]).encode()) for c in population()]
    assert max(sizes) > _search._SHORT_GRAMS > min(sizes)


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
    halves = _search._gram_halves

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return halves(*args, **kwargs)

    monkeypatch.setattr(_search, "_gram_halves", counting)
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


def test_postgresql_takes_the_gram_scan(memory: MemoryStore, sql: SqlStore, scans: list[int]) -> None:
    query = CustomerQuery(text="深圳", status="active", sort=SortKey.NAME, limit=1)
    pages = _pages(sql.unit_of_work, query)
    assert pages == _pages(memory.unit_of_work, query)
    assert len(pages) > 2
    assert bool(scans) is (sql.engine.dialect.name == "postgresql")
