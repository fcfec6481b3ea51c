"""Signing svcflow webhooks, and checking the signature on the receiving side.

A webhook carries ``X-Svcflow-Timestamp: <unix seconds>`` and
``X-Svcflow-Signature: sha256=<hex>``, the HMAC-SHA256 under the shared secret of
``b"<timestamp>." + body``. Signing the timestamp with the body lets a receiver refuse replays
of an old, correctly signed request (:func:`verify`'s ``tolerance``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time

from svcflow.errors import SvcflowError

__all__ = [
    "IDEMPOTENCY_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "InvalidSignature",
    "sign",
    "verify",
]

SIGNATURE_HEADER = "X-Svcflow-Signature"
TIMESTAMP_HEADER = "X-Svcflow-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"

_SIGNATURE = re.compile(r"sha256=([0-9a-f]{64})")
_TIMESTAMP = re.compile(r"[0-9]{1,15}")


class InvalidSignature(SvcflowError):
    """A received webhook's signature headers are missing, malformed, wrong or stale.

    The message says which, for the receiver's logs; answer the sender with 401 or 403 and do
    not act on the body.
    """


def _key(secret: str | bytes) -> bytes:
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    if not key:
        raise ValueError("the webhook secret must not be empty")
    return key


def sign(secret: str | bytes, body: bytes, timestamp: int | str) -> str:
    """The ``X-Svcflow-Signature`` value for ``body`` sent at ``timestamp`` (Unix seconds):
    ``"sha256="`` and 64 lowercase hex digits. Raises ``ValueError`` for an empty secret."""
    message = f"{timestamp}.".encode() + body
    return "sha256=" + hmac.new(_key(secret), message, hashlib.sha256).hexdigest()


def verify(
    secret: str | bytes,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    *,
    now: float | None = None,
    tolerance: float = 300,
) -> None:
    """Check a received webhook; return ``None`` if it is authentic and fresh.

    ``body`` must be the raw request bytes, before any JSON parsing. ``timestamp`` and
    ``signature`` are the header values as received (``None`` or empty when absent, so
    ``request.headers.get(...)`` can be passed straight in). ``now`` defaults to
    ``time.time()``; the timestamp may be at most ``tolerance`` seconds away from it in either
    direction. The signature is compared in constant time.

    Raises :class:`InvalidSignature` saying what is wrong: a missing header, a malformed one,
    a signature that does not match, or a timestamp too old or in the future (by how much).
    """
    if not signature:
        raise InvalidSignature(f"missing {SIGNATURE_HEADER} header")
    if not timestamp:
        raise InvalidSignature(f"missing {TIMESTAMP_HEADER} header")
    if _SIGNATURE.fullmatch(signature) is None:
        raise InvalidSignature(
            f"malformed {SIGNATURE_HEADER} header {_shorten(signature)!r}: "
            "expected 'sha256=' followed by 64 lowercase hex digits"
        )
    if _TIMESTAMP.fullmatch(timestamp) is None:
        raise InvalidSignature(
            f"malformed {TIMESTAMP_HEADER} header {_shorten(timestamp)!r}: "
            "expected Unix time in whole seconds"
        )
    if not hmac.compare_digest(sign(secret, body, timestamp), signature):
        raise InvalidSignature(
            f"{SIGNATURE_HEADER} does not match the body and timestamp: the request was "
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


def _seconds(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _shorten(value: str) -> str:
    return value if len(value) <= 80 else value[:77] + "..."
