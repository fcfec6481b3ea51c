"""The built-in phone channel: a call-centre system's record of one call."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from svcflow.hooks.specs import hookimpl
from svcflow.hooks.types import ChannelInfo, InboundMessage
from svcflow.messaging.channels.base import PayloadReader, json_payload

__all__ = ["PhoneChannel"]

CHANNEL = "phone"
DIRECTIONS = ("inbound", "outbound")


class PhoneChannel:
    """Reads channel ``phone``: a call record as a JSON object (a ``dict``, or JSON text or
    UTF-8 bytes)::

        {"call_id": "CALL-20240603-0042", "caller": "+86 10 6552 9988",
         "started_at": "2024-06-03T09:58:00+08:00", "duration_seconds": 312,
         "direction": "inbound", "agent": "zhang.min", "summary": "...",
         "ivr_path": ["main", "billing"], "case_id": "C-1042",
         "recording_url": "https://pbx.example.com/rec/42", "locale": "zh-CN"}

    Required: ``call_id`` (string or integer: the dedupe key), ``caller`` (optional ``+`` and
    6 to 15 digits, spaces and dashes removed) and ``started_at`` (ISO 8601; without an
    offset it is UTC). Optional: ``duration_seconds`` (integer, 0 or more), ``direction``
    (``inbound``, the default, or ``outbound``), ``agent``, ``summary`` (the agent's notes:
    the message body, ``""`` when absent or blank), ``ivr_path`` (list of menu names),
    ``case_id`` (a case the agent named), ``recording_url`` and ``locale``.

    The message's ``sender`` is the normalized caller number, ``received_at`` the call's
    start, ``case_ref`` the ``case_id`` and its only thread reference ``"phone:<number>"``.
    ``fields`` holds ``duration_seconds``, ``direction``, ``agent``, ``ivr_path`` (a list,
    empty when absent), ``recording_url`` and every key not listed here, as sent.
    """

    @hookimpl
    def svcflow_register_channels(self) -> list[ChannelInfo]:
        """Own ``phone`` inbound."""
        return [ChannelInfo(CHANNEL, inbound=True, description="Call records from a call centre")]

    @hookimpl
    def svcflow_parse_message(self, channel: str, raw: Any) -> InboundMessage | None:
        """The call record in ``raw`` as a message; ``None`` for other channels."""
        if channel != CHANNEL:
            return None
        fields = PayloadReader(
            json_payload(raw, "phone payload"),
            "phone payload",
            required=("call_id", "caller", "started_at"),
            optional=(
                "duration_seconds",
                "direction",
                "agent",
                "summary",
                "ivr_path",
                "case_id",
                "recording_url",
                "locale",
            ),
        )
        call_id = fields.required_id("call_id")
        caller = fields.required_phone("caller")
        started_at = fields.required_timestamp("started_at")
        extra = {
            "duration_seconds": fields.optional_count("duration_seconds"),
            "direction": fields.choice("direction", DIRECTIONS, "inbound"),
            "agent": fields.optional_text("agent"),
            "ivr_path": fields.optional_text_list("ivr_path") or [],
            "recording_url": fields.optional_text("recording_url"),
            **fields.extras(),
        }
        return InboundMessage(
            channel=CHANNEL,
            message_id=call_id,
            sender=caller,
            body=fields.optional_text("summary") or "",
            received_at=started_at,
            thread_refs=(f"phone:{caller}",),
            case_ref=fields.optional_id("case_id"),
            locale=fields.optional_text("locale"),
            fields=MappingProxyType(extra),
        )
