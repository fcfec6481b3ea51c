"""Print svcflow notifications to a terminal: the ``console`` outbound channel.

Meant for demos, development and tests, where a person watches the notifications a workflow
sends instead of receiving them. Each delivery becomes one block of text; nothing is retried
or deduplicated beyond what the dispatcher does.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TextIO

from svcflow.plugin import ChannelInfo, Delivery, DeliveryFailed, DeliveryReceipt, hookimpl

__all__ = ["CHANNEL", "ConsoleNotifier", "plugin"]
__version__ = "0.1.0"

CHANNEL = "console"
"""The outbound channel this plugin owns."""

_INDENT = "    "


class ConsoleNotifier:
    """Delivers ``console`` notifications by writing a readable block to a text stream.

    ``stream`` defaults to ``sys.stdout`` *as it is when a delivery is printed*, so output
    redirected or captured after the plugin was created (pytest, ``contextlib.redirect_stdout``)
    still reaches the right place. Safe to share between threads as far as the stream is.
    """

    def __init__(self, stream: TextIO | None = None, channels: Iterable[str] = (CHANNEL,)) -> None:
        """``channels`` are the outbound channels it claims: ``console`` by default; a demo or
        a test may add ``sms``, ``email``... so their notifications are printed instead of sent
        (a host then must not also load a plugin that delivers those channels)."""
        self._stream = stream
        self.channels = tuple(dict.fromkeys(channels))

    @property
    def stream(self) -> TextIO:
        """Where the next delivery will be printed."""
        return self._stream if self._stream is not None else sys.stdout

    @hookimpl
    def svcflow_register_channels(self) -> list[ChannelInfo]:
        """Claim the ``console`` channel (and any others it was given) as outbound."""
        return [
            ChannelInfo(name, outbound=True, description="prints notifications to a terminal")
            for name in self.channels
        ]

    @hookimpl
    def svcflow_deliver(self, delivery: Delivery) -> DeliveryReceipt | None:
        """Print ``delivery`` and return a receipt; ``None`` for another channel's delivery.

        A stream that cannot be written (closed, broken pipe) raises ``DeliveryFailed`` so the
        dispatcher retries later rather than losing the notification.
        """
        if delivery.channel not in self.channels:
            return None
        stream = self.stream
        name = str(getattr(stream, "name", type(stream).__name__))
        try:
            stream.write(format_delivery(delivery))
            stream.flush()
        except (OSError, ValueError) as error:
            raise DeliveryFailed(
                f"could not print notification {delivery.key} to {name}: {error}"
            ) from None
        return DeliveryReceipt(detail=f"printed to {name}")


def format_delivery(delivery: Delivery) -> str:
    """The block :class:`ConsoleNotifier` prints for ``delivery``, ending with a blank line.

    The layout is for people, not parsers: a header line with the time the notification was
    queued (and ``URGENT`` when it is), the recipient with their role, the subject, the body
    indented by four spaces, and the delivery key to find it in the outbox.
    """
    recipient = delivery.recipient
    who = f"{recipient.name} <{recipient.address}>" if recipient.name else recipient.address
    if recipient.role:
        who += f" ({recipient.role})"
    marker = "  URGENT" if delivery.urgent else ""
    when = delivery.created_at.isoformat(sep=" ", timespec="seconds")
    body = "\n".join(_INDENT + line if line.strip() else "" for line in delivery.body.splitlines())
    lines = [
        f"--- {when}{marker} ---",
        f"To:      {who}",
        f"Subject: {delivery.subject}",
        *([body] if body else []),
        f"Key:     {delivery.key} (case {delivery.case_id}, attempt {delivery.attempt})",
        "",
    ]
    return "\n".join(lines) + "\n"


plugin = ConsoleNotifier()
"""The instance the ``svcflow`` entry point registers: prints to the current ``sys.stdout``."""
