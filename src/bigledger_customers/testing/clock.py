"""A clock tests can hold still and move."""

from __future__ import annotations

import datetime as dt
import threading

__all__ = ["FrozenClock"]


class FrozenClock:
    """A :class:`~bigledger_customers.ports.Clock` that only moves when told to.

    >>> clock = FrozenClock(dt.datetime(2026, 1, 31, 9, 0, tzinfo=dt.UTC))
    >>> clock.advance(days=1).isoformat()
    '2026-02-01T09:00:00+00:00'
    """

    def __init__(self, start: dt.datetime | None = None) -> None:
        start = start or dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs a timezone-aware start")
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        """The frozen time."""
        with self._lock:
            return self._now

    def set(self, when: dt.datetime) -> dt.datetime:
        """Jump to ``when``."""
        with self._lock:
            self._now = when
            return when

    def advance(self, **delta: float) -> dt.datetime:
        """Move forward by ``timedelta(**delta)`` and return the new time."""
        with self._lock:
            self._now += dt.timedelta(**delta)
            return self._now
