"""The payload helpers every built-in channel shares (JSON objects, typed fields, timestamps,
phone numbers, content ids). ``ChannelInfo`` lives in :mod:`svcflow.hooks.types` and is
re-exported here for channel plugins written against this module."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NoReturn

from svcflow.hooks.types import ChannelInfo, MessageParseError

__all__ = [
    "PHONE_RULE",
    "TIMESTAMP_EXAMPLE",
    "ChannelInfo",
    "PayloadReader",
    "as_utc",
    "content_id",
    "json_payload",
    "normalize_phone",
    "parse_timestamp",
    "type_name",
]


def json_payload(raw: Any, what: str) -> Mapping[str, Any]:
    """``raw`` as a JSON object: a mapping as is, ``str``/``bytes`` parsed as JSON.

    ``what`` names the payload in errors ("SMS gateway payload"); the error says what was
    wrong and where, so that the dead-letter row explains itself.
    """
    if isinstance(raw, Mapping):
        return raw
    if isinstance(raw, bytes | bytearray):
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as error:
            raise MessageParseError(
                f"{what} is not UTF-8 text (byte {error.start}); send a JSON object"
            ) from None
    if not isinstance(raw, str):
        raise MessageParseError(
            f"{what} must be a JSON object (a dict, or JSON text), not {type(raw).__name__}"
        )
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as error:
        raise MessageParseError(
            f"{what} is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    if not isinstance(value, dict):
        raise MessageParseError(f"{what} must be a JSON object, not a JSON {type(value).__name__}")
    return value


_PHONE = re.compile(r"\+?[0-9]{6,15}")
_PHONE_SEPARATORS = re.compile(r"[\s-]+")
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")
PHONE_RULE = "'+' and 6 to 15 digits, e.g. '+8613800138000' (spaces and dashes are allowed)"
"""What :func:`normalize_phone` accepts, worded for error messages."""
TIMESTAMP_EXAMPLE = "'2024-06-03T10:15:00+08:00'"
"""An ISO 8601 timestamp as error messages show it."""


def normalize_phone(value: str) -> str | None:
    """``value`` as a phone number without spaces and dashes, or ``None`` when it is not one.

    A number is an optional ``+`` and 6 to 15 digits. The result is what SMS and phone
    channels use as sender and in thread references, so one customer's number threads the
    same way whichever way the gateway spaced it.
    """
    compact = _PHONE_SEPARATORS.sub("", value)
    return compact if _PHONE.fullmatch(compact) else None


def parse_timestamp(value: str) -> datetime | None:
    """An ISO 8601 timestamp (a trailing ``Z`` allowed) as an aware UTC datetime, or ``None``
    when it is not one. A timestamp without an offset is taken as UTC."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return as_utc(moment)


def as_utc(moment: datetime) -> datetime:
    """``moment`` converted to UTC; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def content_id(data: bytes) -> str:
    """A deterministic message id (``sha256:<hex>``) for a payload that brings none, so that
    the same payload ingested twice gets the same id and is handled once."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def type_name(value: Any) -> str:
    """The type of a payload value as errors name it (``null`` for ``None``)."""
    return "null" if value is None else type(value).__name__


class PayloadReader:
    """Typed reads of one JSON payload's fields, raising ``MessageParseError`` for the first
    field that is missing or wrong.

    ``what`` names the payload in every error ("SMS payload"); ``required`` and ``optional``
    are the documented fields: a missing required field's error lists them all, and
    :meth:`extras` returns every other key so that nothing a sender added is lost. Absent
    keys, JSON ``null`` and blank strings all count as "not given" for optional fields;
    strings are returned stripped.
    """

    def __init__(
        self,
        payload: Mapping[str, Any],
        what: str,
        *,
        required: Sequence[str],
        optional: Sequence[str],
    ) -> None:
        self.payload = payload
        self.what = what
        self.required = tuple(required)
        self.optional = tuple(optional)

    def accepted(self) -> str:
        """The documented fields, as errors list them."""
        return f"required fields: {', '.join(self.required)}; optional: {', '.join(self.optional)}"

    def fail(self, key: str, problem: str) -> NoReturn:
        """Raise the error for field ``key``: ``"<what> field '<key>' <problem>"``."""
        raise MessageParseError(f"{self.what} field '{key}' {problem}")

    def _value(self, key: str, required: bool) -> Any:
        if key not in self.payload:
            if required:
                raise MessageParseError(
                    f"{self.what} is missing required field '{key}'; {self.accepted()}"
                )
            return None
        value = self.payload[key]
        if value is None and required:
            self.fail(key, "must not be null")
        return value

    def _string(self, key: str, value: Any) -> str:
        if not isinstance(value, str):
            self.fail(key, f"must be a string, not {type_name(value)}")
        return value.strip()

    def required_text(self, key: str, *, allow_empty: bool = False) -> str:
        """A required string; blank is an error unless ``allow_empty``."""
        text = self._string(key, self._value(key, True))
        if not text and not allow_empty:
            self.fail(key, "must not be empty")
        return text

    def optional_text(self, key: str) -> str | None:
        """An optional string; ``None`` when absent or blank."""
        value = self._value(key, False)
        return None if value is None else self._string(key, value) or None

    def _id(self, key: str, value: Any) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            self.fail(key, f"must be a string or an integer, not {type_name(value)}")
        return value.strip()

    def required_id(self, key: str) -> str:
        """A required, non-blank id; an integer id is accepted and returned as a string."""
        ident = self._id(key, self._value(key, True))
        if not ident:
            self.fail(key, "must not be empty")
        return ident

    def optional_id(self, key: str) -> str | None:
        """An optional id (string or integer) as a string; ``None`` when absent or blank."""
        value = self._value(key, False)
        return None if value is None else self._id(key, value) or None

    def required_phone(self, key: str) -> str:
        """A required phone number, normalized by :func:`normalize_phone`."""
        text = self.required_text(key)
        number = normalize_phone(text)
        if number is None:
            self.fail(key, f"is not a phone number: '{text}'; expected {PHONE_RULE}")
        return number

    def _timestamp(self, key: str, value: Any) -> datetime:
        if isinstance(value, datetime):
            return as_utc(value)
        text = self._string(key, value)
        moment = parse_timestamp(text)
        if moment is None:
            self.fail(
                key, f"is not an ISO 8601 timestamp: '{text}'; expected e.g. {TIMESTAMP_EXAMPLE}"
            )
        return moment

    def required_timestamp(self, key: str) -> datetime:
        """A required ISO 8601 timestamp (or ``datetime``) as an aware UTC datetime."""
        return self._timestamp(key, self._value(key, True))

    def optional_timestamp(self, key: str) -> datetime | None:
        """An optional ISO 8601 timestamp as an aware UTC datetime; ``None`` when absent."""
        value = self._value(key, False)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return self._timestamp(key, value)

    def optional_count(self, key: str) -> int | None:
        """An optional integer that is zero or more."""
        value = self._value(key, False)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(key, f"must be an integer, not {type_name(value)}")
        if value < 0:
            self.fail(key, f"must be 0 or more, not {value}")
        return value

    def flag(self, key: str, default: bool) -> bool:
        """An optional boolean; ``default`` when absent."""
        value = self._value(key, False)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(key, f"must be true or false, not {type_name(value)}")
        return value

    def optional_text_list(self, key: str) -> list[str] | None:
        """An optional list of strings."""
        value = self._value(key, False)
        if value is None:
            return None
        if not isinstance(value, list | tuple):
            self.fail(key, f"must be a list of strings, not {type_name(value)}")
        for index, item in enumerate(value):
            if not isinstance(item, str):
                self.fail(key, f"must be a list of strings, but item {index} is {type_name(item)}")
        return [item.strip() for item in value]

    def _identifier(self, key: str, value: Any, examples: str) -> str:
        name = self._string(key, value).lower()
        if not _IDENTIFIER.fullmatch(name):
            self.fail(
                key,
                f"must be a lower-case identifier (letters, digits, '_') such as {examples}, "
                f"not '{value}'",
            )
        return name

    def required_identifier(self, key: str, examples: str) -> str:
        """A required lower-case identifier (letters, digits, ``_``; upper case is folded)."""
        return self._identifier(key, self._value(key, True), examples)

    def optional_identifier(self, key: str, examples: str) -> str | None:
        """An optional lower-case identifier; ``None`` when absent or blank."""
        value = self._value(key, False)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return self._identifier(key, value, examples)

    def choice(self, key: str, choices: Sequence[str], default: str) -> str:
        """An optional string that must be one of ``choices`` (case is folded)."""
        text = self.optional_text(key)
        if text is None:
            return default
        if text.lower() not in choices:
            self.fail(key, f"must be one of {', '.join(choices)}, not '{text}'")
        return text.lower()

    def extras(self) -> dict[str, Any]:
        """The keys that are not documented fields, with their values as sent."""
        known = {*self.required, *self.optional}
        return {key: value for key, value in self.payload.items() if key not in known}
