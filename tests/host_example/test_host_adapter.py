"""A host's own storage adapter, checked by the library's adapter contract suite.

The adapter here wraps the in-memory reference adapter and keeps a journal of the units of work it
opens: the shape of a real host adapter (say, one that adds tenancy or tracing around the SQL one).
A store is anything with ``unit_of_work(write=...)`` returning a
:class:`~bigledger_customers.ports.UnitOfWork`; ``Book(store, clock=...)`` builds the services on it.
Every class in ``ALL_CONTRACTS`` is subclassed below, so a contract added to the library later runs
here without an edit.
"""

from __future__ import annotations

from collections import Counter

import pytest

from bigledger_customers import Actor, Book
from bigledger_customers.adapters.memory import MemoryStore
from bigledger_customers.ports import UnitOfWork
from bigledger_customers.testing import FrozenClock
from bigledger_customers.testing.contract import ALL_CONTRACTS


class JournalingStore:
    """The host's adapter: the memory store, counting the units of work it hands out."""

    def __init__(self) -> None:
        self.inner = MemoryStore()
        self.opened: Counter[str] = Counter()

    def unit_of_work(self, *, write: bool = True) -> UnitOfWork:
        self.opened["write" if write else "read"] += 1
        return self.inner.unit_of_work(write=write)


@pytest.fixture
def store() -> JournalingStore:
    return JournalingStore()


@pytest.fixture
def book(store: JournalingStore) -> Book:
    """What the contract classes need: a fresh, empty book on a frozen clock, here on the host's adapter."""
    return Book(store, clock=FrozenClock())


for _contract in ALL_CONTRACTS:
    _name = f"TestHost{_contract.__name__.removesuffix('Contract')}"
    globals()[_name] = type(_name, (_contract,), {"__module__": __name__})


def test_the_book_runs_on_the_hosts_adapter(book: Book, store: JournalingStore) -> None:
    book.customers.create({"name": "ABC Trading", "country": "MY"}, actor=Actor(id="host", roles={"admin"}))

    assert store.opened["write"] >= 1
