"""Values exchanged with the host's providers (issue 8; the ports are in :mod:`bigledger_customers.integrations`)."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["CreditReport", "Notification", "NotificationChannel"]


@attrs.frozen(kw_only=True)
class CreditReport:
    """What a credit bureau said about a customer, and when (``fetched_on``, the decision's date)."""

    bureau: str
    score: int | None = None
    rating: str | None = None
    reference: str | None = None
    fetched_on: dt.date


class NotificationChannel(enum.StrEnum):
    """How a notification reaches its recipient."""

    EMAIL = "email"
    SMS = "sms"


@attrs.frozen(kw_only=True)
class Notification:
    """One message the library wants sent: the host renders ``template`` with ``data`` and sends it.

    ``id`` is stable (event id + channel + recipient), so a host can drop a repeat after a retry.
    """

    id: str
    channel: NotificationChannel
    recipient: str
    template: str
    customer_id: str | None = None
    language: str | None = None
    data: Mapping[str, Any] = attrs.field(factory=dict)
