"""The built-in inbound channels: e-mail, SMS, chat, web forms, phone call records, social posts.

Each is a small pluggy plugin that declares its channel (``svcflow_register_channels``) and
turns that channel's raw payload into an :class:`~svcflow.messages.InboundMessage`
(``svcflow_parse_message``), raising :class:`~svcflow.messages.MessageParseError` with a
reason a person can act on. They are pure: no I/O, no engine. ``BUILTIN_CHANNELS`` lists
them as ``(plugin name, class)`` pairs, the order the host registers them in.
"""

from __future__ import annotations

from svcflow.channels.chat import ChatChannel
from svcflow.channels.email import EmailChannel
from svcflow.channels.phone import PhoneChannel
from svcflow.channels.sms import SmsChannel
from svcflow.channels.social import SocialChannel
from svcflow.channels.webform import WebFormChannel

__all__ = [
    "BUILTIN_CHANNELS",
    "ChatChannel",
    "EmailChannel",
    "PhoneChannel",
    "SmsChannel",
    "SocialChannel",
    "WebFormChannel",
]

BUILTIN_CHANNELS: tuple[tuple[str, type], ...] = (
    ("svcflow.channels.email", EmailChannel),
    ("svcflow.channels.sms", SmsChannel),
    ("svcflow.channels.chat", ChatChannel),
    ("svcflow.channels.web_form", WebFormChannel),
    ("svcflow.channels.phone", PhoneChannel),
    ("svcflow.channels.social", SocialChannel),
)
"""Every built-in inbound channel plugin as (plugin name, class), in registration order."""
