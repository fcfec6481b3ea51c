"""The built-in chat channel: one message of a live-chat or messenger conversation."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from svcflow.hooks.specs import hookimpl
from svcflow.hooks.types import ChannelInfo, InboundMessage
from svcflow.messaging.channels.base import PayloadReader, json_payload

__all__ = ["ChatChannel"]

CHANNEL = "chat"


class ChatChannel:
    """Reads channel ``chat``: a JSON object (a ``dict``, or JSON text or UTF-8 bytes)::

        {"conversation_id": "conv-77", "message_id": "m-1024", "from": "user-5521",
         "text": "...", "name": "Li Wei", "sent_at": "2024-06-03T10:15:00Z",
         "locale": "zh-CN", "app": "wechat", "bot_handled": false}

    Required: ``conversation_id``, ``message_id`` (the dedupe key) and ``from`` (the user
    id), each a string or an integer, and ``text`` (not blank). Optional: ``name`` (the
    user's display name), ``sent_at`` (ISO 8601; without an offset it is UTC), ``locale``,
    ``app`` (where the chat happened: ``wechat``, ``whatsapp``, ``app``...) and
    ``bot_handled`` (``true`` when a bot already answered; default ``false``).

    The message's only thread reference is ``"chat:<conversation_id>"``, so every message of
    a conversation threads together. ``fields`` holds ``app``, ``bot_handled`` and every key
    not listed here, as sent.
    """

    @hookimpl
    def svcflow_register_channels(self) -> list[ChannelInfo]:
        """Own ``chat`` inbound."""
        return [ChannelInfo(CHANNEL, inbound=True, description="Live-chat and messenger messages")]

    @hookimpl
    def svcflow_parse_message(self, channel: str, raw: Any) -> InboundMessage | None:
        """The chat message in ``raw`` as a message; ``None`` for other channels."""
        if channel != CHANNEL:
            return None
        fields = PayloadReader(
            json_payload(raw, "chat payload"),
            "chat payload",
            required=("conversation_id", "message_id", "from", "text"),
            optional=("name", "sent_at", "locale", "app", "bot_handled"),
        )
        conversation = fields.required_id("conversation_id")
        message_id = fields.required_id("message_id")
        sender = fields.required_id("from")
        body = fields.required_text("text")
        extra = {
            "app": fields.optional_text("app"),
            "bot_handled": fields.flag("bot_handled", False),
            **fields.extras(),
        }
        return InboundMessage(
            channel=CHANNEL,
            message_id=message_id,
            sender=sender,
            body=body,
            received_at=fields.optional_timestamp("sent_at"),
            sender_name=fields.optional_text("name"),
            thread_refs=(f"chat:{conversation}",),
            locale=fields.optional_text("locale"),
            fields=MappingProxyType(extra),
        )
