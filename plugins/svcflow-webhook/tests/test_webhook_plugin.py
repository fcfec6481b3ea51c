"""The webhook plugin against a real HTTP server on 127.0.0.1, and the receiver-side check."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pluggy
import pytest
import svcflow_webhook
import trustme
from svcflow_webhook import InvalidSignature, WebhookNotifier, payload, sign, verify

from svcflow.errors import DeliveryFailed, PermanentDeliveryError, SvcflowError
from svcflow.hooks import specs as hookspecs
from svcflow.hooks.types import ChannelInfo, Delivery, DeliveryReceipt, Recipient

SECRET = "whsec_" + base64.b64encode(b"a shared secret of 24 bytes").decode()
NOW = 1_772_443_200.0  # 2026-03-02 09:20:00 UTC


def make_delivery(address: str, *, channel: str = "webhook") -> Delivery:
    return Delivery(
        key="C-17:3:2:crm",
        case_id="C-17",
        template="complaint_escalated",
        recipient=Recipient(address, channel, name="CRM 系统", locale="zh-CN", role="crm"),
        subject="投诉 C-17 已升级",
        body="客户李伟的投诉已转交组长。",
        locale="zh-CN",
        urgent=True,
        attempt=3,
        created_at=datetime(2026, 3, 2, 9, 20, tzinfo=UTC),
    )


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    hold: threading.Event | None = None


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver(ThreadingHTTPServer):
    """Answers every POST with ``reply`` and keeps what it received. Handler threads are not
    daemons, so ``server_close`` waits for them and no thread outlives a test."""

    daemon_threads = False

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        self.reply = Reply()
        self.seen: list[Seen] = []

    def url(self, path: str = "/hook") -> str:
        return f"{self.scheme}://127.0.0.1:{self.server_address[1]}{path}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (the timeout test) makes the late answer fail; that is fine."""


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.seen.append(Seen("POST", self.path, dict(self.headers.items()), body))
        reply = self.server.reply
        if reply.hold is not None:
            reply.hold.wait(10)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def running(server: Receiver) -> Iterator[Receiver]:
    """Serve in a thread for the block; afterwards release held answers, stop, join."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        if server.reply.hold is not None:
            server.reply.hold.set()
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running(Receiver()) as server:
        yield server


@pytest.fixture(scope="module")
def certificates() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a certificate for 127.0.0.1, and a client context trusting it."""
    authority = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server)
    client = ssl.create_default_context()
    authority.configure_trust(client)
    return server, client


def notifier(timeout: float = 5.0) -> WebhookNotifier:
    return WebhookNotifier(SECRET, timeout, clock=lambda: NOW)


def test_posts_signed_json_and_returns_the_receivers_id(receiver: Receiver) -> None:
    receiver.reply = Reply(202, b'{"id": "evt_42", "status": "queued"}')
    address = receiver.url("/hooks/svcflow?tenant=7")
    receipt = notifier().svcflow_deliver(make_delivery(address))
    assert receipt == DeliveryReceipt(
        reference="evt_42", detail=f"HTTP 202 from {receiver.url('/hooks/svcflow')}"
    )
    (seen,) = receiver.seen
    assert seen.path == "/hooks/svcflow?tenant=7"
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.headers["webhook-id"] == "C-17:3:2:crm"
    assert seen.headers["webhook-timestamp"] == "1772443200"
    assert seen.headers["User-Agent"] == "svcflow-webhook/0.1.0"
    assert "Idempotency-Key" not in seen.headers
    assert standard_webhooks_accepts(SECRET, seen.headers, seen.body)
    assert verify(SECRET, seen.body, seen.headers, now=NOW) == "C-17:3:2:crm"
    assert "投诉 C-17 已升级".encode() in seen.body
    assert json.loads(seen.body) == {
        "key": "C-17:3:2:crm",
        "case_id": "C-17",
        "template": "complaint_escalated",
        "subject": "投诉 C-17 已升级",
        "body": "客户李伟的投诉已转交组长。",
        "recipient": {"address": address, "name": "CRM 系统", "role": "crm", "locale": "zh-CN"},
        "locale": "zh-CN",
        "urgent": True,
        "attempt": 3,
        "created_at": "2026-03-02T09:20:00+00:00",
    }
    assert seen.body == payload(make_delivery(address))


def test_works_through_pluggy_with_the_hookspecs(receiver: Receiver) -> None:
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    manager.register(notifier(), name="webhook")
    manager.check_pending()
    receipt = manager.hook.svcflow_deliver(delivery=make_delivery(receiver.url()))
    assert receipt == DeliveryReceipt(reference=None, detail=f"HTTP 200 from {receiver.url()}")
    assert len(receiver.seen) == 1


@pytest.mark.parametrize("answer", [b"", b"accepted", b"[1, 2]", b'{"id": null}'])
def test_a_2xx_without_an_id_has_no_reference(receiver: Receiver, answer: bytes) -> None:
    receiver.reply = Reply(200, answer)
    receipt = notifier().svcflow_deliver(make_delivery(receiver.url()))
    assert receipt == DeliveryReceipt(reference=None, detail=f"HTTP 200 from {receiver.url()}")


@pytest.mark.parametrize(
    ("status", "answer", "described"),
    [
        (500, b"database unavailable", "500 Internal Server Error: 'database unavailable'"),
        (503, b"", "503 Service Unavailable with an empty body"),
        (429, b"slow down", "429 Too Many Requests: 'slow down'"),
        (408, b"", "408 Request Timeout with an empty body"),
    ],
)
def test_server_trouble_is_retried(
    receiver: Receiver, status: int, answer: bytes, described: str
) -> None:
    receiver.reply = Reply(status, answer)
    with pytest.raises(DeliveryFailed) as caught:
        notifier().svcflow_deliver(make_delivery(receiver.url()))
    assert type(caught.value) is DeliveryFailed
    assert str(caught.value) == f"webhook {receiver.url()} answered {described}"


def test_a_rejection_is_permanent(receiver: Receiver) -> None:
    receiver.reply = Reply(400, b'{"error": "unknown template"}')
    with pytest.raises(PermanentDeliveryError) as caught:
        notifier().svcflow_deliver(make_delivery(receiver.url()))
    assert str(caught.value) == (
        f'webhook {receiver.url()} answered 400 Bad Request: \'{{"error": "unknown template"}}\''
    )


def test_a_long_answer_is_cut_at_200_characters(receiver: Receiver) -> None:
    receiver.reply = Reply(404, ("不" * 150 + "x" * 150).encode())
    with pytest.raises(PermanentDeliveryError) as caught:
        notifier().svcflow_deliver(make_delivery(receiver.url()))
    assert str(caught.value) == (
        f"webhook {receiver.url()} answered 404 Not Found: '{'不' * 150}{'x' * 50}'..."
    )


def test_a_redirect_is_not_followed(receiver: Receiver) -> None:
    receiver.reply = Reply(302, b"", {"Location": "/elsewhere"})
    with pytest.raises(PermanentDeliveryError) as caught:
        notifier().svcflow_deliver(make_delivery(receiver.url()))
    assert str(caught.value) == (
        f"webhook {receiver.url()} answered 302 Found with an empty body "
        "(redirects are not followed: configure the final URL)"
    )
    assert [seen.path for seen in receiver.seen] == ["/hook"]


def test_no_answer_in_time_is_retried(receiver: Receiver) -> None:
    receiver.reply = Reply(200, b"too late", hold=threading.Event())
    with pytest.raises(DeliveryFailed) as caught:
        notifier(timeout=0.2).svcflow_deliver(make_delivery(receiver.url()))
    assert type(caught.value) is DeliveryFailed
    assert str(caught.value) == f"webhook {receiver.url()} did not answer within 0.2 s"
    assert len(receiver.seen) == 1


def test_credentials_in_the_address_become_basic_auth_and_stay_out_of_the_body(
    receiver: Receiver,
) -> None:
    address = receiver.url("/hook?token=s3cret").replace("http://", "http://crm%40acme:p%3Ass@")
    receipt = notifier().svcflow_deliver(make_delivery(address))
    assert receipt is not None and receipt.detail == f"HTTP 200 from {receiver.url()}"
    (seen,) = receiver.seen
    assert seen.headers["Authorization"] == "Basic Y3JtQGFjbWU6cDpzcw=="  # crm@acme:p:ss
    assert seen.path == "/hook?token=s3cret"
    assert json.loads(seen.body)["recipient"]["address"] == receiver.url("/hook?token=s3cret")
    assert b"p%3Ass" not in seen.body


def test_credentials_configured_per_origin_keep_the_address_clean(receiver: Receiver) -> None:
    origin = receiver.url("").replace("http://", "http://crm%40acme:p%3Ass@")
    configured = WebhookNotifier(SECRET, credentials=[origin, "https://other:x@example.com"])
    configured.svcflow_deliver(make_delivery(receiver.url()))
    notifier().svcflow_deliver(make_delivery(receiver.url()))
    [with_login, without] = receiver.seen
    assert with_login.headers["Authorization"] == "Basic Y3JtQGFjbWU6cDpzcw=="
    assert "Authorization" not in without.headers
    with pytest.raises(ValueError) as caught:
        WebhookNotifier(SECRET, credentials=["https://crm.example.com/?user=x"])
    assert str(caught.value) == (
        "webhook credentials 'https://crm.example.com/' must be a URL with a user name, "
        "like https://user:password@crm.example.com"
    )


class Trickler:
    """A receiver that reads the request, then sends its answer one byte every 0.25 s: each
    read of the sender returns within any per-read timeout, but the whole answer takes 15 s."""

    ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n" + b"x" * 20

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.sent = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve)
        self.thread.start()

    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}/hook"

    def _serve(self) -> None:
        connection, _ = self.listener.accept()
        with connection:
            connection.recv(65536)
            for byte in self.ANSWER:
                if self.stop.wait(0.25):
                    return
                try:
                    connection.sendall(bytes([byte]))
                except OSError:
                    return
                self.sent += 1

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.listener.close()


def test_the_timeout_bounds_the_whole_request_against_a_trickling_receiver() -> None:
    trickler = Trickler()
    url = trickler.url()
    try:
        with pytest.raises(DeliveryFailed) as caught:
            notifier(timeout=1.0).svcflow_deliver(make_delivery(url))
        sent_when_cut = trickler.sent
    finally:
        trickler.close()
    assert str(caught.value) == f"webhook {url} did not answer within 1 s"
    assert 0 < sent_when_cut < len(Trickler.ANSWER) // 2


def test_https_with_a_trusted_certificate(
    certificates: tuple[ssl.SSLContext, ssl.SSLContext],
) -> None:
    server_tls, client_tls = certificates
    with running(Receiver(server_tls)) as receiver:
        receiver.reply = Reply(201, b'{"id": 7}')
        sender = WebhookNotifier(SECRET, ssl_context=client_tls, clock=lambda: NOW)
        receipt = sender.svcflow_deliver(make_delivery(receiver.url()))
    assert receipt == DeliveryReceipt(reference="7", detail=f"HTTP 201 from {receiver.url()}")
    assert receiver.url().startswith("https://")
    assert len(receiver.seen) == 1


def test_https_with_an_untrusted_certificate_is_retried(
    certificates: tuple[ssl.SSLContext, ssl.SSLContext],
) -> None:
    server_tls, _ = certificates
    with running(Receiver(server_tls)) as receiver, pytest.raises(DeliveryFailed) as caught:
        notifier().svcflow_deliver(make_delivery(receiver.url()))
    assert type(caught.value) is DeliveryFailed
    assert str(caught.value) == (
        f"webhook {receiver.url()} could not be reached: TLS failed: the server's certificate "
        "was not accepted (unable to get local issuer certificate)"
    )
    assert receiver.seen == []


def test_a_closed_port_is_retried() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://user:pw@127.0.0.1:{port}/hook?token=s3cret"
    with pytest.raises(DeliveryFailed) as caught:
        notifier().svcflow_deliver(make_delivery(url))
    assert type(caught.value) is DeliveryFailed
    assert str(caught.value) == (
        f"webhook http://127.0.0.1:{port}/hook could not be reached: Connection refused"
    )


@pytest.mark.parametrize(
    ("address", "message"),
    [
        (
            "mailto:crm@example.com",
            "webhook address 'mailto:crm@example.com' is not an http:// or https:// URL",
        ),
        (
            "crm.example.com/hook",
            "webhook address 'crm.example.com/hook' is not an http:// or https:// URL",
        ),
        (
            "http://127.0.0.1:port/hook",
            "webhook address 'http://127.0.0.1:port/hook' is not a "
            "valid URL: Port could not be cast to integer value as 'port'",
        ),
    ],
)
def test_an_unusable_address_is_permanent(address: str, message: str) -> None:
    with pytest.raises(PermanentDeliveryError) as caught:
        notifier().svcflow_deliver(make_delivery(address))
    assert str(caught.value) == message


def test_other_channels_are_left_alone() -> None:
    assert notifier().svcflow_deliver(make_delivery("x", channel="email")) is None
    assert svcflow_webhook.plugin.svcflow_deliver(make_delivery("x", channel="email")) is None


def test_registers_webhook_as_outbound() -> None:
    expected = [ChannelInfo("webhook", outbound=True, description="signed JSON POST to a URL")]
    assert notifier().svcflow_register_channels() == expected
    assert svcflow_webhook.plugin.svcflow_register_channels() == expected


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"secret": ""}, "the webhook secret must not be empty"),
        ({"timeout": 0}, "webhook timeout must be a positive number of seconds, not 0"),
    ],
)
def test_invalid_arguments_fail_at_construction(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        WebhookNotifier(**{"secret": SECRET, **arguments})
    assert str(caught.value) == message


def test_from_env_reads_the_secret_and_timeout(receiver: Receiver) -> None:
    built = WebhookNotifier.from_env(
        {"SVCFLOW_WEBHOOK_SECRET": "from-env", "SVCFLOW_WEBHOOK_TIMEOUT": "1.5"}
    )
    assert built.timeout == 1.5
    assert repr(built) == "WebhookNotifier(timeout=1.5, user_agent='svcflow-webhook/0.1.0')"
    built.svcflow_deliver(make_delivery(receiver.url()))
    (seen,) = receiver.seen
    verify("from-env", seen.body, seen.headers)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "set SVCFLOW_WEBHOOK_SECRET (the secret shared with the receivers)"),
        (
            {"SVCFLOW_WEBHOOK_SECRET": "", "SVCFLOW_WEBHOOK_TIMEOUT": "nan"},
            "set SVCFLOW_WEBHOOK_SECRET (the secret shared with the receivers); "
            "SVCFLOW_WEBHOOK_TIMEOUT='nan' is not a positive number of seconds",
        ),
        (
            {"SVCFLOW_WEBHOOK_SECRET": "s", "SVCFLOW_WEBHOOK_TIMEOUT": "5s"},
            "SVCFLOW_WEBHOOK_TIMEOUT='5s' is not a positive number of seconds",
        ),
    ],
)
def test_from_env_names_the_variables_at_fault(environ: dict[str, str], message: str) -> None:
    with pytest.raises(PermanentDeliveryError) as caught:
        WebhookNotifier.from_env(environ)
    assert str(caught.value) == f"webhook delivery is not configured: {message}"


def test_the_entry_point_plugin_reads_the_environment_at_first_delivery(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from importlib.metadata import entry_points

    (point,) = [p for p in entry_points(group="svcflow") if p.name == "webhook"]
    assert point.value == "svcflow_webhook:plugin"
    lazy = type(point.load())()
    monkeypatch.delenv("SVCFLOW_WEBHOOK_SECRET", raising=False)
    monkeypatch.delenv("SVCFLOW_WEBHOOK_TIMEOUT", raising=False)
    with pytest.raises(PermanentDeliveryError) as caught:
        lazy.svcflow_deliver(make_delivery(receiver.url()))
    assert str(caught.value) == (
        "webhook delivery is not configured: "
        "set SVCFLOW_WEBHOOK_SECRET (the secret shared with the receivers)"
    )
    assert receiver.seen == []
    monkeypatch.setenv("SVCFLOW_WEBHOOK_SECRET", "late")
    lazy.svcflow_deliver(make_delivery(receiver.url()))
    monkeypatch.setenv("SVCFLOW_WEBHOOK_SECRET", "changed")
    lazy.svcflow_deliver(make_delivery(receiver.url()))
    for seen in receiver.seen:
        verify("late", seen.body, seen.headers)
    assert len(receiver.seen) == 2


# -- the receiving side --------------------------------------------------------------------------

BODY = b'{"a":1}'
ID = "C-17:3:2:crm"


def standard_webhooks_accepts(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """A verifier written from the Standard Webhooks specification, sharing no code with the
    plugin: HMAC-SHA256 under the base64-decoded ``whsec_`` secret of ``id.timestamp.body``,
    compared with each space-separated ``v1,<base64>`` signature."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(part, f"v1,{expected}")
        for part in headers["webhook-signature"].split(" ")
    )


def signed(
    body: bytes = BODY, timestamp: str = "1700000000", secret: str = SECRET
) -> dict[str, str]:
    return {
        "webhook-id": ID,
        "webhook-timestamp": timestamp,
        "webhook-signature": sign(secret, ID, timestamp, body),
    }


def test_sign_matches_the_specifications_test_vector() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    assert sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == (
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_a_secret_without_the_prefix_is_used_as_its_utf8_bytes() -> None:
    as_standard = "whsec_" + base64.b64encode("密钥".encode()).decode()
    assert sign("密钥", ID, 1, BODY) == sign(as_standard, ID, 1, BODY)
    assert sign("密钥".encode(), ID, 1, BODY) == sign(as_standard, ID, 1, BODY)
    with pytest.raises(ValueError) as caught:
        sign("whsec_not base64!", ID, 1, BODY)
    assert str(caught.value) == "a webhook secret starting with 'whsec_' must continue in base64"


@pytest.mark.parametrize("now", [1_700_000_000.0, 1_700_000_300.0, 1_699_999_700.0])
def test_verify_accepts_within_the_tolerance_and_returns_the_id(now: float) -> None:
    assert verify(SECRET, BODY, signed(), now=now) == ID


def test_verify_accepts_any_one_matching_signature_and_any_header_case() -> None:
    headers = signed()
    headers["webhook-signature"] = f"v1,AAAA {headers['webhook-signature']} v2,BBBB"
    upper = {name.upper(): value for name, value in headers.items()}
    assert verify(SECRET, BODY, upper, now=1_700_000_000.0) == ID


def _without(name: str) -> dict[str, str]:
    return {key: value for key, value in signed().items() if key != name}


@pytest.mark.parametrize(
    ("body", "headers", "now", "message"),
    [
        (BODY, _without("webhook-signature"), 1e9, "missing webhook-signature header"),
        (
            BODY,
            {"webhook-timestamp": "1700000000"},
            1e9,
            "missing webhook-id and webhook-signature header",
        ),
        (
            BODY,
            {**signed(), "webhook-timestamp": "2026-03-02T09:20:00Z"},
            1_700_000_000.0,
            "malformed webhook-timestamp header '2026-03-02T09:20:00Z': "
            "expected Unix time in whole seconds",
        ),
        (
            b'{"a":2}',
            signed(),
            1_700_000_000.0,
            "no webhook-signature matches the id, timestamp and body: the request was "
            "altered, or the sender uses a different secret",
        ),
        (
            BODY,
            {**signed(), "webhook-id": "C-17:3:2:other"},
            1_700_000_000.0,
            "no webhook-signature matches the id, timestamp and body: the request was "
            "altered, or the sender uses a different secret",
        ),
        (
            BODY,
            {**signed(), "webhook-timestamp": "1700000001"},
            1_700_000_000.0,
            "no webhook-signature matches the id, timestamp and body: the request was "
            "altered, or the sender uses a different secret",
        ),
        (
            BODY,
            signed(),
            1_700_000_301.0,
            "webhook-timestamp is 301 s old, more than the tolerance of 300 s: "
            "a replayed request, or the sender's clock is behind",
        ),
        (
            BODY,
            signed(),
            1_699_999_599.5,
            "webhook-timestamp is 400.5 s in the future, more than the tolerance of 300 s: "
            "the sender's clock is ahead",
        ),
    ],
)
def test_verify_says_what_is_wrong(
    body: bytes, headers: dict[str, str], now: float, message: str
) -> None:
    with pytest.raises(InvalidSignature) as caught:
        verify(SECRET, body, headers, now=now)
    assert str(caught.value) == message


def test_verify_with_another_secret_or_tolerance() -> None:
    with pytest.raises(InvalidSignature) as caught:
        verify("other", BODY, signed(), now=1_700_000_000.0)
    assert str(caught.value).startswith("no webhook-signature matches")
    with pytest.raises(InvalidSignature) as caught:
        verify(SECRET, BODY, signed(), now=1_700_000_061.0, tolerance=60)
    assert str(caught.value) == (
        "webhook-timestamp is 61 s old, more than the tolerance of 60 s: "
        "a replayed request, or the sender's clock is behind"
    )
    assert issubclass(InvalidSignature, SvcflowError)
