"""Deliver svcflow notifications as signed JSON webhooks: the ``webhook`` outbound channel.

:class:`WebhookNotifier` POSTs one JSON document per delivery to the recipient's address (a
URL), signed with HMAC-SHA256 (see :mod:`svcflow_webhook.signing`), using only the standard
library. Receivers check requests with :func:`verify` and dedupe on ``Idempotency-Key``, since
delivery is at least once.

The module-level :data:`plugin` is what the ``svcflow`` entry point registers; it reads
``SVCFLOW_WEBHOOK_SECRET`` and ``SVCFLOW_WEBHOOK_TIMEOUT`` at its first delivery, not at import.
"""

from __future__ import annotations

import http.client
import json
import os
import ssl
import threading
import time
import urllib.error
import urllib.request
from base64 import b64encode
from collections.abc import Callable, Mapping
from typing import Any, NoReturn, Protocol
from urllib.parse import unquote, urlsplit

from svcflow.plugin import (
    ChannelInfo,
    Delivery,
    DeliveryFailed,
    DeliveryReceipt,
    PermanentDeliveryError,
    hookimpl,
)
from svcflow_webhook.signing import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    InvalidSignature,
    sign,
    verify,
)

__all__ = [
    "CHANNEL",
    "IDEMPOTENCY_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "InvalidSignature",
    "WebhookNotifier",
    "payload",
    "plugin",
    "sign",
    "verify",
]
__version__ = "0.1.0"

CHANNEL = "webhook"
"""The outbound channel this plugin owns."""

DEFAULT_USER_AGENT = f"svcflow-webhook/{__version__}"
_CHANNEL_INFO = ChannelInfo(CHANNEL, outbound=True, description="signed JSON POST to a URL")
_RETRYABLE_STATUSES = frozenset({408, 429})
_SNIPPET = 200


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Turn every redirect into an error: urllib would follow a 301/302/303 as a GET without
    the body and signature, and the receiver would never see the notification."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class WebhookNotifier:
    """Delivers ``webhook`` notifications: a signed JSON POST to ``recipient.address``.

    ``secret`` is shared with every receiver and signs each request. ``timeout`` bounds
    connecting and each wait for the answer, in seconds. ``ssl_context`` replaces the default
    one for ``https://`` receivers (system CAs, hostname checked). ``clock`` gives the Unix
    time put in ``X-Svcflow-Timestamp`` (``time.time`` unless a test fixes it). Redirects are
    not followed. Each delivery opens its own connection, so one instance may be used from
    several threads.

    Invalid arguments raise ``ValueError`` at once.
    """

    def __init__(
        self,
        secret: str | bytes,
        timeout: float = 5.0,
        user_agent: str = DEFAULT_USER_AGENT,
        *,
        ssl_context: ssl.SSLContext | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not secret:
            raise ValueError("the webhook secret must not be empty")
        if not timeout > 0:
            raise ValueError(f"webhook timeout must be a positive number of seconds, not {timeout}")
        self._secret = secret
        self.timeout = float(timeout)
        self.user_agent = user_agent
        self._clock = clock
        self._opener = urllib.request.build_opener(
            _NoRedirects(), urllib.request.HTTPSHandler(context=ssl_context)
        )

    def __repr__(self) -> str:
        return f"WebhookNotifier(timeout={self.timeout:g}, user_agent={self.user_agent!r})"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WebhookNotifier:
        """Build a notifier from ``SVCFLOW_WEBHOOK_SECRET`` (required) and
        ``SVCFLOW_WEBHOOK_TIMEOUT`` (seconds, default 5) in ``environ`` (``os.environ`` by
        default). Raises ``PermanentDeliveryError`` naming the variables at fault."""
        env = os.environ if environ is None else environ
        problems: list[str] = []
        secret = env.get("SVCFLOW_WEBHOOK_SECRET", "")
        if not secret:
            problems.append("set SVCFLOW_WEBHOOK_SECRET (the secret shared with the receivers)")
        timeout = 5.0
        if raw := env.get("SVCFLOW_WEBHOOK_TIMEOUT", "").strip():
            try:
                timeout = float(raw)
            except ValueError:
                timeout = -1.0
            if not 0 < timeout < float("inf"):
                problems.append(
                    f"SVCFLOW_WEBHOOK_TIMEOUT={raw!r} is not a positive number of seconds"
                )
        if problems:
            raise PermanentDeliveryError(
                "webhook delivery is not configured: " + "; ".join(problems)
            )
        return cls(secret, timeout)

    @hookimpl
    def svcflow_register_channels(self) -> list[ChannelInfo]:
        """Claim the ``webhook`` channel as outbound."""
        return [_CHANNEL_INFO]

    @hookimpl
    def svcflow_deliver(self, delivery: Delivery) -> DeliveryReceipt | None:
        """POST ``delivery``; ``None`` when it belongs to another channel.

        Blocks for at most about ``timeout`` seconds per network step. On a 2xx answer returns
        a receipt whose ``reference`` is the ``id`` of a JSON object answer (if it has one).
        408, 429, 5xx, timeouts and connection or TLS failures raise ``DeliveryFailed``; any
        other answer (4xx, a redirect) raises ``PermanentDeliveryError``; both say the status
        and the first 200 characters of the answer.
        """
        if delivery.channel != CHANNEL:
            return None
        url = delivery.recipient.address.strip()
        shown = _display(url)
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise PermanentDeliveryError(
                f"webhook address {shown!r} is not an http:// or https:// URL"
            )
        body = payload(delivery)
        timestamp = str(int(self._clock()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": self.user_agent,
            IDEMPOTENCY_HEADER: delivery.key,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self._secret, body, timestamp),
        }
        if "@" in parts.netloc:  # user:password@ becomes Basic auth; urllib would not send it
            credentials = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
            headers["Authorization"] = "Basic " + b64encode(credentials.encode()).decode()
            url = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
        request = urllib.request.Request(url, data=body, method="POST", headers=headers)
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status, answer = response.status, _read(response)
        except urllib.error.HTTPError as error:
            with error:
                self._refused(shown, error.code, error.reason, _read(error))
        except urllib.error.URLError as error:
            self._not_sent(shown, error.reason)
        except (OSError, http.client.HTTPException, ValueError) as error:
            self._not_sent(shown, error)
        return DeliveryReceipt(reference=_answer_id(answer), detail=f"HTTP {status} from {shown}")

    def _refused(self, shown: str, status: int, reason: str, answer: bytes) -> NoReturn:
        text = answer.decode("utf-8", "replace")
        snippet = repr(text[:_SNIPPET]) + ("..." if len(text) > _SNIPPET else "")
        described = f"webhook {shown} answered {status} {reason}".rstrip()
        described += f": {snippet}" if text else " with an empty body"
        if status in _RETRYABLE_STATUSES or status >= 500:
            raise DeliveryFailed(described) from None
        if 300 <= status < 400:
            described += " (redirects are not followed: configure the final URL)"
        raise PermanentDeliveryError(described) from None

    def _not_sent(self, shown: str, reason: object) -> NoReturn:
        if isinstance(reason, TimeoutError):
            raise DeliveryFailed(
                f"webhook {shown} did not answer within {self.timeout:g} s"
            ) from None
        if isinstance(reason, ssl.SSLCertVerificationError):
            detail = (
                f"TLS failed: the server's certificate was not accepted ({reason.verify_message})"
            )
        elif isinstance(reason, ssl.SSLError):
            detail = f"TLS failed: {reason.reason or reason}"
        elif isinstance(reason, http.client.InvalidURL | ValueError):  # a bad port, non-ASCII
            raise PermanentDeliveryError(
                f"webhook address {shown!r} is not a valid URL: {reason}"
            ) from None
        elif isinstance(reason, OSError) and reason.strerror:
            detail = reason.strerror
        else:
            detail = str(reason) or type(reason).__name__
        raise DeliveryFailed(f"webhook {shown} could not be reached: {detail}") from None


def payload(delivery: Delivery) -> bytes:
    """The JSON body :class:`WebhookNotifier` sends for ``delivery``, as UTF-8 bytes.

    An object with ``key``, ``case_id``, ``template``, ``subject``, ``body``, ``recipient``
    (``address``, ``name``, ``role``, ``locale``), ``locale``, ``urgent``, ``attempt`` and
    ``created_at`` (ISO 8601). Non-ASCII text is sent as is, not ``\\u``-escaped. ``metadata``
    is not sent: it may hold values JSON cannot express.
    """
    recipient = delivery.recipient
    document = {
        "key": delivery.key,
        "case_id": delivery.case_id,
        "template": delivery.template,
        "subject": delivery.subject,
        "body": delivery.body,
        "recipient": {
            "address": recipient.address,
            "name": recipient.name,
            "role": recipient.role,
            "locale": recipient.locale,
        },
        "locale": delivery.locale,
        "urgent": delivery.urgent,
        "attempt": delivery.attempt,
        "created_at": delivery.created_at.isoformat(),
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class _Readable(Protocol):
    def read(self, amount: int, /) -> bytes: ...


def _read(response: _Readable) -> bytes:
    try:
        return response.read(64 * 1024)
    except (OSError, http.client.HTTPException):
        return b""


def _answer_id(answer: bytes) -> str | None:
    try:
        document = json.loads(answer)
    except ValueError:
        return None
    if isinstance(document, dict) and isinstance(document.get("id"), str | int):
        return str(document["id"])
    return None


def _display(url: str) -> str:
    """``url`` without user information or query string, which may carry credentials."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=host, query="", fragment="").geturl()


class _FromEnvironment:
    """The entry-point plugin: a :class:`WebhookNotifier` built from the environment when the
    first ``webhook`` delivery arrives, then reused.

    Reading late lets a host set the variables after importing plugins. A configuration error
    is not remembered: every delivery fails with it until the variables are fixed.
    """

    def __init__(self) -> None:
        self._notifier: WebhookNotifier | None = None
        self._lock = threading.Lock()

    def notifier(self) -> WebhookNotifier:
        """The configured notifier, built now if needed; a host may call this at start-up to
        fail fast. Raises ``PermanentDeliveryError`` naming the variables at fault."""
        with self._lock:
            if self._notifier is None:
                self._notifier = WebhookNotifier.from_env()
            return self._notifier

    @hookimpl
    def svcflow_register_channels(self) -> list[ChannelInfo]:
        """Claim the ``webhook`` channel as outbound (without reading the environment)."""
        return [_CHANNEL_INFO]

    @hookimpl
    def svcflow_deliver(self, delivery: Delivery) -> DeliveryReceipt | None:
        """Deliver through :meth:`notifier`; ``None`` for another channel's delivery."""
        if delivery.channel != CHANNEL:
            return None
        return self.notifier().svcflow_deliver(delivery)


plugin = _FromEnvironment()
"""The instance the ``svcflow`` entry point registers; configured from ``SVCFLOW_WEBHOOK_*``."""
