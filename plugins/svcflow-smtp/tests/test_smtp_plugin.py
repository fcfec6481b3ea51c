"""The SMTP plugin against a real aiosmtpd server on 127.0.0.1: what arrives, and how each
kind of failure is reported (retry later, or dead-letter now)."""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any, cast

import pluggy
import pytest
import svcflow_smtp
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from svcflow_smtp import SmtpNotifier, message_id_for

from svcflow.clock import ManualClock
from svcflow.definitions.workflow import load_workflow_text
from svcflow.engine import Engine, build_plugin_host
from svcflow.errors import DeliveryFailed, PermanentDeliveryError
from svcflow.hooks import specs as hookspecs
from svcflow.hooks.types import ChannelInfo, Delivery, DeliveryReceipt, Recipient

SENDER = "客服 Support <support@example.com>"
SUBJECT = "您的投诉 C-17 已升级"
BODY = "李伟您好：\n\n您的投诉已转交组长处理。\nWe will call you within 2 hours.\n"
MESSAGE_ID = "<svcflow.C-17=3A3=3A1=3Acustomer@example.com>"


def make_delivery(
    address: str = "li.wei@example.com", *, channel: str = "email", attempt: int = 1
) -> Delivery:
    return Delivery(
        key="C-17:3:1:customer",
        case_id="C-17",
        template="complaint_escalated",
        recipient=Recipient(address, channel, name="李伟", locale="zh_CN", role="customer"),
        subject=SUBJECT,
        body=BODY,
        locale="zh_CN",
        urgent=True,
        attempt=attempt,
        created_at=datetime(2026, 3, 2, 9, 20, tzinfo=UTC),
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    tls: bool
    raw: bytes


@dataclass
class Handler:
    """Accepts everything except what a test asks it to refuse, and keeps what it accepted."""

    rcpt_replies: dict[str, str] = field(default_factory=dict)
    data_reply: str = "250 2.0.0 Queued"
    received: list[Received] = field(default_factory=list)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_reply.startswith("250"):
            raw = cast(bytes, envelope.original_content)
            message = message_from_bytes(raw, policy=default_policy)
            self.received.append(
                Received(
                    str(envelope.mail_from),
                    list(envelope.rcpt_tos),
                    message,
                    session.ssl is not None,
                    raw,
                )
            )
        return self.data_reply


@contextmanager
def smtp_server(handler: Handler, **options: Any) -> Iterator[int]:
    """Run aiosmtpd on a free 127.0.0.1 port for the duration of the block; yield the port."""
    port = free_port()
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, server_hostname="mx.test", **options
    )
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@dataclass
class Tls:
    server: ssl.SSLContext
    client: ssl.SSLContext


@pytest.fixture(scope="module")
def tls() -> Tls:
    """A throw-away CA, a server certificate for 127.0.0.1, and a client context trusting it."""
    authority = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1", "localhost").configure_cert(server)
    client = ssl.create_default_context()
    authority.configure_trust(client)
    return Tls(server, client)


class Accounts:
    """An aiosmtpd authenticator with one account; remembers the mechanisms clients used."""

    def __init__(self) -> None:
        self.mechanisms: list[str] = []

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        self.mechanisms.append(mechanism)
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"agent",
            b"s3cret",
        )
        return AuthResult(success=ok, handled=False)


def test_sends_the_message_with_every_header_and_a_chinese_body() -> None:
    handler = Handler()
    with smtp_server(handler) as port:
        notifier = SmtpNotifier("127.0.0.1", port, sender=SENDER, security="none")
        receipt = notifier.svcflow_deliver(make_delivery())
    assert receipt == DeliveryReceipt(reference=MESSAGE_ID, detail=f"accepted by 127.0.0.1:{port}")
    (received,) = handler.received
    assert received.mail_from == "support@example.com"
    assert received.rcpt_tos == ["li.wei@example.com"]
    assert received.tls is False
    message = received.message
    assert message["From"] == SENDER
    assert message["To"] == "李伟 <li.wei@example.com>"
    assert message["Subject"] == SUBJECT
    assert message["Date"] == "Mon, 02 Mar 2026 09:20:00 +0000"
    assert message["Message-ID"] == MESSAGE_ID
    assert message["X-Svcflow-Key"] == "C-17:3:1:customer"
    assert message["X-Svcflow-Case"] == "C-17"
    assert message["Content-Language"] == "zh-CN"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Importance"] == "high"
    assert message["X-Priority"] == "1"
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert message.get_content() == BODY


def test_works_through_pluggy_with_the_hookspecs() -> None:
    handler = Handler()
    with smtp_server(handler) as port:
        manager = pluggy.PluginManager(hookspecs.PROJECT)
        manager.add_hookspecs(hookspecs)
        manager.register(
            SmtpNotifier("127.0.0.1", port, sender=SENDER, security="none"), name="smtp"
        )
        manager.check_pending()
        receipt = manager.hook.svcflow_deliver(delivery=make_delivery())
    assert receipt == DeliveryReceipt(reference=MESSAGE_ID, detail=f"accepted by 127.0.0.1:{port}")
    assert len(handler.received) == 1


def test_every_line_on_the_wire_is_seven_bit() -> None:
    handler = Handler()
    with smtp_server(handler) as port:
        SmtpNotifier("127.0.0.1", port, sender=SENDER, security="none").svcflow_deliver(
            make_delivery()
        )
    (received,) = handler.received
    assert received.raw.isascii()
    assert received.message["Content-Transfer-Encoding"] == "base64"


def test_a_redelivery_carries_the_same_message_id() -> None:
    handler = Handler()
    with smtp_server(handler) as port:
        notifier = SmtpNotifier("127.0.0.1", port, sender=SENDER, security="none")
        notifier.svcflow_deliver(make_delivery(attempt=1))
        notifier.svcflow_deliver(make_delivery(attempt=2))
    first, second = (r.message for r in handler.received)
    assert first["Message-ID"] == second["Message-ID"] == MESSAGE_ID
    assert first.as_bytes() == second.as_bytes()


def test_starttls_with_a_trusted_certificate(tls: Tls) -> None:
    handler = Handler()
    with smtp_server(handler, tls_context=tls.server, require_starttls=True) as port:
        notifier = SmtpNotifier("127.0.0.1", port, sender=SENDER, ssl_context=tls.client)
        assert notifier.security == "starttls"
        notifier.svcflow_deliver(make_delivery())
    (received,) = handler.received
    assert received.tls is True
    assert received.message["Subject"] == SUBJECT


def test_starttls_with_an_untrusted_certificate_is_retried(tls: Tls) -> None:
    handler = Handler()
    with smtp_server(handler, tls_context=tls.server, require_starttls=True) as port:
        notifier = SmtpNotifier("127.0.0.1", port, sender=SENDER)
        with pytest.raises(DeliveryFailed) as caught:
            notifier.svcflow_deliver(make_delivery())
    assert type(caught.value) is DeliveryFailed
    assert str(caught.value) == (
        f"TLS with SMTP server 127.0.0.1:{port} failed: the server's certificate was not "
        "accepted (unable to get local issuer certificate)"
    )
    assert handler.received == []


def test_implicit_tls(tls: Tls) -> None:
    handler = Handler()
    with smtp_server(handler, ssl_context=tls.server) as port:
        notifier = SmtpNotifier(
            "127.0.0.1", port, sender=SENDER, security="tls", ssl_context=tls.client
        )
        notifier.svcflow_deliver(make_delivery())
    assert handler.received[0].message["Message-ID"] == MESSAGE_ID


def test_implicit_tls_against_a_plain_port_says_so(tls: Tls) -> None:
    with smtp_server(Handler()) as port:
        notifier = SmtpNotifier(
            "127.0.0.1", port, sender=SENDER, security="tls", ssl_context=tls.client
        )
        with pytest.raises(DeliveryFailed) as caught:
            notifier.svcflow_deliver(make_delivery())
    assert str(caught.value) == (
        f"TLS with SMTP server 127.0.0.1:{port} failed: WRONG_VERSION_NUMBER "
        "(the port speaks plain SMTP: use security='starttls')"
    )


def test_starttls_required_but_not_offered_is_permanent() -> None:
    with smtp_server(Handler()) as port:
        notifier = SmtpNotifier("127.0.0.1", port, sender=SENDER)
        with pytest.raises(PermanentDeliveryError) as caught:
            notifier.svcflow_deliver(make_delivery())
    assert str(caught.value) == (
        f"SMTP server 127.0.0.1:{port} does not offer STARTTLS; use security='tls' "
        "(SVCFLOW_SMTP_SECURITY=tls) for an SMTPS port such as 465, or 'none' only for a "
        "relay on a trusted network"
    )


@pytest.mark.parametrize(("excluded", "mechanism"), [(["LOGIN"], "PLAIN"), (["PLAIN"], "LOGIN")])
def test_logs_in_over_starttls(tls: Tls, excluded: list[str], mechanism: str) -> None:
    handler, accounts = Handler(), Accounts()
    with smtp_server(
        handler,
        tls_context=tls.server,
        require_starttls=True,
        authenticator=accounts,
        auth_required=True,
        auth_exclude_mechanism=excluded,
    ) as port:
        notifier = SmtpNotifier(
            "127.0.0.1",
            port,
            sender=SENDER,
            username="agent",
            password="s3cret",
            ssl_context=tls.client,
        )
        notifier.svcflow_deliver(make_delivery())
    assert accounts.mechanisms == [mechanism]
    assert len(handler.received) == 1


def test_a_wrong_password_is_permanent(tls: Tls) -> None:
    handler, accounts = Handler(), Accounts()
    with smtp_server(
        handler,
        tls_context=tls.server,
        require_starttls=True,
        authenticator=accounts,
        auth_required=True,
    ) as port:
        notifier = SmtpNotifier(
            "127.0.0.1",
            port,
            sender=SENDER,
            username="agent",
            password="wrong",
            ssl_context=tls.client,
        )
        with pytest.raises(PermanentDeliveryError) as caught:
            notifier.svcflow_deliver(make_delivery())
    assert str(caught.value) == (
        f"SMTP server 127.0.0.1:{port} rejected the login of 'agent': "
        "535 5.7.8 Authentication credentials invalid"
    )
    assert handler.received == []


def test_a_temporary_rejection_is_retried() -> None:
    handler = Handler(data_reply="451 4.3.0 Mail queue full, try again later")
    with smtp_server(handler) as port:
        notifier = SmtpNotifier("127.0.0.1", port, sender=SENDER, security="none")
        with pytest.raises(DeliveryFailed) as caught:
            notifier.svcflow_deliver(make_delivery())
    assert type(caught.value) is DeliveryFailed
    assert str(caught.value) == (
        f"SMTP server 127.0.0.1:{port} rejected the message: "
        "451 4.3.0 Mail queue full, try again later"
    )


def test_a_refused_recipient_is_permanent() -> None:
    handler = Handler(rcpt_replies={"nobody@example.com": "550 5.1.1 No such user here"})
    with smtp_server(handler) as port:
        notifier = SmtpNotifier("127.0.0.1", port, sender=SENDER, security="none")
        with pytest.raises(PermanentDeliveryError) as caught:
            notifier.svcflow_deliver(make_delivery("nobody@example.com"))
    assert str(caught.value) == (
        f"SMTP server 127.0.0.1:{port} refused recipient nobody@example.com: "
        "550 5.1.1 No such user here"
    )


def test_a_greylisted_recipient_is_retried() -> None:
    handler = Handler(rcpt_replies={"li.wei@example.com": "450 4.2.0 Greylisted, come back later"})
    with smtp_server(handler) as port:
        notifier = SmtpNotifier("127.0.0.1", port, sender=SENDER, security="none")
        with pytest.raises(DeliveryFailed) as caught:
            notifier.svcflow_deliver(make_delivery())
    assert type(caught.value) is DeliveryFailed
    assert str(caught.value) == (
        f"SMTP server 127.0.0.1:{port} refused recipient li.wei@example.com: "
        "450 4.2.0 Greylisted, come back later"
    )


def test_a_closed_port_is_retried() -> None:
    port = free_port()
    notifier = SmtpNotifier("127.0.0.1", port, sender=SENDER, security="none")
    with pytest.raises(DeliveryFailed) as caught:
        notifier.svcflow_deliver(make_delivery())
    assert type(caught.value) is DeliveryFailed
    assert str(caught.value) == (
        f"could not connect to SMTP server 127.0.0.1:{port}: Connection refused"
    )


def test_a_server_that_never_greets_times_out() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        notifier = SmtpNotifier("127.0.0.1", port, sender=SENDER, security="none", timeout=0.2)
        with pytest.raises(DeliveryFailed) as caught:
            notifier.svcflow_deliver(make_delivery())
    assert type(caught.value) is DeliveryFailed
    assert str(caught.value) == f"SMTP server 127.0.0.1:{port} did not answer within 0.2 s"


@pytest.mark.parametrize("address", ["", "not an address", "a@b@c"])
def test_an_invalid_recipient_address_is_permanent_without_connecting(address: str) -> None:
    notifier = SmtpNotifier("127.0.0.1", free_port(), sender=SENDER, security="none")
    with pytest.raises(PermanentDeliveryError) as caught:
        notifier.svcflow_deliver(make_delivery(address))
    assert str(caught.value) == f"recipient address {address!r} is not a valid e-mail address"


def test_other_channels_are_left_alone() -> None:
    notifier = SmtpNotifier("127.0.0.1", free_port(), sender=SENDER, security="none")
    assert notifier.svcflow_deliver(make_delivery(channel="sms")) is None
    assert svcflow_smtp.plugin.svcflow_deliver(make_delivery(channel="sms")) is None


def test_registers_email_as_outbound() -> None:
    expected = [ChannelInfo("email", outbound=True, description="e-mail through an SMTP server")]
    assert svcflow_smtp.plugin.svcflow_register_channels() == expected
    notifier = SmtpNotifier("smtp.example.com", sender=SENDER)
    assert notifier.svcflow_register_channels() == expected


def test_default_ports_follow_the_security_mode() -> None:
    assert SmtpNotifier("smtp.example.com", sender=SENDER).port == 587
    assert SmtpNotifier("smtp.example.com", sender=SENDER, security="tls").port == 465
    assert SmtpNotifier("smtp.example.com", sender=SENDER, security="none").port == 587


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"security": "ssl"}, "unknown SMTP security 'ssl'; use one of: starttls, tls, none"),
        ({"port": 0}, "SMTP port must be between 1 and 65535, not 0"),
        ({"timeout": 0}, "SMTP timeout must be a positive number of seconds, not 0"),
        (
            {"sender": "support"},
            "SMTP sender 'support' is not an e-mail address "
            "(use 'support@example.com' or 'Support <support@example.com>')",
        ),
        ({"password": "x"}, "an SMTP password was given without a username"),
        (
            {"security": "none", "username": "agent", "password": "s3cret"},
            "SMTP login with security='none' would send the password in cleartext: use "
            "security='starttls' or 'tls', or allow it explicitly for a relay on a trusted "
            "network (allow_cleartext_auth=True, SVCFLOW_SMTP_ALLOW_CLEARTEXT_AUTH=1)",
        ),
    ],
)
def test_invalid_arguments_fail_at_construction(arguments: dict[str, Any], message: str) -> None:
    options: dict[str, Any] = {"sender": SENDER, **arguments}
    with pytest.raises(ValueError) as caught:
        SmtpNotifier("smtp.example.com", **options)
    assert str(caught.value) == message


def test_from_env_reads_every_variable() -> None:
    notifier = SmtpNotifier.from_env(
        {
            "SVCFLOW_SMTP_HOST": "smtp.example.com",
            "SVCFLOW_SMTP_PORT": "2525",
            "SVCFLOW_SMTP_FROM": SENDER,
            "SVCFLOW_SMTP_USER": "agent",
            "SVCFLOW_SMTP_PASSWORD": "s3cret",
            "SVCFLOW_SMTP_SECURITY": "TLS",
            "SVCFLOW_SMTP_TIMEOUT": "2.5",
        }
    )
    assert (notifier.host, notifier.port, notifier.sender) == ("smtp.example.com", 2525, SENDER)
    assert (notifier.username, notifier.password) == ("agent", "s3cret")
    assert (notifier.security, notifier.timeout) == ("tls", 2.5)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "set SVCFLOW_SMTP_HOST and SVCFLOW_SMTP_FROM"),
        (
            {"SVCFLOW_SMTP_HOST": "smtp.example.com", "SVCFLOW_SMTP_FROM": " "},
            "set SVCFLOW_SMTP_FROM",
        ),
        (
            {
                "SVCFLOW_SMTP_FROM": SENDER,
                "SVCFLOW_SMTP_PORT": "smtp",
                "SVCFLOW_SMTP_SECURITY": "ssl",
                "SVCFLOW_SMTP_TIMEOUT": "soon",
                "SVCFLOW_SMTP_PASSWORD": "s3cret",
            },
            "set SVCFLOW_SMTP_HOST; SVCFLOW_SMTP_SECURITY='ssl' is not one of starttls, tls, "
            "none; SVCFLOW_SMTP_PORT='smtp' is not a port number (1-65535); "
            "SVCFLOW_SMTP_TIMEOUT='soon' is not a positive number of seconds; "
            "SVCFLOW_SMTP_PASSWORD is set but SVCFLOW_SMTP_USER is not",
        ),
        (
            {
                "SVCFLOW_SMTP_HOST": "smtp.example.com",
                "SVCFLOW_SMTP_FROM": SENDER,
                "SVCFLOW_SMTP_SECURITY": "none",
                "SVCFLOW_SMTP_USER": "agent",
                "SVCFLOW_SMTP_PASSWORD": "s3cret",
            },
            "SMTP login with security='none' would send the password in cleartext: use "
            "security='starttls' or 'tls', or allow it explicitly for a relay on a trusted "
            "network (allow_cleartext_auth=True, SVCFLOW_SMTP_ALLOW_CLEARTEXT_AUTH=1)",
        ),
        (
            {"SVCFLOW_SMTP_HOST": "smtp.example.com", "SVCFLOW_SMTP_FROM": "support"},
            "SMTP sender 'support' is not an e-mail address (use 'support@example.com' or "
            "'Support <support@example.com>') (check SVCFLOW_SMTP_FROM)",
        ),
    ],
)
def test_from_env_names_the_variables_at_fault(environ: dict[str, str], message: str) -> None:
    with pytest.raises(PermanentDeliveryError) as caught:
        SmtpNotifier.from_env(environ)
    assert str(caught.value) == f"e-mail delivery is not configured: {message}"


def test_the_entry_point_plugin_reads_the_environment_at_first_delivery(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from importlib.metadata import entry_points

    (point,) = [p for p in entry_points(group="svcflow") if p.name == "smtp"]
    assert point.value == "svcflow_smtp:plugin"
    lazy = type(point.load())()
    for name in ("SVCFLOW_SMTP_HOST", "SVCFLOW_SMTP_FROM", "SVCFLOW_SMTP_USER"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(PermanentDeliveryError) as caught:
        lazy.svcflow_deliver(make_delivery())
    assert str(caught.value) == (
        "e-mail delivery is not configured: set SVCFLOW_SMTP_HOST and SVCFLOW_SMTP_FROM"
    )

    handler = Handler()
    with smtp_server(handler) as port:
        monkeypatch.setenv("SVCFLOW_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("SVCFLOW_SMTP_PORT", str(port))
        monkeypatch.setenv("SVCFLOW_SMTP_FROM", SENDER)
        monkeypatch.setenv("SVCFLOW_SMTP_SECURITY", "none")
        receipt = lazy.svcflow_deliver(make_delivery())
        monkeypatch.setenv("SVCFLOW_SMTP_HOST", "changed.example.com")
        lazy.svcflow_deliver(make_delivery())
    assert receipt is not None and receipt.reference == MESSAGE_ID
    assert len(handler.received) == 2
    assert lazy.notifier().host == "127.0.0.1"


@pytest.mark.parametrize(
    ("key", "sender", "expected"),
    [
        ("C-17:3:1", "support@example.com", "<svcflow.C-17=3A3=3A1@example.com>"),
        ("a.b c=d", "Support <support@example.com>", "<svcflow.a=2Eb=20c=3Dd@example.com>"),
        ("投诉", "support@example.com", "<svcflow.=E6=8A=95=E8=AF=89@example.com>"),
        ("k", "support@例子.中国", "<svcflow.k@svcflow.invalid>"),
    ],
)
def test_message_ids_are_readable_escaped_keys(key: str, sender: str, expected: str) -> None:
    assert message_id_for(key, sender) == expected


def test_cleartext_login_works_only_when_allowed_explicitly() -> None:
    handler, accounts = Handler(), Accounts()
    with smtp_server(handler, authenticator=accounts, auth_require_tls=False) as port:
        notifier = SmtpNotifier.from_env(
            {
                "SVCFLOW_SMTP_HOST": "127.0.0.1",
                "SVCFLOW_SMTP_PORT": str(port),
                "SVCFLOW_SMTP_FROM": SENDER,
                "SVCFLOW_SMTP_SECURITY": "none",
                "SVCFLOW_SMTP_USER": "agent",
                "SVCFLOW_SMTP_PASSWORD": "s3cret",
                "SVCFLOW_SMTP_ALLOW_CLEARTEXT_AUTH": "1",
            }
        )
        notifier.svcflow_deliver(make_delivery())
    assert accounts.mechanisms and len(handler.received) == 1


REFUND = """\
workflow: refund
version: 1
title: Refund
data:
  customer_email: {type: string, default: ""}
states:
  received: {initial: true, on_enter: [{notify: {template: received, to: customer}}]}
  done: {final: true}
transitions:
  - {trigger: close, from: received, to: done}
"""


def test_a_refused_recipient_is_logged_without_the_customers_address(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    handler = Handler(rcpt_replies={"jane.doe@example.com": "550 5.1.1 No such user here"})
    with smtp_server(handler) as port:
        notifier = SmtpNotifier("127.0.0.1", port, sender=SENDER, security="none")
        host = build_plugin_host([notifier], load_plugins=False)
        clock = ManualClock(datetime(2026, 3, 2, 9, tzinfo=UTC))
        workflow = load_workflow_text(REFUND, "<test>")
        with Engine(
            [workflow], f"sqlite:///{tmp_path / 'cases.db'}", clock, plugin_host=host
        ) as engine:
            case = engine.start("refund", {"customer_email": "jane.doe@example.com"})
            with caplog.at_level(logging.ERROR, logger="svcflow.outbox"):
                report = engine.dispatch()
    assert len(report.dead) == 1
    [line] = [record.getMessage() for record in caplog.records]
    assert line == (
        f"notification {case.id}:1:1:1 dead-lettered: permanent failure: PermanentDeliveryError:"
        f" SMTP server 127.0.0.1:{port} refused recipient j***@***.com: "
        "550 5.1.1 No such user here"
    )
    assert "jane" not in caplog.text
