"""SQL unit of work: optimistic locking, duplicate codes, owned and joined transactions."""

from __future__ import annotations

import datetime as dt
import uuid

import attrs
import pytest
import sqlalchemy as sa

from bigledger_customers.adapters.sql import SqlStore, create_engine, open_sql
from bigledger_customers.domain.customer import Contact, Customer
from bigledger_customers.domain.reference import CustomFieldDefinition, NumberingScheme, ReferenceEntry
from bigledger_customers.errors import ConcurrencyError, Conflict

T0 = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.UTC)

host_metadata = sa.MetaData()
host_orders = sa.Table("host_orders", host_metadata, sa.Column("number", sa.String(20), primary_key=True))


def customer(code: str, **changes: object) -> Customer:
    base = Customer(
        id=uuid.uuid4().hex, code=code, names={"en": f"Customer {code}"}, created_at=T0, updated_at=T0, version=1
    )
    return attrs.evolve(base, **changes)


@pytest.fixture
def store(sql_url: str) -> SqlStore:
    store = open_sql(sql_url)
    yield store
    store.dispose()


def test_saving_a_stale_version_raises_concurrency_error_and_writes_nothing(store: SqlStore) -> None:
    original = customer("CUS-001")
    with store.unit_of_work() as uow:
        uow.customers.add(original)
        uow.commit()
    first = attrs.evolve(original, legal_name="First Sdn Bhd", version=2)
    with store.unit_of_work() as uow:
        uow.customers.update(first, expected_version=1)
        uow.commit()

    stale = attrs.evolve(original, legal_name="Stale Sdn Bhd", version=2)
    with store.unit_of_work() as uow, pytest.raises(ConcurrencyError) as caught:
        uow.customers.update(stale, expected_version=1)

    assert caught.value.field == "version"
    assert "CUS-001" in caught.value.message
    with store.unit_of_work(write=False) as uow:
        assert uow.customers.get(original.id) == first


def test_removing_a_stale_version_raises_concurrency_error(store: SqlStore) -> None:
    c = customer("CUS-001")
    with store.unit_of_work() as uow:
        uow.customers.add(c)
        uow.commit()
    with store.unit_of_work() as uow, pytest.raises(ConcurrencyError):
        uow.customers.remove(c.id, expected_version=7)


def test_duplicate_code_ignoring_case_is_a_conflict_and_the_unit_of_work_stays_usable(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        uow.customers.add(customer("CUS-001"))
        uow.commit()

    with store.unit_of_work() as uow:
        with pytest.raises(Conflict) as caught:
            uow.customers.add(customer("cus-001"))
        # On PostgreSQL a failed INSERT aborts the transaction unless it ran in a savepoint.
        uow.customers.add(customer("CUS-002"))
        uow.reference.add(ReferenceEntry.new("category", "RETAIL"))
        with pytest.raises(Conflict):
            uow.reference.add(ReferenceEntry.new("category", "retail"))
        uow.commit()

    assert (caught.value.code, caught.value.field, caught.value.value) == ("duplicate_code", "code", "cus-001")
    with store.unit_of_work(write=False) as uow:
        assert uow.customers.count() == 2
        assert uow.customers.get_by_code("cus-002") is not None
        assert [e.code for e in uow.reference.list("category")] == ["RETAIL"]


def test_changing_a_code_to_a_taken_one_is_a_conflict(store: SqlStore) -> None:
    a, b = customer("CUS-001"), customer("CUS-002")
    with store.unit_of_work() as uow:
        uow.customers.add(a)
        uow.customers.add(b)
        uow.commit()
    with store.unit_of_work() as uow, pytest.raises(Conflict) as caught:
        uow.customers.update(attrs.evolve(b, code="Cus-001", version=2), expected_version=1)
    assert caught.value.code == "duplicate_code"


def test_owned_unit_of_work_rolls_back_on_exception(store: SqlStore) -> None:
    def fail_halfway() -> None:
        with store.unit_of_work() as uow:
            uow.customers.add(customer("CUS-001"))
            uow.reference.next_number("customer")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail_halfway()
    with store.unit_of_work(write=False) as uow:
        assert uow.customers.count() == 0
        assert uow.reference.next_number("customer") == 1


def test_leaving_without_commit_rolls_back_and_commit_keeps(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        uow.customers.add(customer("CUS-001"))
    with store.unit_of_work() as uow:
        assert uow.customers.count() == 0
        uow.customers.add(customer("CUS-002"))
        uow.commit()
        uow.customers.add(customer("CUS-003"))  # after a commit the unit of work begins anew
    with store.unit_of_work(write=False) as uow:
        assert uow.customers.get_by_code("CUS-002") is not None
        assert uow.customers.get_by_code("CUS-003") is None


def test_children_tags_contacts_and_removal(store: SqlStore) -> None:
    parent = customer("CUS-001")
    child = customer(
        "CUS-002",
        parent_id=parent.id,
        tags=frozenset({"vip", "north"}),
        contacts=(Contact(id="k1", name="Siti", email="siti@example.com", phone="+60123456789"),),
    )
    with store.unit_of_work() as uow:
        uow.customers.add(parent)
        uow.customers.add(child)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.customers.children(parent.id) == [child.id]
        assert uow.customers.has_financial_history(child.id) is False
        assert uow.customers.get(child.id) == child
        uow.customers.remove(child.id, expected_version=1)
        uow.commit()
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM customer_contacts")).scalar() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM customer_tags")).scalar() == 0


def test_reference_definitions_and_numbering_round_trip(store: SqlStore) -> None:
    definition = CustomFieldDefinition.new("tier", "choice", choices=["gold", "silver"])
    with store.unit_of_work() as uow:
        uow.reference.save_field_definition(definition)
        uow.reference.save_field_definition(definition)  # replace
        assert uow.reference.numbering("customer") is None
        assert uow.reference.next_number("customer") == 1
        assert uow.reference.numbering("customer") is None  # used, but never configured
        uow.reference.save_numbering(NumberingScheme(prefix="C", width=4))
        assert uow.reference.next_number("customer") == 2  # changing the scheme keeps the position
        uow.commit()
    with store.unit_of_work(write=False) as uow:
        assert uow.reference.field_definitions() == {"tier": definition}
        assert uow.reference.numbering("customer") == NumberingScheme(prefix="C", width=4)


def _host_engine(url: str) -> sa.Engine:
    # A host's engine; on SQLite it needs the library's transaction recipe for savepoints.
    engine = create_engine(url)
    host_metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(sa.delete(host_orders))
    return engine


@pytest.mark.parametrize("host_commits", [True, False])
def test_joined_unit_of_work_commits_and_rolls_back_with_the_host(sql_url: str, host_commits: bool) -> None:
    open_sql(sql_url).dispose()
    engine = _host_engine(sql_url)
    c = customer("CUS-001")
    try:
        with engine.connect() as conn:
            host_tx = conn.begin()
            conn.execute(sa.insert(host_orders).values(number="SO-1"))
            store = open_sql(conn, create=False)
            with store.unit_of_work() as uow:
                uow.customers.add(c)
                uow.commit()  # releases our savepoint only
            if host_commits:
                host_tx.commit()
            else:
                host_tx.rollback()
        with engine.connect() as conn:
            orders = conn.execute(sa.select(host_orders.c.number)).scalars().all()
        with open_sql(engine, create=False).unit_of_work(write=False) as uow:
            stored = uow.customers.get(c.id)
        assert (orders == ["SO-1"], stored is not None) == (host_commits, host_commits)
    finally:
        engine.dispose()


def test_joined_unit_of_work_rollback_undoes_only_its_own_changes(sql_url: str) -> None:
    open_sql(sql_url).dispose()
    engine = _host_engine(sql_url)
    try:
        with engine.connect() as conn:
            conn.begin()
            conn.execute(sa.insert(host_orders).values(number="SO-1"))
            store = open_sql(conn, create=False)
            with store.unit_of_work() as uow:
                uow.customers.add(customer("CUS-001"))  # no commit: rolled back to the savepoint
            conn.commit()
        with engine.connect() as conn:
            assert conn.execute(sa.select(host_orders.c.number)).scalars().all() == ["SO-1"]
            assert conn.execute(sa.text("SELECT count(*) FROM customers")).scalar() == 0
    finally:
        engine.dispose()


def test_two_stores_on_two_urls_share_nothing(tmp_path: object) -> None:
    first = open_sql(f"sqlite:///{tmp_path}/a.db")
    second = open_sql(f"sqlite:///{tmp_path}/b.db")
    try:
        with first.unit_of_work() as uow:
            uow.customers.add(customer("CUS-001"))
            uow.commit()
        with second.unit_of_work(write=False) as uow:
            assert uow.customers.count() == 0
    finally:
        first.dispose()
        second.dispose()


def test_naive_datetimes_are_refused(store: SqlStore) -> None:
    with store.unit_of_work() as uow, pytest.raises(sa.exc.StatementError):
        uow.customers.add(customer("CUS-001", created_at=dt.datetime(2026, 1, 1)))


def test_joining_an_unprepared_sqlite_connection_is_refused(tmp_path: object) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path}/plain.db")
    try:
        with engine.connect() as conn, pytest.raises(ValueError, match="prepare_sqlite_engine"):
            open_sql(conn, create=False)
    finally:
        engine.dispose()
