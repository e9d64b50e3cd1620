"""Property: paging through any query with the cursor returns every match exactly once, in order,
and the same pages on every adapter as on the in-memory reference."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bigledger_customers.adapters.memory import MemoryStore
from bigledger_customers.adapters.sql import SqlStore, open_sql
from bigledger_customers.domain.search import CustomerQuery, SortKey
from bigledger_customers.money import Money
from bigledger_customers.ports import UnitOfWorkFactory
from tests.servers import reset_database
from tests.test_sql_search import T0, WORDS, fill

FRAGMENTS = [
    *WORDS,
    "ab",
    "b",
    "深",
    "海科",
    "圳市",
    "-",
    "%",
    "_",
    '"',
    "(",
    ")",
    "*",
    "AND",
    "OR",
    "NEAR",
    "x-",
    "00",
    "w10-0014",
    "cx-0006",
    "+6012",
]
MYR = st.sampled_from(["0", "100", "2500.50", "5000", "99999.99", "1000000"]).map(lambda a: Money(a, "MYR"))

queries = st.builds(
    CustomerQuery,
    text=st.one_of(st.none(), st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=3).map(" ".join)),
    status=st.one_of(st.none(), st.sampled_from(["active", "inactive", "voided"])),
    category=st.one_of(st.none(), st.sampled_from(["WHOLESALE", "RETAIL"])),
    region=st.one_of(st.none(), st.just("SEL")),
    tags=st.sets(st.sampled_from(["vip", "north"]), max_size=1).map(frozenset),
    created_from=st.one_of(st.none(), st.just(T0 + dt.timedelta(minutes=15))),
    sort=st.sampled_from(list(SortKey)),
    descending=st.booleans(),
    limit=st.integers(1, 9),
    credit_limit_min=st.one_of(st.none(), MYR),
    credit_limit_max=st.one_of(st.none(), MYR),
    credit_currency=st.just("MYR"),
)


def _pages(factory: UnitOfWorkFactory, query: CustomerQuery) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    with factory(write=False) as uow:
        while True:
            page = uow.customers.search(CustomerQuery(**{**query.__getstate__(), "cursor": cursor}))
            pages.append([c.id for c in page.items])
            cursor = page.next_cursor
            if cursor is None:
                return pages
            assert len(pages) <= 200


@pytest.fixture(scope="module")
def memory() -> MemoryStore:
    store = MemoryStore()
    fill(store.unit_of_work)
    return store


@pytest.fixture(
    scope="module",
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.postgresql),
        pytest.param("mariadb", marks=pytest.mark.mariadb),
    ],
)
def sql(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('props') / 'search.db'}"
    else:
        url = request.getfixturevalue(f"{request.param}_url")
        reset_database(url)
    store = open_sql(url)
    fill(store.unit_of_work)
    yield store
    store.dispose()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=queries)
def test_paging_returns_every_match_once_in_order(memory: MemoryStore, query: CustomerQuery) -> None:
    everything = CustomerQuery(**{**query.__getstate__(), "limit": 1000})
    with memory.unit_of_work(write=False) as uow:
        expected = [c.id for c in uow.customers.search(everything).items]
    pages = _pages(memory.unit_of_work, query)
    flat = [i for page in pages for i in page]
    assert flat == expected
    assert len(set(flat)) == len(flat)
    assert all(len(page) == query.limit for page in pages[:-1])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=queries)
def test_every_adapter_pages_like_memory(memory: MemoryStore, sql: SqlStore, query: CustomerQuery) -> None:
    assert _pages(sql.unit_of_work, query) == _pages(memory.unit_of_work, query)
