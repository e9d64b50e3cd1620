"""The contract suite on the in-memory adapter (the reference implementation)."""

from __future__ import annotations

import pytest

from bigledger_customers import Book, connect
from bigledger_customers.testing import FrozenClock
from bigledger_customers.testing.contract import ConcurrencyContract, CustomerContract, EventContract, ReferenceContract


@pytest.fixture
def book() -> Book:
    return connect("memory://", clock=FrozenClock())


class TestMemoryCustomers(CustomerContract):
    pass


class TestMemoryReference(ReferenceContract):
    pass


class TestMemoryEvents(EventContract):
    pass


class TestMemoryConcurrency(ConcurrencyContract):
    pass
