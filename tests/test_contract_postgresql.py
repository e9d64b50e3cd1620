"""The contract suite on PostgreSQL (one database per session, emptied before each test)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bigledger_customers import Book, connect
from bigledger_customers.testing import FrozenClock
from bigledger_customers.testing.contract import ConcurrencyContract, CustomerContract, EventContract, ReferenceContract
from tests.servers import reset_database

pytestmark = pytest.mark.postgresql


@pytest.fixture
def book(postgresql_url: str) -> Iterator[Book]:
    reset_database(postgresql_url)
    with connect(postgresql_url, clock=FrozenClock()) as book:
        yield book


class TestPostgreSQLCustomers(CustomerContract):
    pass


class TestPostgreSQLReference(ReferenceContract):
    pass


class TestPostgreSQLEvents(EventContract):
    pass


class TestPostgreSQLConcurrency(ConcurrencyContract):
    pass
