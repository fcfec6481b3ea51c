"""The built-in social channel: one post or comment that mentions or answers the brand."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from svcflow.hooks.specs import hookimpl
from svcflow.hooks.types import ChannelInfo, InboundMessage
from svcflow.messaging.channels.base import PayloadReader, json_payload

__all__ = ["SocialChannel"]

CHANNEL = "social"


class SocialChannel:
    """Reads channel ``social``: a JSON object (a ``dict``, or JSON text or UTF-8 bytes)::

        {"platform": "weibo", "post_id": "4990001", "author": "@liwei88",
         "text": "...", "author_name": "李伟", "parent_id": "4989000",
         "url": "https://weibo.com/...", "followers": 1520, "public": true,
         "posted_at": "2024-06-03T10:15:00+08:00", "locale": "zh-CN"}

    Required: ``platform`` (a lower-case identifier such as ``weibo``, ``wechat``, ``x``,
    ``facebook``; upper case is folded), ``post_id`` (string or integer), ``author`` (the
    handle) and ``text`` (not blank). Optional: ``author_name``, ``parent_id`` (the post this
    one replies to), ``url``, ``followers`` (integer, 0 or more), ``public`` (default
    ``true``), ``posted_at`` (ISO 8601; without an offset it is UTC) and ``locale``.

    The message id is ``"<platform>:<post_id>"`` and a reply's thread reference is
    ``"<platform>:<parent_id>"``: the parent post's message id, so a reply finds the case its
    parent opened. ``sender`` is the handle as sent. A public post is tagged ``public``
    (public complaints often escalate sooner). ``fields`` holds ``platform``, ``url``,
    ``followers``, ``public`` and every key not listed here, as sent.
    """

    @hookimpl
    def svcflow_register_channels(self) -> list[ChannelInfo]:
        """Own ``social`` inbound."""
        return [
            ChannelInfo(CHANNEL, inbound=True, description="Posts and comments on social platforms")
        ]

    @hookimpl
    def svcflow_parse_message(self, channel: str, raw: Any) -> InboundMessage | None:
        """The post in ``raw`` as a message; ``None`` for other channels."""
        if channel != CHANNEL:
            return None
        fields = PayloadReader(
            json_payload(raw, "social payload"),
            "social payload",
            required=("platform", "post_id", "author", "text"),
            optional=(
                "author_name",
                "parent_id",
                "url",
                "followers",
                "public",
                "posted_at",
                "locale",
            ),
        )
        platform = fields.required_identifier("platform", "weibo, wechat, x or facebook")
        post_id = fields.required_id("post_id")
        author = fields.required_text("author")
        body = fields.required_text("text")
        parent = fields.optional_id("parent_id")
        public = fields.flag("public", True)
        extra = {
            "platform": platform,
            "url": fields.optional_text("url"),
            "followers": fields.optional_count("followers"),
            "public": public,
            **fields.extras(),
        }
        return InboundMessage(
            channel=CHANNEL,
            message_id=f"{platform}:{post_id}",
            sender=author,
            body=body,
            received_at=fields.optional_timestamp("posted_at"),
            sender_name=fields.optional_text("author_name"),
            thread_refs=(f"{platform}:{parent}",) if parent is not None else (),
            locale=fields.optional_text("locale"),
            tags=("public",) if public else (),
            fields=MappingProxyType(extra),
        )
