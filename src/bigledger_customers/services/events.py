"""Reading the outbox (``book.events``): at-least-once delivery with a cursor the host keeps."""

from __future__ import annotations

from collections.abc import Sequence

from bigledger_customers.domain.records import Event
from bigledger_customers.errors import ValidationError
from bigledger_customers.services._base import Services

__all__ = ["EventService"]


class EventService:
    """Committed domain events in order. Keep the last ``position`` you handled and pass it as ``after``."""

    def __init__(self, services: Services) -> None:
        self._s = services

    def read(self, *, after: int = 0, limit: int = 100) -> Sequence[Event]:
        """Events with position greater than ``after``, oldest first, at most ``limit``."""
        if not 1 <= limit <= 10_000:
            raise ValidationError("limit must be 1-10000", field="limit", value=limit)
        with self._s.uow(write=False) as uow:
            return list(uow.events.read(after, limit))
