"""Concurrency on real servers with real threads and separate connections: numbering and the outbox."""

from __future__ import annotations

import datetime as dt
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from bigledger_customers.adapters.sql import SqlStore, open_sql

THREADS = 8
PER_THREAD = 500
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def store(sql_url: str) -> SqlStore:
    store = open_sql(sql_url)
    yield store
    store.dispose()


@pytest.mark.slow
def test_next_number_under_eight_threads_gives_distinct_consecutive_numbers(store: SqlStore) -> None:
    start = threading.Barrier(THREADS)

    def take() -> list[int]:
        start.wait()
        taken = []
        for _ in range(PER_THREAD):
            with store.unit_of_work() as uow:
                taken.append(uow.reference.next_number("customer"))
                uow.commit()
        return taken

    with ThreadPoolExecutor(THREADS) as pool:
        results = [n for batch in pool.map(lambda _: take(), range(THREADS)) for n in batch]

    assert sorted(results) == list(range(1, THREADS * PER_THREAD + 1))


def _append(store: SqlStore, event_id: str) -> None:
    with store.unit_of_work() as uow:
        uow.events.append(
            id=event_id,
            type="customer.created",
            aggregate_type="customer",
            aggregate_id="c",
            occurred_at=T0,
            payload={"n": event_id},
        )
        uow.commit()


def test_outbox_reads_in_position_order_with_a_cursor(store: SqlStore) -> None:
    for i in range(5):
        _append(store, f"e{i}")
    with store.unit_of_work(write=False) as uow:
        first = uow.events.read(0, 3)
        rest = uow.events.read(first[-1].position, 10)
    assert [e.id for e in (*first, *rest)] == ["e0", "e1", "e2", "e3", "e4"]
    assert [e.position for e in (*first, *rest)] == sorted(e.position for e in (*first, *rest))
    assert first[0].payload == {"n": "e0"}
    assert first[0].occurred_at == T0


def test_outbox_never_shows_a_later_position_before_an_earlier_one_commits(store: SqlStore) -> None:
    """A writer that took a position first and commits last must not be skipped by a reader."""
    slow = store.unit_of_work()
    slow.__enter__()
    try:
        slow.events.append(id="slow", type="t", aggregate_type="customer", aggregate_id="c", occurred_at=T0, payload={})
        fast_done = threading.Event()

        def fast() -> None:
            _append(store, "fast")
            fast_done.set()

        # PostgreSQL/MariaDB: the outbox lock row; SQLite: BEGIN IMMEDIATE serializes the writers.
        thread = threading.Thread(target=fast)
        thread.start()
        time.sleep(0.5)
        with store.unit_of_work(write=False) as reader:
            seen_early = [e.id for e in reader.events.read(0, 10)]
        assert not fast_done.is_set(), "the second outbox writer must wait for the first"
        assert seen_early == []
        slow.commit()
    finally:
        slow.__exit__(None, None, None)
    thread.join(timeout=30)
    with store.unit_of_work(write=False) as reader:
        assert [e.id for e in reader.events.read(0, 10)] == ["slow", "fast"]
