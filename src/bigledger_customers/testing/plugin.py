"""pytest plugin (entry point ``pytest11``): fixtures for host test suites."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bigledger_customers._book import Book, connect
from bigledger_customers.testing.clock import FrozenClock


@pytest.fixture
def frozen_clock() -> FrozenClock:
    """A clock frozen at 2026-01-01T00:00Z; move it with ``advance``."""
    return FrozenClock()


@pytest.fixture
def customer_book(frozen_clock: FrozenClock) -> Iterator[Book]:
    """A fresh in-memory book on :func:`frozen_clock`."""
    book = connect("memory://", clock=frozen_clock)
    yield book
    book.close()
