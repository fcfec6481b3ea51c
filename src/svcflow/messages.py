"""Inbound messages as every channel hands them to the engine, and why a raw payload failed.

A channel plugin turns its raw payload (an RFC 5322 e-mail, an SMS gateway's JSON, a web form's
fields...) into one :class:`InboundMessage`; everything after that (threading, classification,
routing, starting or advancing a case) is the same whatever the channel.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any

from svcflow.errors import MessageParseError

__all__ = ["MESSAGE_FIELDS", "Classification", "InboundMessage", "MessageParseError"]

_NOTHING: Mapping[str, Any] = MappingProxyType({})


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


MESSAGE_FIELDS = (
    "channel",
    "message_id",
    "sender",
    "sender_name",
    "subject",
    "body",
    "kind",
    "category",
    "sentiment",
    "tags",
    "locale",
    "received_at",
    "fields",
)
"""The keys of ``InboundMessage.as_variables()``: what intake expressions may read."""
