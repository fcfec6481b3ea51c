"""Send svcflow notifications as e-mail over SMTP: the ``email`` outbound channel.

:class:`SmtpNotifier` turns one :class:`~svcflow.hooks.types.Delivery` into one message to one
recipient and hands it to a submission server with :mod:`smtplib`. Failures are sorted into
the two kinds the dispatcher understands: :class:`~svcflow.hooks.types.DeliveryFailed` (try again
later: 4xx replies, refused connections, timeouts, TLS trouble) and
:class:`~svcflow.hooks.types.PermanentDeliveryError` (retrying cannot help: 5xx replies, a refused
recipient, a rejected login, missing configuration). Every message names the server.

The module-level :data:`plugin` is what the ``svcflow`` entry point registers; it reads the
``SVCFLOW_SMTP_*`` environment variables at its first delivery, not at import.
"""

from __future__ import annotations

import email.policy
import os
import smtplib
import ssl
import threading
from collections.abc import Mapping
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Literal, NoReturn, cast, get_args

from svcflow.plugin import (
    ChannelInfo,
    Delivery,
    DeliveryFailed,
    DeliveryReceipt,
    PermanentDeliveryError,
    hookimpl,
)

__all__ = ["CHANNEL", "Security", "SmtpNotifier", "build_message", "message_id_for", "plugin"]
__version__ = "0.1.0"

CHANNEL = "email"
"""The outbound channel this plugin owns."""

Security = Literal["starttls", "tls", "none"]
"""How the connection is protected: ``starttls`` (plain connect, then upgrade: port 587),
``tls`` (TLS from the first byte, "SMTPS": port 465) or ``none`` (cleartext; only for a relay
on a trusted network)."""

_SECURITY_VALUES: tuple[str, ...] = get_args(Security)
_CLEARTEXT_AUTH = (
    "SMTP login with security='none' would send the password in cleartext: use "
    "security='starttls' or 'tls', or allow it explicitly for a relay on a trusted network "
    "(allow_cleartext_auth=True, SVCFLOW_SMTP_ALLOW_CLEARTEXT_AUTH=1)"
)
_TRUE = frozenset({"1", "true", "yes", "on"})
_CHANNEL_INFO = ChannelInfo(CHANNEL, outbound=True, description="e-mail through an SMTP server")
# RFC 5322 atext without "=", which escapes everything else in a Message-ID's left part.
_ATEXT = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/?^_`{|}~"
)


class SmtpNotifier:
    """Delivers ``email`` notifications through one SMTP server.

    ``port`` defaults to 465 for ``security="tls"`` and 587 otherwise. ``sender`` is the
    ``From`` header and envelope sender (``"Support <support@example.com>"`` or a bare
    address). ``username`` turns on ``AUTH`` (PLAIN or LOGIN, whichever the server offers
    first); with ``security="none"`` that would send the password in cleartext, so it is
    refused unless ``allow_cleartext_auth`` is true. ``ssl_context`` replaces the default
    context (system CAs, hostname checked), e.g. to trust a private CA. Each delivery opens
    its own connection, so one instance may be used from several threads.

    Invalid arguments raise ``ValueError`` at once: a host building the notifier itself learns
    about a typo at start-up, not at the first notification.
    """

    def __init__(
        self,
        host: str,
        port: int | None = None,
        *,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        security: Security = "starttls",
        timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
        allow_cleartext_auth: bool = False,
    ) -> None:
        if not host:
            raise ValueError("SMTP host must not be empty")
        if security not in _SECURITY_VALUES:
            raise ValueError(
                f"unknown SMTP security {security!r}; use one of: {', '.join(_SECURITY_VALUES)}"
            )
        port = port if port is not None else (465 if security == "tls" else 587)
        if not 0 < port < 65536:
            raise ValueError(f"SMTP port must be between 1 and 65535, not {port}")
        if not timeout > 0:
            raise ValueError(f"SMTP timeout must be a positive number of seconds, not {timeout}")
        if "@" not in parseaddr(sender)[1]:
            raise ValueError(
                f"SMTP sender {sender!r} is not an e-mail address "
                "(use 'support@example.com' or 'Support <support@example.com>')"
            )
        if password is not None and not username:
            raise ValueError("an SMTP password was given without a username")
        if username and security == "none" and not allow_cleartext_auth:
            raise ValueError(_CLEARTEXT_AUTH)
        self.host = host
        self.port = port
        self.sender = sender
        self.username = username or None
        self.password = password
        self.security: Security = security
        self.timeout = float(timeout)
        self.ssl_context = (
            ssl_context
            if ssl_context is not None or security == "none"
            else ssl.create_default_context()
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SmtpNotifier:
        """Build a notifier from ``SVCFLOW_SMTP_*`` variables (``os.environ`` by default).

        Required: ``SVCFLOW_SMTP_HOST``, ``SVCFLOW_SMTP_FROM``. Optional: ``SVCFLOW_SMTP_PORT``,
        ``SVCFLOW_SMTP_SECURITY`` (``starttls``, ``tls``, ``none``), ``SVCFLOW_SMTP_USER``,
        ``SVCFLOW_SMTP_PASSWORD``, ``SVCFLOW_SMTP_TIMEOUT`` (seconds),
        ``SVCFLOW_SMTP_ALLOW_CLEARTEXT_AUTH`` (``1`` to log in without TLS). Empty values count as
        unset. Raises ``PermanentDeliveryError`` listing every problem at once, naming the
        variables, because a delivery attempted with this configuration can never succeed.
        """
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        problems: list[str] = []
        host, sender = get("SVCFLOW_SMTP_HOST"), get("SVCFLOW_SMTP_FROM")
        missing = [
            name
            for name, value in (("SVCFLOW_SMTP_HOST", host), ("SVCFLOW_SMTP_FROM", sender))
            if value is None
        ]
        if missing:
            problems.append(f"set {' and '.join(missing)}")
        security = (get("SVCFLOW_SMTP_SECURITY") or "starttls").lower()
        if security not in _SECURITY_VALUES:
            problems.append(
                f"SVCFLOW_SMTP_SECURITY={security!r} is not one of {', '.join(_SECURITY_VALUES)}"
            )
        port: int | None = None
        if (raw_port := get("SVCFLOW_SMTP_PORT")) is not None:
            port = int(raw_port) if raw_port.isdigit() else None
            if port is None or not 0 < port < 65536:
                problems.append(f"SVCFLOW_SMTP_PORT={raw_port!r} is not a port number (1-65535)")
        timeout = 10.0
        if (raw_timeout := get("SVCFLOW_SMTP_TIMEOUT")) is not None:
            try:
                timeout = float(raw_timeout)
            except ValueError:
                timeout = -1.0
            if not timeout > 0:
                problems.append(
                    f"SVCFLOW_SMTP_TIMEOUT={raw_timeout!r} is not a positive number of seconds"
                )
        username, password = get("SVCFLOW_SMTP_USER"), env.get("SVCFLOW_SMTP_PASSWORD") or None
        if password is not None and username is None:
            problems.append("SVCFLOW_SMTP_PASSWORD is set but SVCFLOW_SMTP_USER is not")
        cleartext = (get("SVCFLOW_SMTP_ALLOW_CLEARTEXT_AUTH") or "").lower() in _TRUE
        if username is not None and security == "none" and not cleartext:
            problems.append(_CLEARTEXT_AUTH)
        if problems:
            raise PermanentDeliveryError(
                "e-mail delivery is not configured: " + "; ".join(problems)
            )
        assert host is not None and sender is not None
        try:
            return cls(
                host,
                port,
                sender=sender,
                username=username,
                password=password,
                security=cast(Security, security),
                timeout=timeout,
                allow_cleartext_auth=cleartext,
            )
        except ValueError as error:
            raise PermanentDeliveryError(
                f"e-mail delivery is not configured: {error} (check SVCFLOW_SMTP_FROM)"
            ) from None

    @property
    def server(self) -> str:
        """``host:port``, as every error message names the server."""
        return f"{self.host}:{self.port}"

    @hookimpl
    def svcflow_register_channels(self) -> list[ChannelInfo]:
        """Claim the ``email`` channel as outbound."""
        return [_CHANNEL_INFO]

    @hookimpl
    def svcflow_deliver(self, delivery: Delivery) -> DeliveryReceipt | None:
        """Send ``delivery`` by e-mail; ``None`` when it belongs to another channel.

        Blocks for at most about ``timeout`` seconds per network step. Returns a receipt whose
        ``reference`` is the ``Message-ID``, which is the same for every attempt of one
        delivery key, so a receiving system can drop a duplicate.
        """
        if delivery.channel != CHANNEL:
            return None
        message = build_message(delivery, self.sender)
        self._send(message)
        return DeliveryReceipt(
            reference=str(message["Message-ID"]), detail=f"accepted by {self.server}"
        )

    def _send(self, message: EmailMessage) -> None:
        """Hand ``message`` to the server; translate every failure into a delivery error."""
        try:
            client = (
                smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=self.ssl_context
                )
                if self.security == "tls"
                else smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            )
            with client:
                if self.security == "starttls":
                    client.starttls(context=self.ssl_context)
                if self.username is not None:
                    client.login(self.username, self.password or "")
                client.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            address, (code, reply) = next(iter(error.recipients.items()))
            self._fail(code, f"refused recipient {address}: {_reply(code, reply)}")
        except smtplib.SMTPSenderRefused as error:
            self._fail(error.smtp_code, f"refused sender {error.sender}: {_reply_of(error)}")
        except smtplib.SMTPAuthenticationError as error:
            self._fail(
                error.smtp_code, f"rejected the login of {self.username!r}: {_reply_of(error)}"
            )
        except smtplib.SMTPDataError as error:
            self._fail(error.smtp_code, f"rejected the message: {_reply_of(error)}")
        except smtplib.SMTPResponseException as error:
            self._fail(error.smtp_code, f"answered {_reply_of(error)}")
        except smtplib.SMTPNotSupportedError as error:
            raise PermanentDeliveryError(self._unsupported(str(error))) from None
        except smtplib.SMTPServerDisconnected as error:
            if isinstance(error.__context__, TimeoutError):  # smtplib wraps a read timeout
                raise self._timed_out() from None
            raise DeliveryFailed(
                f"SMTP server {self.server} closed the connection: {error}"
            ) from None
        except smtplib.SMTPException as error:
            # smtplib raises the bare class when no AUTH mechanism is shared with the server.
            raise PermanentDeliveryError(f"SMTP server {self.server}: {error}") from None
        except ssl.SSLCertVerificationError as error:
            raise DeliveryFailed(
                f"TLS with SMTP server {self.server} failed: the server's certificate was "
                f"not accepted ({error.verify_message})"
            ) from None
        except ssl.SSLError as error:
            hint = (
                " (the port speaks plain SMTP: use security='starttls')"
                if error.reason == "WRONG_VERSION_NUMBER"
                else ""
            )
            raise DeliveryFailed(
                f"TLS with SMTP server {self.server} failed: {error.reason or error}{hint}"
            ) from None
        except TimeoutError:
            raise self._timed_out() from None
        except OSError as error:
            raise DeliveryFailed(
                f"could not connect to SMTP server {self.server}: {error.strerror or error}"
            ) from None

    def _timed_out(self) -> DeliveryFailed:
        return DeliveryFailed(f"SMTP server {self.server} did not answer within {self.timeout:g} s")

    def _fail(self, code: int, what: str) -> NoReturn:
        """Raise for an SMTP reply: 4xx may pass later, 5xx (and anything else) will not."""
        text = f"SMTP server {self.server} {what}"
        if 400 <= code < 500:
            raise DeliveryFailed(text) from None
        raise PermanentDeliveryError(text) from None

    def _unsupported(self, detail: str) -> str:
        if "STARTTLS" in detail:
            return (
                f"SMTP server {self.server} does not offer STARTTLS; use security='tls' "
                "(SVCFLOW_SMTP_SECURITY=tls) for an SMTPS port such as 465, or 'none' only "
                "for a relay on a trusted network"
            )
        if "AUTH" in detail:
            return (
                f"SMTP server {self.server} does not offer AUTH (it may require TLS first, or "
                "need no login): remove the username or change the security setting"
            )
        return f"SMTP server {self.server} does not support what was asked: {detail}"


def message_id_for(key: str, sender: str) -> str:
    """The ``Message-ID`` for delivery ``key`` sent as ``sender``: ``<svcflow.KEY@DOMAIN>``.

    Deterministic, so every retry of one delivery carries the same id and mail systems drop
    the duplicate. Characters a Message-ID may not hold (``:`` in svcflow's keys, dots, spaces,
    non-ASCII) are written as ``=XX`` per UTF-8 byte, so the key stays readable and two keys
    never share an id. The domain is the sender's, or ``svcflow.invalid`` if it has none usable.
    """
    encoded = "".join(
        char if char in _ATEXT else "".join(f"={byte:02X}" for byte in char.encode())
        for char in key
    )
    domain = parseaddr(sender)[1].rpartition("@")[2]
    usable = domain.isascii() and all(part and set(part) <= _ATEXT for part in domain.split("."))
    return f"<svcflow.{encoded}@{domain if usable else 'svcflow.invalid'}>"


def build_message(delivery: Delivery, sender: str) -> EmailMessage:
    """The e-mail for ``delivery``, as :class:`SmtpNotifier` sends it.

    Headers: ``From``, ``To`` (with the recipient's name), ``Subject`` (line breaks folded into
    spaces), ``Date`` (when the notification was queued, so retries are byte-identical),
    ``Message-ID`` (:func:`message_id_for`), ``X-Svcflow-Key``, ``X-Svcflow-Case``,
    ``Content-Language`` (the delivery's locale as a language tag, ``zh_CN`` -> ``zh-CN``),
    ``Auto-Submitted: auto-generated`` (so auto-responders do not answer) and, for urgent
    notifications, ``Importance: high`` and ``X-Priority: 1``. The body is UTF-8 plain text
    encoded for 7-bit transport, so Chinese text survives any relay.

    Raises ``PermanentDeliveryError`` when the recipient address is not a valid address.
    """
    recipient = delivery.recipient
    try:
        if not recipient.address.strip():
            raise ValueError("empty")
        to = Address(display_name=recipient.name or "", addr_spec=recipient.address.strip())
    except (ValueError, IndexError, MessageError):
        raise PermanentDeliveryError(
            f"recipient address {recipient.address!r} is not a valid e-mail address"
        ) from None
    message = EmailMessage(policy=email.policy.default.clone(cte_type="7bit"))
    message.set_content(delivery.body, charset="utf-8")  # first: it drops Content-* headers
    message["From"] = sender
    message["To"] = to
    message["Subject"] = " ".join(delivery.subject.split())
    message["Date"] = format_datetime(delivery.created_at)
    message["Message-ID"] = message_id_for(delivery.key, sender)
    message["X-Svcflow-Key"] = delivery.key
    message["X-Svcflow-Case"] = delivery.case_id
    message["Content-Language"] = delivery.locale.replace("_", "-")
    message["Auto-Submitted"] = "auto-generated"
    if delivery.urgent:
        message["Importance"] = "high"
        message["X-Priority"] = "1"
    return message


def _reply(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return f"{code} {' '.join(text.split())}".rstrip()


def _reply_of(error: smtplib.SMTPResponseException) -> str:
    return _reply(error.smtp_code, error.smtp_error)


class _FromEnvironment:
    """The entry-point plugin: an :class:`SmtpNotifier` built from the environment when the
    first ``email`` delivery arrives, then reused.

    Reading late lets a host set ``SVCFLOW_SMTP_*`` after importing plugins (and keeps a host
    that never sends e-mail from needing them). A configuration error is not remembered: every
    delivery fails with it until the variables are fixed.
    """

    def __init__(self) -> None:
        self._notifier: SmtpNotifier | None = None
        self._lock = threading.Lock()

    def notifier(self) -> SmtpNotifier:
        """The configured notifier, built now if needed; a host may call this at start-up to
        fail fast. Raises ``PermanentDeliveryError`` naming the variables at fault."""
        with self._lock:
            if self._notifier is None:
                self._notifier = SmtpNotifier.from_env()
            return self._notifier

    @hookimpl
    def svcflow_register_channels(self) -> list[ChannelInfo]:
        """Claim the ``email`` channel as outbound (without reading the environment)."""
        return [_CHANNEL_INFO]

    @hookimpl
    def svcflow_deliver(self, delivery: Delivery) -> DeliveryReceipt | None:
        """Deliver through :meth:`notifier`; ``None`` for another channel's delivery."""
        if delivery.channel != CHANNEL:
            return None
        return self.notifier().svcflow_deliver(delivery)


plugin = _FromEnvironment()
"""The instance the ``svcflow`` entry point registers; configured from ``SVCFLOW_SMTP_*``."""
