"""Every type a hook signature names: what plugins receive and return.

This module is the plugin contract's vocabulary. A channel plugin turns its raw payload (an RFC
5322 e-mail, an SMS gateway's JSON, a web form's fields...) into one :class:`InboundMessage`;
everything after that (threading, classification, routing, starting or advancing a case) is the
same whatever the channel. Outbound, the engine renders a notification for each resolved
:class:`Recipient` into the outbox in the same transaction as the case change, and the dispatcher
hands each row to the plugin that owns its channel as a :class:`Delivery`. Raising
:class:`DeliveryFailed` (or any exception) means "try again later";
:class:`PermanentDeliveryError` means "retrying cannot help" and dead-letters the row at once;
a parser raises :class:`MessageParseError` with a reason a person can act on.

It imports nothing of the engine, so a plugin that needs only these types pulls in no machinery.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any, Protocol

from svcflow.errors import DeliveryFailed, MessageParseError, PermanentDeliveryError
from svcflow.records import Case, ContactPoint, Customer, HistoryEntry
from svcflow.spec.extensions import ActionCall
from svcflow.spec.models import MESSAGE_FIELDS

__all__ = [
    "MESSAGE_FIELDS",
    "ActionCall",
    "Assignment",
    "Case",
    "CaseLookup",
    "ChannelInfo",
    "Classification",
    "ContactPoint",
    "Customer",
    "CustomerErasure",
    "Delivery",
    "DeliveryFailed",
    "DeliveryReceipt",
    "HistoryEntry",
    "InboundMessage",
    "MessageParseError",
    "PermanentDeliveryError",
    "Recipient",
]

_NOTHING: Mapping[str, Any] = MappingProxyType({})

# -- inbound ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A normalized inbound message.

    ``message_id`` is unique within its channel (an e-mail's Message-ID, a gateway's message
    id): a message ingested twice is recognised by it and handled once. ``thread_refs`` are the
    ids of earlier messages this one answers (In-Reply-To and References, a chat's conversation
    id, a post's parent) and ``case_ref`` a case id the payload names outright; both are how a
    reply finds its case. ``kind`` says what the message is for routing (``message`` unless the
    channel or a classifier knows better, e.g. ``complaint``); ``category`` and ``sentiment``
    (-1.0 very negative .. 1.0 very positive) are filled by classifier plugins. ``fields`` holds
    what is specific to the channel (form fields, call duration, a post's audience).
    """

    channel: str
    message_id: str
    sender: str
    body: str
    received_at: datetime | None = None
    subject: str | None = None
    sender_name: str | None = None
    kind: str = "message"
    thread_refs: tuple[str, ...] = ()
    case_ref: str | None = None
    locale: str | None = None
    category: str | None = None
    sentiment: float | None = None
    tags: tuple[str, ...] = ()
    fields: Mapping[str, Any] = field(default_factory=lambda: _NOTHING)

    def classified(self, verdict: Classification) -> InboundMessage:
        """This message with what a classifier found (only the parts it set)."""
        changes: dict[str, Any] = {}
        if verdict.kind is not None:
            changes["kind"] = verdict.kind
        if verdict.category is not None:
            changes["category"] = verdict.category
        if verdict.sentiment is not None:
            changes["sentiment"] = verdict.sentiment
        if verdict.tags:
            changes["tags"] = tuple(dict.fromkeys((*self.tags, *verdict.tags)))
        return replace(self, **changes) if changes else self

    @classmethod
    def from_variables(cls, values: Mapping[str, Any]) -> InboundMessage:
        """The message back from ``as_variables()`` as recorded (timestamps as ISO text)."""
        received = values.get("received_at")
        sentiment = values.get("sentiment")
        return cls(
            channel=str(values["channel"]),
            message_id=str(values["message_id"]),
            sender=str(values["sender"]),
            body=str(values.get("body", "")),
            received_at=datetime.fromisoformat(received) if isinstance(received, str) else None,
            subject=values.get("subject") or None,
            sender_name=values.get("sender_name") or None,
            kind=str(values.get("kind") or "message"),
            locale=values.get("locale") or None,
            category=values.get("category") or None,
            sentiment=None if sentiment is None else float(sentiment),
            tags=tuple(values.get("tags") or ()),
            fields=MappingProxyType(dict(values.get("fields") or {})),
        )

    def as_variables(self) -> dict[str, Any]:
        """The message as plain data: what intake expressions see as ``message``."""
        return {
            "channel": self.channel,
            "message_id": self.message_id,
            "sender": self.sender,
            "sender_name": self.sender_name or "",
            "subject": self.subject or "",
            "body": self.body,
            "kind": self.kind,
            "category": self.category or "",
            "sentiment": 0.0 if self.sentiment is None else float(self.sentiment),
            "tags": list(self.tags),
            "locale": self.locale or "",
            "received_at": self.received_at,
            "fields": dict(self.fields),
        }


@dataclass(frozen=True, slots=True)
class Classification:
    """What a classifier plugin says about a message; ``None`` parts are left to others."""

    kind: str | None = None
    category: str | None = None
    sentiment: float | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    """A channel a plugin owns: ``inbound`` when it parses messages of the channel,
    ``outbound`` when it delivers notifications to it. ``reply_channel`` is the channel a
    customer who wrote on this one is answered on and recognised by (a WeChat plugin names
    ``wechat`` when it also delivers there; default: svcflow's table, ``phone`` -> ``sms``,
    ``web_form`` -> ``email`` or ``sms``, any other channel itself)."""

    name: str
    inbound: bool = False
    outbound: bool = False
    description: str = ""
    reply_channel: str | None = None


@dataclass(frozen=True, slots=True)
class Assignment:
    """Where a new case goes: a queue (team) and/or a person; ``None`` parts stay unset."""

    queue: str | None = None
    assignee: str | None = None


class CaseLookup(Protocol):
    """Read-only questions a ``svcflow_match_case`` implementation may ask the store."""

    def case_of_message(self, channel: str, message_id: str) -> str | None:
        """The case an earlier message of ``channel`` with this id *from this sender* went to."""

    def case_of_thread(self, refs: Iterable[str]) -> str | None:
        """The case of the most recent earlier message on the same channel whose id or thread
        reference is in ``refs`` (In-Reply-To / References, a conversation id), among the cases
        the message's sender may join: those of the sender's customer."""

    def may_join(self, case_id: str) -> bool:
        """Whether the message's sender may join this case: they are a contact point of the
        customer who owns it (for a case without an owner: they wrote on it before, on the same
        channel)."""

    def open_cases_of(self, sender: str) -> list[Case]:
        """Cases not in a final state whose messages came from ``sender``, newest first."""

    def get(self, case_id: str) -> Case | None:
        """The case with this id, if it exists."""


# -- outbound --------------------------------------------------------------------------------------


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


# -- erasure ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CustomerErasure:
    """One customer's erasure, as ``svcflow_customer_erased`` hears of it after the commit.

    ``contact_points`` are the addresses the customer had before the erasure (the store has
    forgotten them): what a plugin's own copies are usually keyed by. ``cases`` are the ids of
    the customer's cases (kept, redacted). ``marker`` is what erased values now read as
    (``[erased]``); a plugin that keeps rows for their reasons may overwrite their words with it.
    """

    customer_id: str
    contact_points: tuple[ContactPoint, ...]
    cases: tuple[str, ...]
    at: datetime
    marker: str
