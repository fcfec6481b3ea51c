"""The built-in SMS channel: one text message as an SMS gateway reports it."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from svcflow.hooks.specs import hookimpl
from svcflow.hooks.types import ChannelInfo, InboundMessage
from svcflow.messaging.channels.base import PayloadReader, json_payload

__all__ = ["SmsChannel"]

CHANNEL = "sms"


class SmsChannel:
    """Reads channel ``sms``: a JSON object (a ``dict``, or JSON text or UTF-8 bytes)::

        {"id": "SM123", "from": "+86 138-0013-8000", "text": "...",
         "to": "10690000", "received_at": "2024-06-03T10:15:00+08:00", "locale": "zh-CN"}

    Required: ``id`` (the gateway's message id, string or integer: the dedupe key), ``from``
    (the sender's number: optional ``+`` and 6 to 15 digits, spaces and dashes removed) and
    ``text`` (not blank). Optional: ``to`` (the number or short code written to, string or
    integer, kept as a string), ``received_at`` (ISO 8601; without an offset it is UTC) and
    ``locale``.

    The message's ``sender`` is the normalized number and its only thread reference is
    ``"sms:<number>"``, so texts from one number thread together. ``fields`` holds ``to``
    and every key not listed here, as sent.
    """

    @hookimpl
    def svcflow_register_channels(self) -> list[ChannelInfo]:
        """Own ``sms`` inbound."""
        return [ChannelInfo(CHANNEL, inbound=True, description="Text messages from an SMS gateway")]

    @hookimpl
    def svcflow_parse_message(self, channel: str, raw: Any) -> InboundMessage | None:
        """The SMS in ``raw`` as a message; ``None`` for other channels."""
        if channel != CHANNEL:
            return None
        fields = PayloadReader(
            json_payload(raw, "SMS payload"),
            "SMS payload",
            required=("id", "from", "text"),
            optional=("to", "received_at", "locale"),
        )
        message_id = fields.required_id("id")
        sender = fields.required_phone("from")
        body = fields.required_text("text")
        extra = {"to": fields.optional_id("to"), **fields.extras()}
        return InboundMessage(
            channel=CHANNEL,
            message_id=message_id,
            sender=sender,
            body=body,
            received_at=fields.optional_timestamp("received_at"),
            thread_refs=(f"sms:{sender}",),
            locale=fields.optional_text("locale"),
            fields=MappingProxyType(extra),
        )
