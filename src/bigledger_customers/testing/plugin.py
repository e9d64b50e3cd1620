"""pytest plugin (entry point ``pytest11``): fixtures for host test suites.

Installing the package makes these fixtures available in every pytest run, with no import:

- ``frozen_clock``: a :class:`~bigledger_customers.testing.FrozenClock` at 2026-01-01T00:00Z; move it
  with ``frozen_clock.advance(days=1)`` or ``frozen_clock.set(...)``;
- ``customer_book``: a fresh in-memory :class:`~bigledger_customers.Book` on ``frozen_clock``;
- ``sqlite_customer_book``: a fresh book on an SQLite file in the test's ``tmp_path``, also on
  ``frozen_clock`` (migrated to the latest schema; closed after the test).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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


@pytest.fixture
def sqlite_customer_book(frozen_clock: FrozenClock, tmp_path: Path) -> Iterator[Book]:
    """A fresh book on an SQLite file in ``tmp_path`` (``customers.db``), on :func:`frozen_clock`."""
    with connect(f"sqlite:///{tmp_path / 'customers.db'}", clock=frozen_clock) as book:
        yield book
