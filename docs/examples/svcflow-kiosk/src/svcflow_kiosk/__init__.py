"""Self-service feedback kiosks in branches as an svcflow channel: ``kiosk``, in and out.

A kiosk in a branch posts what a customer typed, and the stars they gave, as a JSON object;
:class:`KioskChannel` turns it into an :class:`~svcflow.hooks.types.InboundMessage`, so it starts
or continues a case like an e-mail or an SMS does. Replies go back where the customer wrote:
the next time they scan their ticket at a kiosk, the screen shows what the branch answered.
svcflow writes each reply as one JSON file into the *kiosk display queue*, a directory the
kiosks read (a local folder, or the branch's synced share).

The module-level :data:`plugin` is what the ``svcflow`` entry point registers; it reads
``SVCFLOW_KIOSK_SPOOL`` at each delivery, not at import.

This package is the worked example of ``docs/plugin-guide.md``, which quotes it verbatim.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import quote

from svcflow.plugin import (
    PHONE_RULE,
    ChannelInfo,
    CustomerErasure,
    Delivery,
    DeliveryFailed,
    DeliveryReceipt,
    InboundMessage,
    MessageParseError,
    PayloadReader,
    PermanentDeliveryError,
    hookimpl,
    json_payload,
    normalize_phone,
    type_name,
)

__all__ = [
    "CHANNEL",
    "SPOOL_ENV",
    "KioskChannel",
    "display_entry",
    "entry_file_name",
    "plugin",
    "read_phone",
    "read_rating",
]
__version__ = "0.1.0"

CHANNEL = "kiosk"
"""The channel this plugin owns, inbound and outbound."""

SPOOL_ENV = "SVCFLOW_KIOSK_SPOOL"
"""The environment variable naming the kiosk display-queue directory."""

PAYLOAD = "kiosk payload"
REQUIRED = ("kiosk_id", "branch", "submission_id", "text", "rating")
OPTIONAL = ("phone", "submitted_at", "locale")
STARS = range(1, 6)
COMPLAINT_AT_MOST = 2
"""A rating of this many stars or fewer makes the message a ``complaint``."""


class KioskChannel:
    """Reads and answers channel ``kiosk`` (see the module docs).

    ``spool`` is the display-queue directory; without it, ``$SVCFLOW_KIOSK_SPOOL`` is read at
    each delivery. Safe to share between threads: each delivery writes its own file.
    """

    def __init__(self, spool: str | os.PathLike[str] | None = None) -> None:
        self._spool = spool

    @hookimpl
    def svcflow_register_channels(self) -> list[ChannelInfo]:
        """Own ``kiosk`` both ways: its payloads are parsed here and its replies written here."""
        return [
            ChannelInfo(
                CHANNEL,
                inbound=True,
                outbound=True,
                description="self-service feedback kiosks in branches",
            )
        ]

    # -- inbound: a kiosk posts a submission ------------------------------------------------------

    @hookimpl
    def svcflow_parse_message(self, channel: str, raw: Any) -> InboundMessage | None:
        """The kiosk submission in ``raw`` (a ``dict``, or JSON text or UTF-8 bytes) as a
        message; ``None`` for other channels."""
        if channel != CHANNEL:
            return None
        fields = PayloadReader(
            json_payload(raw, PAYLOAD), PAYLOAD, required=REQUIRED, optional=OPTIONAL
        )
        kiosk_id = fields.required_id("kiosk_id")
        branch = fields.required_text("branch")
        submission_id = fields.required_id("submission_id")
        text = fields.required_text("text")
        rating = read_rating(fields)
        phone = read_phone(fields)
        return InboundMessage(
            channel=CHANNEL,
            message_id=f"{kiosk_id}:{submission_id}",
            sender=phone or f"kiosk:{kiosk_id}",
            body=text,
            received_at=fields.optional_timestamp("submitted_at"),
            kind="complaint" if rating <= COMPLAINT_AT_MOST else "message",
            thread_refs=(f"sms:{phone}", f"phone:{phone}") if phone else (),
            locale=fields.optional_text("locale"),
            fields=MappingProxyType(
                {
                    "branch": branch,
                    "kiosk_id": kiosk_id,
                    "rating": rating,
                    "submission_id": submission_id,
                    **fields.extras(),
                }
            ),
        )

    # -- outbound: a reply waits in the display queue ---------------------------------------------

    @hookimpl
    def svcflow_deliver(self, delivery: Delivery) -> DeliveryReceipt | None:
        """Queue ``delivery`` for the kiosk screens; ``None`` for another channel's delivery."""
        if delivery.channel != CHANNEL:
            return None
        return self.write(delivery)

    def spool_dir(self) -> Path:
        """The display-queue directory: the constructor's, else ``$SVCFLOW_KIOSK_SPOOL`` now."""
        spool = self._spool if self._spool is not None else os.environ.get(SPOOL_ENV, "").strip()
        if not spool:
            raise PermanentDeliveryError(
                f"kiosk delivery is not configured: set {SPOOL_ENV} to the kiosk display-queue "
                "directory, or pass KioskChannel(spool=...)"
            )
        return Path(spool)

    # -- erasure: the display queue forgets an erased customer ------------------------------------

    @hookimpl
    def svcflow_customer_erased(self, erasure: CustomerErasure) -> None:
        """Delete the display-queue entries of the erased customer's cases: they hold the
        replies svcflow sent, with the customer's phone number. (Keys, and so file names,
        begin with the case id.) Without a configured queue nothing was ever written."""
        try:
            spool = self.spool_dir()
        except PermanentDeliveryError:
            return
        for case_id in erasure.cases:
            for entry in spool.glob(quote(f"{case_id}:", safe="") + "*.json"):
                entry.unlink(missing_ok=True)

    def write(self, delivery: Delivery) -> DeliveryReceipt:
        """Write ``delivery`` to ``<spool>/<entry_file_name(key)>``, atomically.

        The JSON goes to a temporary file in the same directory, then ``os.replace`` puts it in
        place: a kiosk never reads half a file, and delivering the same key again replaces the
        entry instead of adding a second one (delivery is at least once; the key is stable).
        """
        folder = self.spool_dir()
        target = folder / entry_file_name(delivery.key)
        text = json.dumps(display_entry(delivery), ensure_ascii=False, indent=2) + "\n"
        try:
            handle, temporary = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=folder)
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as stream:
                    stream.write(text)
                    stream.flush()
                    os.fsync(stream.fileno())
                os.replace(temporary, target)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
        except FileNotFoundError:
            raise DeliveryFailed(
                f"the kiosk display queue {folder} does not exist (not created yet, or the "
                "branch share is not mounted)"
            ) from None
        except (NotADirectoryError, PermissionError) as error:
            raise PermanentDeliveryError(
                f"cannot write to the kiosk display queue {folder}: {error.strerror}; point "
                f"{SPOOL_ENV} at a directory svcflow may write to"
            ) from None
        except OSError as error:
            raise DeliveryFailed(
                f"could not queue {delivery.key} in the kiosk display queue {folder}: {error}"
            ) from None
        return DeliveryReceipt(target.name, f"queued for kiosk display at {target}")


def read_rating(fields: PayloadReader) -> int:
    """The required ``rating``: a whole number of stars from 1 to 5."""
    if "rating" not in fields.payload:
        raise MessageParseError(
            f"{fields.what} is missing required field 'rating'; {fields.accepted()}"
        )
    rating = fields.payload["rating"]
    if not isinstance(rating, int) or isinstance(rating, bool):
        fields.fail("rating", f"must be a whole number of stars, not {type_name(rating)}")
    if rating not in STARS:
        fields.fail("rating", f"must be from 1 to 5 stars, not {rating}")
    return rating


def read_phone(fields: PayloadReader) -> str | None:
    """The optional ``phone``, normalized as the SMS channel normalizes senders."""
    phone = fields.optional_text("phone")
    if phone is None:
        return None
    number = normalize_phone(phone)
    if number is None:
        fields.fail("phone", f"is not a phone number: '{phone}'; expected {PHONE_RULE}")
    return number


def display_entry(delivery: Delivery) -> dict[str, Any]:
    """The JSON object a kiosk reads for one reply.

    The kiosk shows ``subject`` and ``body`` to whoever scans a ticket for ``case_id`` (the
    host answers the kiosk's post with the case id, and the kiosk prints it on the ticket).
    ``key`` is the delivery's idempotency key; ``attempt`` says which attempt wrote the file.
    """
    recipient = delivery.recipient
    return {
        "key": delivery.key,
        "case_id": delivery.case_id,
        "recipient": recipient.address,
        "name": recipient.name,
        "subject": delivery.subject,
        "body": delivery.body,
        "locale": delivery.locale,
        "urgent": delivery.urgent,
        "queued_at": delivery.created_at.isoformat(),
        "attempt": delivery.attempt,
    }


def entry_file_name(key: str) -> str:
    """The display-queue file of delivery ``key``: the key percent-encoded (``:`` and ``/``
    are not safe in file names everywhere), then ``.json``. One key, one file."""
    return quote(key, safe="") + ".json"


plugin = KioskChannel()
"""The instance the ``svcflow`` entry point registers; reads ``$SVCFLOW_KIOSK_SPOOL`` lazily."""
