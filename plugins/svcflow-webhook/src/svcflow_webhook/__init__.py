"""Deliver svcflow notifications as signed JSON webhooks: the ``webhook`` outbound channel.

:class:`WebhookNotifier` POSTs one JSON document per delivery to the recipient's address (a
URL), signed as Standard Webhooks specifies (see :mod:`svcflow_webhook.signing`), using only
the standard library. Receivers check requests with :func:`verify` (or any Standard Webhooks
verifier) and dedupe on ``webhook-id``, since delivery is at least once.

The module-level :data:`plugin` is what the ``svcflow`` entry point registers; it reads
``SVCFLOW_WEBHOOK_SECRET``, ``SVCFLOW_WEBHOOK_TIMEOUT`` and ``SVCFLOW_WEBHOOK_CREDENTIALS`` at
its first delivery, not at import.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import ssl
import threading
import time
from base64 import b64encode
from collections.abc import Callable, Iterable, Mapping
from typing import NoReturn, Protocol
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

from svcflow.plugin import (
    ChannelInfo,
    Delivery,
    DeliveryFailed,
    DeliveryReceipt,
    PermanentDeliveryError,
    hookimpl,
    strip_url_credentials,
)
from svcflow_webhook.signing import (
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    InvalidSignature,
    key_of,
    sign,
    verify,
)

__all__ = [
    "CHANNEL",
    "ID_HEADER",
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


class WebhookNotifier:
    """Delivers ``webhook`` notifications: a signed JSON POST to ``recipient.address``.

    ``secret`` is shared with every receiver and signs each request (``whsec_<base64>`` or any
    other text). ``timeout`` bounds the whole request, in seconds: connecting, sending and
    reading the answer. ``ssl_context`` replaces the default one for ``https://`` receivers
    (system CAs, hostname checked). ``clock`` gives the Unix time put in ``webhook-timestamp``
    (``time.time`` unless a test fixes it). ``credentials`` are URLs like
    ``https://user:password@crm.example.com``: a receiver at that origin gets Basic auth, so
    the recipient address (which the outbox stores) never holds a password. Redirects are
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
        credentials: Iterable[str] = (),
    ) -> None:
        if not secret:
            raise ValueError("the webhook secret must not be empty")
        if not timeout > 0:
            raise ValueError(f"webhook timeout must be a positive number of seconds, not {timeout}")
        key_of(secret)
        self._secret = secret
        self.timeout = float(timeout)
        self.user_agent = user_agent
        self._clock = clock
        self._ssl_context = ssl_context or ssl.create_default_context()
        self._credentials = _credentials(credentials)

    def __repr__(self) -> str:
        return f"WebhookNotifier(timeout={self.timeout:g}, user_agent={self.user_agent!r})"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WebhookNotifier:
        """Build a notifier from ``SVCFLOW_WEBHOOK_SECRET`` (required),
        ``SVCFLOW_WEBHOOK_TIMEOUT`` (seconds, default 5) and ``SVCFLOW_WEBHOOK_CREDENTIALS``
        (space-separated ``https://user:password@host`` URLs) in ``environ``
        (``os.environ`` by default). Raises ``PermanentDeliveryError`` naming the variables at
        fault."""
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
        credentials = env.get("SVCFLOW_WEBHOOK_CREDENTIALS", "").split()
        try:
            _credentials(credentials)
        except ValueError as error:
            problems.append(f"SVCFLOW_WEBHOOK_CREDENTIALS: {error}")
        if problems:
            raise PermanentDeliveryError(
                "webhook delivery is not configured: " + "; ".join(problems)
            )
        return cls(secret, timeout, credentials=credentials)

    @hookimpl
    def svcflow_register_channels(self) -> list[ChannelInfo]:
        """Claim the ``webhook`` channel as outbound."""
        return [_CHANNEL_INFO]

    @hookimpl
    def svcflow_deliver(self, delivery: Delivery) -> DeliveryReceipt | None:
        """POST ``delivery``; ``None`` when it belongs to another channel.

        Blocks for at most about ``timeout`` seconds in all: connecting, sending and reading
        the whole answer (a receiver that trickles its answer is cut off at the deadline). On
        a 2xx answer returns a receipt whose ``reference`` is the ``id`` of a JSON object
        answer (if it has one). 408, 429, 5xx, timeouts and connection or TLS failures raise
        ``DeliveryFailed``; any other answer (4xx, a redirect) raises
        ``PermanentDeliveryError``; both say the status and the first 200 characters of the
        answer.
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
        headers = {
            "Content-Type": "application/json",
            "User-Agent": self.user_agent,
            **self.signed_headers(delivery.key, body),
        }
        if (login := self._login(parts)) is not None:
            headers["Authorization"] = "Basic " + b64encode(login.encode()).decode()
        status, reason, answer = self._post(parts, body, headers, shown)
        if not 200 <= status < 300:
            self._refused(shown, status, reason, answer)
        return DeliveryReceipt(reference=_answer_id(answer), detail=f"HTTP {status} from {shown}")

    def signed_headers(self, webhook_id: str, body: bytes) -> dict[str, str]:
        """The Standard Webhooks headers for ``body`` sent now as ``webhook_id``."""
        timestamp = str(int(self._clock()))
        return {
            ID_HEADER: webhook_id,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self._secret, webhook_id, timestamp, body),
        }

    def _login(self, parts: SplitResult) -> str | None:
        """``user:password`` for the address: from the URL itself, else from ``credentials``
        for its origin (the outbox never stores URL credentials)."""
        if "@" in parts.netloc:
            return f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
        return self._credentials.get(_origin(parts))

    def _post(
        self, parts: SplitResult, body: bytes, headers: dict[str, str], shown: str
    ) -> tuple[int, str, bytes]:
        """POST ``body`` and read the answer within ``timeout`` seconds in all."""
        try:
            connection = self._connection(parts)
        except (http.client.InvalidURL, ValueError) as error:
            self._not_sent(shown, error)
        watchdog = _Watchdog(connection, self.timeout)
        try:
            target = urlunsplit(("", "", parts.path or "/", parts.query, ""))
            connection.request("POST", target, body=body, headers=headers)
            with connection.getresponse() as response:
                return response.status, response.reason, _read(response)
        except (OSError, http.client.HTTPException, ValueError) as error:
            self._not_sent(shown, TimeoutError() if watchdog.fired else error)
        finally:
            watchdog.cancel()
            connection.close()

    def _connection(self, parts: SplitResult) -> http.client.HTTPConnection:
        host, port = parts.hostname or "", parts.port
        if parts.scheme.lower() == "https":
            return http.client.HTTPSConnection(
                host, port, timeout=self.timeout, context=self._ssl_context
            )
        return http.client.HTTPConnection(host, port, timeout=self.timeout)

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
    (``address`` without any ``user:password@``, ``name``, ``role``, ``locale``), ``locale``,
    ``urgent``, ``attempt`` and ``created_at`` (ISO 8601). Non-ASCII text is sent as is, not
    ``\\u``-escaped. ``metadata`` is not sent: it may hold values JSON cannot express.
    """
    recipient = delivery.recipient
    document = {
        "key": delivery.key,
        "case_id": delivery.case_id,
        "template": delivery.template,
        "subject": delivery.subject,
        "body": delivery.body,
        "recipient": {
            "address": strip_url_credentials(recipient.address),
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


class _Watchdog:
    """Shuts ``connection``'s socket down after ``seconds``, ending any read or write in
    progress: the per-operation socket timeout alone lets a receiver that sends one byte a
    second hold a delivery for ever."""

    def __init__(self, connection: http.client.HTTPConnection, seconds: float) -> None:
        self.fired = False
        self._connection = connection
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def _expire(self) -> None:
        self.fired = True
        sock = self._connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        self._timer.cancel()


def _origin(parts: SplitResult) -> str:
    """``scheme://host[:port]`` in lower case, without user information."""
    host = parts.netloc.rpartition("@")[2].lower()
    return f"{parts.scheme.lower()}://{host}"


def _credentials(urls: Iterable[str]) -> dict[str, str]:
    """Origin → ``user:password`` from URLs written ``https://user:password@host``."""
    found: dict[str, str] = {}
    for url in urls:
        parts = urlsplit(url.strip())
        if parts.username is None or not parts.hostname:
            raise ValueError(
                f"webhook credentials {_display(url)!r} must be a URL with a user name, "
                "like https://user:password@crm.example.com"
            )
        found[_origin(parts)] = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    return found


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
