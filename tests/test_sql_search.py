"""SQL search gives the same pages, in the same order, as the in-memory reference adapter."""

from __future__ import annotations

import datetime as dt
import random
import uuid

import pytest

from bigledger_customers.adapters.memory import MemoryStore
from bigledger_customers.adapters.sql import SqlStore, open_sql
from bigledger_customers.domain.credit import CreditProfile
from bigledger_customers.domain.customer import Contact, Customer, CustomerStatus, CustomerType
from bigledger_customers.domain.search import CustomerQuery, SortKey
from bigledger_customers.money import Money
from bigledger_customers.ports import UnitOfWorkFactory

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
WORDS = ["abc", "Müller", "ＡＢＣ", "50%", "a_b", "深圳", "前海科技", "trading", "Sdn", "bhd", "o'neil", "ß"]


def population(n: int = 120) -> list[Customer]:
    rng = random.Random(20260101)
    customers = []
    for i in range(n):
        words = rng.sample(WORDS, 2)
        # Some customers share a name and a creation time, to exercise the id tie-breaker.
        created = T0 + dt.timedelta(minutes=rng.randrange(40), microseconds=rng.choice([0, 500_000]))
        tz = dt.timezone(dt.timedelta(hours=rng.choice([0, 8])))
        customers.append(
            Customer(
                id=uuid.UUID(int=rng.getrandbits(128)).hex,
                code=f"C{'x' if i % 3 else 'X'}-{i:04d}",
                names={"en": " ".join(words)} if i % 5 else {"zh": "深圳市前海科技有限公司"},
                legal_name="" if i % 4 else f"Legal {words[0]}",
                status=rng.choice(list(CustomerStatus)),
                customer_type=rng.choice(list(CustomerType)),
                category=rng.choice([None, "WHOLESALE", "RETAIL"]),
                region=rng.choice([None, "SEL", "KUL"]),
                tags=frozenset(rng.sample(["vip", "north", "south", "new"], rng.randrange(3))),
                tax_numbers={"sst": f"W10-{i:04d}-3200"} if i % 7 == 0 else {},
                contacts=(Contact(id="k", name="x", email=f"buyer{i}@example.com", phone="+60123456789"),)
                if i % 6 == 0
                else (),
                created_at=created.astimezone(tz),
                updated_at=created,
                version=1,
            )
        )
    return customers


def credit_profiles(customers: list[Customer]) -> list[CreditProfile]:
    """Credit profiles for most of ``customers``: MYR limits with many ties, some without credit, some USD."""
    rng = random.Random(7)
    profiles = []
    for c in customers:
        roll = rng.random()
        if roll < 0.25:
            continue
        currency = "USD" if roll > 0.9 else "MYR"
        limit = None if roll < 0.35 else Money(rng.choice(["0", "100", "2500.50", "5000", "99999.99"]), currency)
        profiles.append(CreditProfile(customer_id=c.id, currency=currency, limit=limit, version=1))
    return profiles


def fill(factory: UnitOfWorkFactory) -> None:
    """Store the :func:`population` and its :func:`credit_profiles`."""
    customers = population()
    with factory() as uow:
        for c in customers:
            uow.customers.add(c)
        for profile in credit_profiles(customers):
            uow.credit.save_profile(profile, 0)
        uow.commit()


MYR_100, MYR_5000 = Money("100", "MYR"), Money("5000", "MYR")

QUERIES = [
    CustomerQuery(),
    CustomerQuery(sort=SortKey.NAME, limit=7),
    CustomerQuery(sort=SortKey.NAME, descending=True, limit=9),
    CustomerQuery(sort=SortKey.CREATED, limit=11),
    CustomerQuery(sort=SortKey.CREATED, descending=True, limit=5),
    CustomerQuery(sort=SortKey.CODE, descending=True, limit=13),
    CustomerQuery(text="abc", sort=SortKey.NAME, limit=4),
    CustomerQuery(text="MULLER sdn", limit=3),
    CustomerQuery(text="50%"),
    CustomerQuery(text="a_b"),
    CustomerQuery(text="%"),
    CustomerQuery(text="_"),
    CustomerQuery(text="前海"),
    CustomerQuery(text="example.com buyer1"),
    CustomerQuery(text="+6012"),
    CustomerQuery(text="w10-0007"),
    CustomerQuery(text="ss"),
    CustomerQuery(status="active", category="RETAIL", sort=SortKey.NAME, limit=2),
    CustomerQuery(region="SEL", customer_type="b2b"),
    CustomerQuery(tags=frozenset({"vip"}), limit=6),
    CustomerQuery(tags=frozenset({"vip", "north"}), sort=SortKey.CREATED),
    CustomerQuery(created_from=T0 + dt.timedelta(minutes=10), created_to=T0 + dt.timedelta(minutes=20), limit=4),
    CustomerQuery(created_from=T0 + dt.timedelta(minutes=10, microseconds=500_000), sort=SortKey.CREATED),
    CustomerQuery(text="w10-0014-3200"),
    CustomerQuery(text="cx-0001", sort=SortKey.NAME),
    CustomerQuery(text="+60123456789 buyer", sort=SortKey.CREATED, limit=3),
    CustomerQuery(sort=SortKey.CREDIT_LIMIT, credit_currency="MYR", limit=7),
    CustomerQuery(sort=SortKey.CREDIT_LIMIT, credit_currency="USD", descending=True, limit=9),
    CustomerQuery(credit_limit_min=MYR_100, credit_limit_max=MYR_5000, sort=SortKey.NAME, limit=4),
    CustomerQuery(text="abc", credit_limit_min=Money("0", "MYR"), sort=SortKey.CREDIT_LIMIT, descending=True, limit=3),
    CustomerQuery(status="active", credit_limit_max=MYR_100, sort=SortKey.CREDIT_LIMIT, limit=2),
]


def all_pages(factory: UnitOfWorkFactory, query: CustomerQuery) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    with factory(write=False) as uow:
        while True:
            page = uow.customers.search(CustomerQuery(**{**query.__getstate__(), "cursor": cursor}))
            pages.append([c.id for c in page.items])
            cursor = page.next_cursor
            if cursor is None or len(pages) > 200:
                return pages


@pytest.fixture(scope="module")
def memory() -> MemoryStore:
    store = MemoryStore()
    fill(store.unit_of_work)
    return store


@pytest.fixture
def store(sql_url: str) -> SqlStore:
    store = open_sql(sql_url)
    fill(store.unit_of_work)
    yield store
    store.dispose()


def test_every_query_gives_the_same_pages_as_memory(store: SqlStore, memory: MemoryStore) -> None:
    for query in QUERIES:
        expected = all_pages(memory.unit_of_work, query)
        assert all_pages(store.unit_of_work, query) == expected, query
    # The population is varied enough that the queries are not all trivially empty.
    assert sum(bool(all_pages(memory.unit_of_work, q)[0]) for q in QUERIES) >= len(QUERIES) - 3


def test_cursors_are_interchangeable_with_memory(store: SqlStore, memory: MemoryStore) -> None:
    for query in QUERIES:
        with memory.unit_of_work(write=False) as m, store.unit_of_work(write=False) as s:
            assert m.customers.search(query).next_cursor == s.customers.search(query).next_cursor, query


def test_search_returns_whole_customers(store: SqlStore, memory: MemoryStore) -> None:
    with memory.unit_of_work(write=False) as m, store.unit_of_work(write=False) as s:
        assert (
            s.customers.search(CustomerQuery(limit=1000)).items == m.customers.search(CustomerQuery(limit=1000)).items
        )
