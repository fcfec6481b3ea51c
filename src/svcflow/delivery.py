"""Outbound notifications as delivery plugins see them, and how a delivery reports failure.

The engine renders a notification for each resolved recipient into the outbox in the same
transaction as the case change; the dispatcher hands each row to the plugin that owns its
channel as a :class:`Delivery`. Raising :class:`DeliveryFailed` (or any exception) means "try
again later"; :class:`PermanentDeliveryError` means "retrying cannot help" and dead-letters the
row at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from svcflow.errors import DeliveryFailed, PermanentDeliveryError

__all__ = [
    "Delivery",
    "DeliveryFailed",
    "DeliveryReceipt",
    "PermanentDeliveryError",
    "Recipient",
]

_NOTHING: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who receives a notification, and on which channel (``email``, ``sms``, ``webhook``,
    ``console``...). ``role`` is the name the workflow used (``customer``, ``team_lead``)."""

    address: str
    channel: str
    name: str | None = None
    locale: str | None = None
    role: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One rendered notification for one recipient, as handed to ``svcflow_deliver``.

    ``key`` is unique and stable across retries and restarts: receivers dedupe on it (delivery
    is at least once). ``attempt`` starts at 1.
    """

    key: str
    case_id: str
    template: str
    recipient: Recipient
    subject: str
    body: str
    locale: str
    urgent: bool
    attempt: int
    created_at: datetime
    metadata: Mapping[str, Any] = field(default_factory=lambda: _NOTHING)

    @property
    def channel(self) -> str:
        return self.recipient.channel


@dataclass(frozen=True, slots=True)
class DeliveryReceipt:
    """What a plugin returns on success: the receiver's own id for the message, if any."""

    reference: str | None = None
    detail: str | None = None
