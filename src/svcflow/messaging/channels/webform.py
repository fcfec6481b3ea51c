"""The built-in web form channel: a contact or complaint form submitted on a website."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qs

from svcflow.errors import MessageParseError
from svcflow.hooks.specs import hookimpl
from svcflow.hooks.types import ChannelInfo, InboundMessage
from svcflow.messaging.channels.base import (
    PHONE_RULE,
    PayloadReader,
    content_id,
    json_payload,
    normalize_phone,
    type_name,
)

__all__ = ["WebFormChannel"]

CHANNEL = "web_form"
WHAT = "web form payload"
REQUIRED = ("message",)
OPTIONAL = (
    "email",
    "phone",
    "name",
    "subject",
    "type",
    "category",
    "case_id",
    "submission_id",
    "submitted_at",
    "locale",
    "order_id",
)
_EMAIL = re.compile(r"[^@\s]+@(?:[^@\s.]+\.)+[^@\s.]{2,}")


class WebFormChannel:
    """Reads channel ``web_form``: the submitted fields as a ``dict``, as JSON text (text
    starting with ``{``) or as ``application/x-www-form-urlencoded`` text or bytes::

        message=My+order+never+arrived&email=li.wei%40example.com&type=complaint&order_id=88

    Required: ``message`` (not blank) and at least one of ``email`` (``name@domain.tld``) and
    ``phone`` (optional ``+`` and 6 to 15 digits, spaces and dashes removed). Optional:
    ``name``, ``subject``, ``type`` (the message's ``kind``: a lower-case identifier such as
    ``complaint``, ``inquiry``, ``praise``; default ``message``), ``category``, ``case_id``
    (a case the customer quotes), ``submission_id`` (the dedupe key), ``submitted_at``
    (ISO 8601; without an offset it is UTC), ``locale`` and ``order_id``. Blank fields count
    as not given; a documented field given twice is an error.

    ``sender`` is the e-mail address (lower-cased) when given, else the phone number.
    Without ``submission_id`` the message id is ``sha256:<hex>`` of the sorted non-blank
    fields, so the same submission sent twice is handled once. ``fields`` holds ``email``,
    ``phone``, ``order_id`` and every other submitted field, all as strings (numbers and
    booleans written as in JSON; repeated or listed values joined with ``", "``).
    """

    @hookimpl
    def svcflow_register_channels(self) -> list[ChannelInfo]:
        """Own ``web_form`` inbound."""
        return [ChannelInfo(CHANNEL, inbound=True, description="Contact and complaint web forms")]

    @hookimpl
    def svcflow_parse_message(self, channel: str, raw: Any) -> InboundMessage | None:
        """The form submission in ``raw`` as a message; ``None`` for other channels."""
        if channel != CHANNEL:
            return None
        form = _form_fields(raw)
        fields = PayloadReader(form, WHAT, required=REQUIRED, optional=OPTIONAL)
        body = fields.required_text("message")
        email = fields.optional_text("email")
        if email is not None and not _EMAIL.fullmatch(email):
            fields.fail("email", f"is not an e-mail address: '{email}'; expected name@domain.tld")
        phone = fields.optional_text("phone")
        if phone is not None:
            number = normalize_phone(phone)
            if number is None:
                fields.fail("phone", f"is not a phone number: '{phone}'; expected {PHONE_RULE}")
            phone = number
        if email is None and phone is None:
            raise MessageParseError(
                f"{WHAT} needs 'email' or 'phone' to answer the customer, and has neither; "
                f"{fields.accepted()}"
            )
        email = email.lower() if email is not None else None
        kind = fields.optional_identifier("type", "complaint, inquiry or praise") or "message"
        submission = fields.optional_id("submission_id")
        extra = {
            "email": email,
            "phone": phone,
            "order_id": fields.optional_id("order_id"),
            **fields.extras(),
        }
        return InboundMessage(
            channel=CHANNEL,
            message_id=submission or content_id(_canonical(form)),
            sender=email or phone or "",
            body=body,
            received_at=fields.optional_timestamp("submitted_at"),
            subject=fields.optional_text("subject"),
            sender_name=fields.optional_text("name"),
            kind=kind,
            case_ref=fields.optional_id("case_id"),
            locale=fields.optional_text("locale"),
            category=fields.optional_text("category"),
            fields=MappingProxyType(extra),
        )


def _form_fields(raw: Any) -> dict[str, Any]:
    """The submission as one value per field: documented fields as sent (so their types are
    checked), other fields as strings; blank values dropped."""
    if isinstance(raw, bytes | bytearray | str) and not _looks_like_json(raw):
        pairs = _urlencoded(raw)
    else:
        pairs = dict(json_payload(raw, WHAT))
    form: dict[str, Any] = {}
    for name, given in pairs.items():
        key = str(name)
        value: Any = given
        if key in REQUIRED or key in OPTIONAL:
            if isinstance(value, list | tuple):
                if len(value) > 1:
                    raise MessageParseError(
                        f"{WHAT} field '{key}' was given {len(value)} times; send it once"
                    )
                value = value[0] if value else None
            if isinstance(value, str) and not value.strip():
                value = None
            if value is not None:
                form[key] = value
        else:
            text = _extra_text(key, value)
            if text:
                form[key] = text
    return form


def _looks_like_json(raw: str | bytes | bytearray) -> bool:
    start = raw.lstrip()[:1]
    return start in ("{", b"{")


def _urlencoded(raw: str | bytes | bytearray) -> Mapping[str, list[str]]:
    if isinstance(raw, bytes | bytearray):
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as error:
            raise MessageParseError(
                f"{WHAT} is not UTF-8 text (byte {error.start}); send a JSON object or "
                "form-encoded fields (message=...&email=...)"
            ) from None
    text = raw.strip()
    if not text:
        raise MessageParseError(
            f"{WHAT} is empty; send the form's fields as a JSON object or form-encoded "
            "(message=...&email=...)"
        )
    if "=" not in text:
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise MessageParseError(
            f"{WHAT} is neither a JSON object nor form-encoded (message=...&email=...): '{shown}'"
        )
    try:
        return parse_qs(text, errors="strict")
    except UnicodeDecodeError:
        raise MessageParseError(
            f"{WHAT} is form-encoded, but a percent-escaped value is not UTF-8"
        ) from None


def _extra_text(key: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list | tuple):
        parts = [_extra_text(key, item) for item in value]
        return ", ".join(part for part in parts if part) or None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    raise MessageParseError(
        f"{WHAT} field '{key}' must be text, a number or true/false, not {type_name(value)}"
    )


def _canonical(form: Mapping[str, Any]) -> bytes:
    return json.dumps(
        sorted((key, str(value).strip()) for key, value in form.items()),
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8")
