"""``POST /channels/{channel}`` over real HTTP: the raw body to ``ingest``, a plugin's signature
check before anything is stored, rejected messages kept as dead letters, and the body limit."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.serving import running
from svcflow import Engine, ManualClock, hookimpl, load_workflow_text
from svcflow.hooks.types import ChannelInfo, InboundMessage
from svcflow.serve import ServeSettings, TokenFile, create_app

SECRET = b"shared-with-the-gateway"
INTAKE = """\
workflow: texts
version: 1
title: Text messages
data:
  customer: {type: string, required: true}
  summary: string
  replies: {type: integer, default: 0}
states:
  open: {initial: true}
  closed: {final: true}
transitions:
  - trigger: customer_replied
    from: open
    actions: [{set: {replies: {expr: replies + 1}}}]
  - {trigger: close, from: open, to: closed}
intake:
  start: [complaint, message]
  data:
    customer: message.sender
    summary: message.body
  reply: customer_replied
"""


class SignedGateway:
    """Owns channel ``gateway``: JSON texts signed with HMAC-SHA256 of the body."""

    @hookimpl
    def svcflow_register_channels(self) -> list[ChannelInfo]:
        return [ChannelInfo("gateway", inbound=True)]

    @hookimpl
    def svcflow_parse_message(self, channel: str, raw: Any) -> InboundMessage | None:
        payload = json.loads(raw)
        return InboundMessage(
            channel="gateway",
            message_id=payload["id"],
            sender=payload["from"],
            body=payload["text"],
            thread_refs=(f"gateway:{payload['from']}",),
        )

    @hookimpl
    def svcflow_verify_request(
        self, channel: str, body: bytes, headers: dict[str, str], url: str
    ) -> bool | None:
        expected = hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(headers.get("x-signature", ""), expected)


def signed(payload: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    return body, {"X-Signature": hmac.new(SECRET, body, hashlib.sha256).hexdigest()}


@pytest.fixture
def engine(tmp_path: Path, clock: ManualClock) -> Iterator[Engine]:
    workflow = load_workflow_text(INTAKE, "texts.yaml")
    store = f"sqlite:///{tmp_path / 'cases.db'}"
    with Engine([workflow], store, clock, plugins=[SignedGateway()], load_plugins=False) as engine:
        yield engine


@pytest.fixture
def client(engine: Engine, tmp_path: Path) -> Iterator[httpx.Client]:
    tokens = TokenFile(tmp_path / "tokens.json")
    secret = tokens.create("gateway", ["ingest"]).secret
    app = create_app(
        engine, tokens=tokens, settings=ServeSettings(max_body_bytes=100, max_message_bytes=2000)
    )
    with (
        running(app) as url,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {secret}"}) as client,
    ):
        yield client


def test_a_signed_message_starts_a_case_and_a_reply_joins_it(
    client: httpx.Client, engine: Engine
) -> None:
    body, headers = signed({"id": "m1", "from": "+8613800138000", "text": "parcel late"})
    answer = client.post("/channels/gateway", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    first = answer.json()
    assert first["outcome"] == "started"
    assert first["case"]["data"]["summary"] == "parcel late"
    body, headers = signed({"id": "m2", "from": "+8613800138000", "text": "any news?"})
    second = client.post("/channels/gateway", content=body, headers=headers).json()
    assert (second["outcome"], second["case"]["id"]) == ("replied", first["case"]["id"])
    assert second["case"]["data"]["replies"] == 1
    again = client.post("/channels/gateway", content=body, headers=headers).json()
    assert again["outcome"] == "duplicate"


def test_a_bad_signature_is_401_and_nothing_is_stored(client: httpx.Client, engine: Engine) -> None:
    body, _ = signed({"id": "m1", "from": "+8613800138000", "text": "let me in"})
    for headers in ({"X-Signature": "0" * 64}, {}):
        answer = client.post("/channels/gateway", content=body, headers=headers)
        assert answer.status_code == 401
        assert answer.json() == {
            "type": "urn:svcflow:problem:bad-signature",
            "title": "The message signature is not valid",
            "status": 401,
            "detail": "the request's signature is not valid for channel 'gateway' (checked by "
            "its plugin); nothing was stored",
        }
    assert engine.find() == []
    assert engine.dead_letters(None) == []


def test_an_unreadable_message_is_422_and_kept_as_a_dead_letter(
    client: httpx.Client, engine: Engine
) -> None:
    answer = client.post("/channels/sms", content=b'{"id": "SM1", "text": "hi"}')
    assert answer.status_code == 422
    problem = answer.json()
    assert problem["type"] == "urn:svcflow:problem:message-rejected"
    kept = engine.dead_letters()
    assert [letter.id for letter in kept] == [problem["dead_letter_id"]]
    assert kept[0].raw == '{"id": "SM1", "text": "hi"}'
    assert problem["detail"] == (
        f"sms message rejected: {kept[0].error} (kept as dead letter "
        f"#{kept[0].id}; fix the cause and replay it with Engine.replay_dead_letter)"
    )
    assert "'from'" in kept[0].error


def test_an_unknown_channel_is_404_naming_the_channels(client: httpx.Client) -> None:
    answer = client.post("/channels/gatewy", content=b"{}")
    assert answer.status_code == 404
    assert answer.json()["detail"] == (
        "no plugin reads channel 'gatewy'; did you mean 'gateway'? inbound channels: chat, "
        "email, gateway, phone, sms, social, web_form"
    )


def test_a_body_over_the_limit_is_refused_before_the_plugin_sees_it(
    client: httpx.Client, engine: Engine
) -> None:
    body, headers = signed({"id": "m1", "from": "+8613800138000", "text": "x" * 3000})
    answer = client.post("/channels/gateway", content=body, headers=headers)
    assert answer.status_code == 413
    assert answer.json()["detail"] == (
        "the request body is larger than 2000 bytes, the most this server takes "
        "(ServeSettings.max_message_bytes, --max-message); nothing was stored"
    )
    streamed = client.post(
        "/channels/gateway", content=iter([body[:1500], body[1500:]]), headers=headers
    )
    assert streamed.status_code == 413
    assert engine.find() == [] and engine.dead_letters(None) == []


def test_ingest_needs_the_ingest_scope(engine: Engine, tmp_path: Path) -> None:
    tokens = TokenFile(tmp_path / "other.json")
    writer = tokens.create("crm", ["read", "write"]).secret
    body, headers = signed({"id": "m1", "from": "+8613800138000", "text": "hello"})
    with running(create_app(engine, tokens=tokens)) as url:
        answer = httpx.post(
            f"{url}/channels/gateway",
            content=body,
            headers={**headers, "Authorization": f"Bearer {writer}"},
        )
    assert answer.status_code == 403
    assert engine.find() == []


class BrokenGateway(SignedGateway):
    """A signature check that fails with a customer's address in its error text."""

    @hookimpl
    def svcflow_verify_request(
        self, channel: str, body: bytes, headers: dict[str, str], url: str
    ) -> bool | None:
        raise RuntimeError(f"cannot verify li.wei@example.com at {url}: key store down")


def test_a_failing_plugin_is_a_500_with_an_incident_and_no_trace(
    tmp_path: Path, clock: ManualClock
) -> None:
    workflow = load_workflow_text(INTAKE, "texts.yaml")
    tokens = TokenFile(tmp_path / "tokens.json")
    secret = tokens.create("gateway", ["ingest"]).secret
    body, headers = signed({"id": "m1", "from": "+8613800138000", "text": "hello"})
    store = f"sqlite:///{tmp_path / 'cases.db'}"
    with (
        Engine([workflow], store, clock, plugins=[BrokenGateway()], load_plugins=False) as engine,
        running(create_app(engine, tokens=tokens)) as url,
    ):
        answer = httpx.post(
            f"{url}/channels/gateway",
            content=body,
            headers={**headers, "Authorization": f"Bearer {secret}"},
        )
        assert engine.find() == [] and engine.dead_letters(None) == []
    assert answer.status_code == 500
    problem = answer.json()
    assert problem == {
        "type": "urn:svcflow:problem:internal-error",
        "title": "Internal error",
        "status": 500,
        "detail": "the server met an error it did not expect; incident "
        f"{problem['incident']} is in its log",
        "incident": problem["incident"],
    }
    assert "li.wei" not in answer.text and "key store" not in answer.text


def test_a_message_too_large_for_intake_is_kept_cut_short_as_a_dead_letter(
    tmp_path: Path, clock: ManualClock
) -> None:
    from svcflow.messaging.limits import IntakeLimits

    workflow = load_workflow_text(INTAKE, "texts.yaml")
    tokens = TokenFile(tmp_path / "tokens.json")
    secret = tokens.create("gateway", ["ingest"]).secret
    body, headers = signed({"id": "m1", "from": "+8613800138000", "text": "x" * 3000})
    limits = IntakeLimits(max_bytes=1000, kept_bytes=100)
    store = f"sqlite:///{tmp_path / 'cases.db'}"
    with (
        Engine(
            [workflow],
            store,
            clock,
            plugins=[SignedGateway()],
            load_plugins=False,
            intake_limits=limits,
        ) as engine,
        running(create_app(engine, tokens=tokens)) as url,
    ):
        answer = httpx.post(
            f"{url}/channels/gateway",
            content=body,
            headers={**headers, "Authorization": f"Bearer {secret}"},
        )
        [kept] = engine.dead_letters()
    assert answer.status_code == 422
    assert answer.json()["dead_letter_id"] == kept.id
    assert len(kept.raw) == 100
    assert kept.error.startswith(
        "the payload has 3,050 bytes, more than the limit of 1,000 (IntakeLimits.max_bytes); "
    )
