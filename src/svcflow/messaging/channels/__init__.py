"""The built-in inbound channels: e-mail, SMS, chat, web forms, phone call records, social posts.

Each is a small pluggy plugin that declares its channel (``svcflow_register_channels``) and
turns that channel's raw payload into an :class:`~svcflow.hooks.types.InboundMessage`
(``svcflow_parse_message``), raising :class:`~svcflow.hooks.types.MessageParseError` with a
reason a person can act on. They are pure: no I/O, no engine. ``BUILTIN_CHANNELS`` lists
them as ``(plugin name, class)`` pairs, the order the host registers them in.
"""

from __future__ import annotations

from svcflow.messaging.channels.chat import ChatChannel
from svcflow.messaging.channels.email import EmailChannel
from svcflow.messaging.channels.phone import PhoneChannel
from svcflow.messaging.channels.sms import SmsChannel
from svcflow.messaging.channels.social import SocialChannel
from svcflow.messaging.channels.webform import WebFormChannel

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
