"""The contract suite on SQLite (a fresh database file per test)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bigledger_customers import Book, connect
from bigledger_customers.testing import FrozenClock
from bigledger_customers.testing.contract import ConcurrencyContract, CustomerContract, EventContract, ReferenceContract


@pytest.fixture
def book(tmp_path: Path) -> Iterator[Book]:
    with connect(f"sqlite:///{tmp_path / 'book.db'}", clock=FrozenClock()) as book:
        yield book


class TestSqliteCustomers(CustomerContract):
    pass


class TestSqliteReference(ReferenceContract):
    pass


class TestSqliteEvents(EventContract):
    pass


class TestSqliteConcurrency(ConcurrencyContract):
    pass
