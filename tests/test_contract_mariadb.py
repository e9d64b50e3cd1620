"""The contract suite on MariaDB (one database per session, emptied before each test)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bigledger_customers import Book, connect
from bigledger_customers.testing import FrozenClock
from bigledger_customers.testing.contract import ConcurrencyContract, CustomerContract, EventContract, ReferenceContract
from tests.servers import reset_database

pytestmark = pytest.mark.mariadb


@pytest.fixture
def book(mariadb_url: str) -> Iterator[Book]:
    reset_database(mariadb_url)
    with connect(mariadb_url, clock=FrozenClock()) as book:
        yield book


class TestMariaDBCustomers(CustomerContract):
    pass


class TestMariaDBReference(ReferenceContract):
    pass


class TestMariaDBEvents(EventContract):
    pass


class TestMariaDBConcurrency(ConcurrencyContract):
    pass
