"""Signing svcflow webhooks the Standard Webhooks way, and checking them on the receiving side.

Each request carries three headers, as https://www.standardwebhooks.com specifies, so a
receiver may use any existing Standard Webhooks verifier instead of :func:`verify`:

- ``webhook-id``: the delivery key, the same for every attempt (dedupe on it);
- ``webhook-timestamp``: Unix seconds when the attempt was signed;
- ``webhook-signature``: ``v1,`` and the base64 HMAC-SHA256 of ``"<id>.<timestamp>.<body>"``
  (several space-separated signatures may appear while a secret is rotated).

Signing the id and timestamp with the body lets a receiver refuse a replayed old request and
trust the id it dedupes on. The key is the secret's bytes: a ``whsec_<base64>`` secret (the
Standard Webhooks form) is base64-decoded; any other secret is used as its UTF-8 bytes, which
a stock verifier accepts as ``whsec_`` followed by their base64.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from collections.abc import Mapping

from svcflow.plugin import SvcflowError

__all__ = [
    "ID_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "InvalidSignature",
    "key_of",
    "sign",
    "verify",
]

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
_PREFIX = "whsec_"

_TIMESTAMP = re.compile(r"[0-9]{1,15}")


class InvalidSignature(SvcflowError):
    """A received webhook's signature headers are missing, malformed, wrong or stale.

    The message says which, for the receiver's logs; answer the sender with 401 or 403 and do
    not act on the body.
    """


def key_of(secret: str | bytes) -> bytes:
    """The HMAC key for ``secret``; raises ``ValueError`` for an empty or badly encoded one."""
    if isinstance(secret, str) and secret.startswith(_PREFIX):
        try:
            key = base64.b64decode(secret.removeprefix(_PREFIX), validate=True)
        except binascii.Error:
            raise ValueError(
                "a webhook secret starting with 'whsec_' must continue in base64"
            ) from None
    else:
        key = secret.encode("utf-8") if isinstance(secret, str) else secret
    if not key:
        raise ValueError("the webhook secret must not be empty")
    return key


def sign(secret: str | bytes, webhook_id: str, timestamp: int | str, body: bytes) -> str:
    """The ``webhook-signature`` value for ``body`` sent as ``webhook_id`` at ``timestamp``
    (Unix seconds): ``"v1,"`` and the base64 HMAC-SHA256. ``ValueError`` for a bad secret."""
    message = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(key_of(secret), message, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify(
    secret: str | bytes,
    body: bytes,
    headers: Mapping[str, str],
    *,
    now: float | None = None,
    tolerance: float = 300,
) -> str:
    """Check a received webhook; return its ``webhook-id`` if it is authentic and fresh.

    ``body`` must be the raw request bytes, before any JSON parsing; ``headers`` the request's
    headers (names in any case, e.g. ``request.headers``). ``now`` defaults to ``time.time()``;
    the timestamp may be at most ``tolerance`` seconds away from it in either direction. Any
    one ``v1`` signature that matches is enough; they are compared in constant time.

    Raises :class:`InvalidSignature` saying what is wrong: a missing header, a malformed
    timestamp, no matching signature, or a timestamp too old or in the future (by how much).
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    found = [lowered.get(name) or "" for name in (ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER)]
    missing = [
        name
        for name, value in zip((ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER), found, strict=True)
        if not value
    ]
    if missing:
        raise InvalidSignature(f"missing {' and '.join(missing)} header")
    webhook_id, timestamp, signatures = found
    if _TIMESTAMP.fullmatch(timestamp) is None:
        raise InvalidSignature(
            f"malformed {TIMESTAMP_HEADER} header {_shorten(timestamp)!r}: "
            "expected Unix time in whole seconds"
        )
    expected = sign(secret, webhook_id, timestamp, body)
    if not any(hmac.compare_digest(expected, given) for given in signatures.split()):
        raise InvalidSignature(
            f"no {SIGNATURE_HEADER} matches the id, timestamp and body: the request was "
            "altered, or the sender uses a different secret"
        )
    age = (time.time() if now is None else now) - int(timestamp)
    if age > tolerance:
        raise InvalidSignature(
            f"{TIMESTAMP_HEADER} is {_seconds(age)} s old, more than the tolerance of "
            f"{_seconds(tolerance)} s: a replayed request, or the sender's clock is behind"
        )
    if -age > tolerance:
        raise InvalidSignature(
            f"{TIMESTAMP_HEADER} is {_seconds(-age)} s in the future, more than the tolerance "
            f"of {_seconds(tolerance)} s: the sender's clock is ahead"
        )
    return webhook_id


def _seconds(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _shorten(value: str) -> str:
    return value if len(value) <= 80 else value[:77] + "..."
