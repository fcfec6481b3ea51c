"""``Engine.ingest``: every channel into one case record; threading, dedupe, classification,
assignment; and nothing dropped: unreadable payloads are kept as dead letters."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from svcflow import Engine, hookimpl
from svcflow.clock import ManualClock
from svcflow.errors import MessageRejected
from svcflow.hooks.types import (
    MESSAGE_FIELDS,
    Assignment,
    CaseLookup,
    Classification,
    InboundMessage,
)
from svcflow.testing import CapturedDeliveries, EngineFactory, InlinePlugins

INTAKE = """\
workflow: complaint_intake
version: 1
title: Complaint intake
data:
  customer: {type: string, required: true}
  channel: string
  summary: string
  category: string
  sentiment: {type: number, default: 0}
  queue: string
  assignee: string
  replies: {type: integer, default: 0}
  escalated: {type: boolean, default: false}
states:
  received: {initial: true}
  waiting_on_customer: {}
  closed: {final: true}
transitions:
  - {trigger: ask, from: received, to: waiting_on_customer}
  - trigger: customer_replied
    from: waiting_on_customer
    to: received
    actions: [{set: {replies: {expr: replies + 1}}}]
  - trigger: customer_replied
    from: received
    when: sentiment < -0.5
    actions: [{set: {escalated: true}}]
  - {trigger: close, from: "*", to: closed}
intake:
  start: [complaint, message]
  data:
    customer: message.sender
    channel: message.channel
    summary: 'message.subject != "" ? message.subject : message.body'
    category: message.category
    sentiment: message.sentiment
  reply: customer_replied
  payload:
    sentiment: message.sentiment
"""

FIRST_EMAIL = b"""\
From: Ann Lee <ann@example.com>
To: support@shop.example
Subject: My blender arrived broken
Message-ID: <first@example.com>
Date: Mon, 02 Mar 2026 08:55:00 +0000

The jar is cracked. Please send a replacement.
"""


def reply_email(
    message_id: str, body: str, subject: str = "Re: My blender arrived broken"
) -> bytes:
    return (
        f"From: Ann Lee <ann@example.com>\nTo: support@shop.example\nSubject: {subject}\n"
        f"Message-ID: <{message_id}>\nIn-Reply-To: <first@example.com>\n"
        f"References: <first@example.com>\n\n{body}\n"
    ).encode()


@pytest.fixture
def desk(svcflow_engine: EngineFactory) -> Engine:
    return svcflow_engine(INTAKE)


def test_an_email_starts_a_case_and_a_reply_threads_into_it(desk: Engine) -> None:
    first = desk.ingest("email", FIRST_EMAIL)
    assert first.outcome == "started"
    case = first.case
    assert dict(case.data) | {"sentiment": 0} == {
        "customer": "ann@example.com",
        "channel": "email",
        "summary": "My blender arrived broken",
        "category": "product_quality",
        "sentiment": 0,
        "replies": 0,
        "escalated": False,
        "queue": None,
        "assignee": None,
    }
    [started] = desk.history(case.id)
    assert started.actor == "email:ann@example.com"
    desk.fire(case.id, "ask")
    reply = desk.ingest("email", reply_email("second@example.com", "Any news? Thanks."))
    assert (reply.outcome, reply.trigger, reply.case.id) == ("replied", "customer_replied", case.id)
    assert reply.case.state == "received" and reply.case.data["replies"] == 1
    assert [m["message_id"] for m in desk.store.case_messages(case.id)] == [
        "first@example.com",
        "second@example.com",
    ]


def test_each_case_reads_only_its_own_messages(desk: Engine) -> None:
    """The memory store keeps a case's messages by case (no scan of every stored message)."""
    ann = desk.ingest("email", FIRST_EMAIL).case
    other = FIRST_EMAIL.replace(b"ann@example.com", b"bo@example.com").replace(
        b"first@example.com", b"bo-first@example.com"
    )
    bo = desk.ingest("email", other).case
    desk.fire(ann.id, "ask")
    desk.ingest("email", reply_email("second@example.com", "Any news? Thanks."))
    assert bo.id != ann.id
    assert [m["message_id"] for m in desk.store.case_messages(ann.id)] == [
        "first@example.com",
        "second@example.com",
    ]
    assert [m["message_id"] for m in desk.store.case_messages(bo.id)] == ["bo-first@example.com"]
    assert desk.store.case_messages("no-such-case") == []


def test_the_same_message_twice_is_taken_once(desk: Engine) -> None:
    first = desk.ingest("email", FIRST_EMAIL)
    again = desk.ingest("email", FIRST_EMAIL)
    assert again.outcome == "duplicate" and again.case.id == first.case.id
    assert len(desk.find()) == 1
    assert len(desk.history(first.case.id)) == 1


def test_a_reply_the_state_does_not_take_is_recorded_on_the_case(desk: Engine) -> None:
    case = desk.ingest("email", FIRST_EMAIL).case
    calm = desk.ingest("email", reply_email("calm@example.com", "Fine, I can wait."))
    assert calm.outcome == "recorded" and calm.case.id == case.id
    entry = desk.history(case.id)[-1]
    assert entry.kind == "message" and entry.to_state == "received"
    assert entry.details["message_id"] == "calm@example.com"
    assert entry.details["note"].startswith("trigger 'customer_replied' is not allowed for case")
    angry = desk.ingest(
        "email", reply_email("angry@example.com", "This is unacceptable, I am furious!")
    )
    assert angry.outcome == "replied"
    assert angry.case.data["escalated"] is True and angry.case.data["sentiment"] == -1.0


def test_a_reply_to_a_closed_case_starts_a_new_one(desk: Engine) -> None:
    case = desk.ingest("email", FIRST_EMAIL).case
    desk.fire(case.id, "close")
    later = desk.ingest("email", reply_email("later@example.com", "It broke again."))
    assert later.outcome == "started" and later.case.id != case.id
    assert desk.get(case.id).state == "closed"


CHANNEL_PAYLOADS: list[tuple[str, Any, str]] = [
    ("sms", {"id": "SM1", "from": "+86 138 0013 8000", "text": "快递三天没到"}, "+8613800138000"),
    (
        "chat",
        {"conversation_id": "c9", "message_id": "m1", "from": "wx-li", "text": "App crashes"},
        "wx-li",
    ),
    ("web_form", "email=bo%40example.com&message=Refund+please&type=complaint", "bo@example.com"),
    (
        "phone",
        {"call_id": "call-7", "caller": "+4420794600", "started_at": "2026-03-02T08:40:00Z"},
        "+4420794600",
    ),
    (
        "social",
        {"platform": "weibo", "post_id": "p1", "author": "@li", "text": "Worst service ever"},
        "@li",
    ),
]


@pytest.mark.parametrize(("channel", "raw", "sender"), CHANNEL_PAYLOADS)
def test_every_channel_feeds_one_kind_of_case(
    desk: Engine, channel: str, raw: Any, sender: str
) -> None:
    taken = desk.ingest(channel, raw)
    assert taken.outcome == "started"
    assert taken.case.data["customer"] == sender and taken.case.data["channel"] == channel
    [kept] = desk.store.case_messages(taken.case.id)
    assert kept["message_id"] == taken.message.message_id and kept["sender"] == sender
    again = desk.ingest(channel, raw)
    assert (again.outcome, again.case.id) == ("duplicate", taken.case.id)


def test_chat_messages_of_a_conversation_reach_the_same_case(desk: Engine) -> None:
    first = desk.ingest(
        "chat", {"conversation_id": "c9", "message_id": "m1", "from": "u1", "text": "hi"}
    ).case
    desk.fire(first.id, "ask")
    second = desk.ingest(
        "chat", {"conversation_id": "c9", "message_id": "m2", "from": "u1", "text": "order 42"}
    )
    assert second.outcome == "replied" and second.case.id == first.id


BAD_PAYLOADS = [
    (
        "email",
        b"Subject: refund\nTo: support@shop.example\n\nbody",
        "email message rejected: e-mail has no From header (headers found: Subject, To); the "
        "sender's address is required, e.g. 'From: Li Wei <li.wei@example.com>' (kept as dead "
        "letter #{id}; fix the cause and replay it with Engine.replay_dead_letter)",
        ("Subject: refund\nTo: support@shop.example\n\nbody", "bytes-utf8"),
    ),
    (
        "sms",
        '{"id": "SM1", "from": "+8613800138000", "text": ',
        "sms message rejected: SMS payload is not valid JSON: Expecting value at line 1 column "
        "49 (kept as dead letter #{id}; fix the cause and replay it with "
        "Engine.replay_dead_letter)",
        ('{"id": "SM1", "from": "+8613800138000", "text": ', "text"),
    ),
    (
        "web_form",
        {"message": "hi", "name": "Li"},
        "web_form message rejected: web form payload needs 'email' or 'phone' to answer the "
        "customer, and has neither; required fields: message; optional: email, phone, name, "
        "subject, type, category, case_id, submission_id, submitted_at, locale, order_id "
        "(kept as dead letter #{id}; fix the cause and replay it with "
        "Engine.replay_dead_letter)",
        ('{"message": "hi", "name": "Li"}', "json"),
    ),
]


@pytest.mark.parametrize(("channel", "raw", "message", "kept"), BAD_PAYLOADS)
def test_a_malformed_payload_is_a_clear_error_and_a_dead_letter(
    svcflow_engine: EngineFactory,
    channel: str,
    raw: Any,
    message: str,
    kept: tuple[str, str],
) -> None:
    desk = svcflow_engine(INTAKE)
    with pytest.raises(MessageRejected) as caught:
        desk.ingest(channel, raw)
    [letter] = desk.dead_letters()
    assert str(caught.value) == message.format(id=letter.id)
    assert caught.value.dead_letter_id == letter.id
    assert (letter.channel, letter.status) == (channel, "open")
    assert (letter.raw, letter.encoding) == kept
    assert letter.error == caught.value.reason
    assert desk.find() == []
    path = Path(str(desk.store.path))
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM dead_letters").fetchone() == (1,)


def test_an_unknown_channel_and_a_kind_no_workflow_takes_are_dead_letters_too(
    desk: Engine,
) -> None:
    with pytest.raises(MessageRejected) as caught:
        desk.ingest("emial", FIRST_EMAIL)
    assert caught.value.reason == (
        "no plugin reads channel 'emial'; did you mean 'email'? inbound channels: chat, email, "
        "phone, sms, social, web_form"
    )
    with pytest.raises(MessageRejected) as praise:
        desk.ingest("web_form", {"message": "Great help!", "email": "a@b.com", "type": "praise"})
    assert praise.value.reason == (
        "no workflow starts cases from 'praise' messages on channel 'web_form'; workflows and "
        "the kinds they start from: complaint_intake (complaint, message)"
    )
    assert [d.channel for d in desk.dead_letters()] == ["emial", "web_form"]


def test_a_dead_letter_is_replayed_once_its_cause_is_fixed(
    svcflow_engine: EngineFactory,
) -> None:
    desk = svcflow_engine(INTAKE)
    form = {"message": "Lovely staff", "email": "a@b.com", "type": "praise"}
    with pytest.raises(MessageRejected) as caught:
        desk.ingest("web_form", form)
    taken = desk.replay_dead_letter(caught.value.dead_letter_id, workflow="complaint_intake")
    assert taken.outcome == "started" and taken.case.data["summary"] == "Lovely staff"
    assert desk.dead_letters() == []
    [letter] = desk.dead_letters(status=None)
    assert (letter.status, letter.case_id) == ("replayed", taken.case.id)


def test_plugins_classify_match_and_assign(
    svcflow_engine: EngineFactory, svcflow_plugin: InlinePlugins
) -> None:
    class Crm:
        @hookimpl
        def svcflow_classify_message(self, message: InboundMessage) -> Classification:
            return Classification(sentiment=-0.9, tags=("vip",))

        @hookimpl
        def svcflow_choose_assignee(self, message: InboundMessage, workflow: str) -> Assignment:
            queue = "vip_desk" if "vip" in message.tags else "front_line"
            return Assignment(queue=queue, assignee="mei")

        @hookimpl
        def svcflow_match_case(self, message: InboundMessage, lookup: CaseLookup) -> str | None:
            open_cases = lookup.open_cases_of(message.sender)
            return open_cases[0].id if open_cases else None

    svcflow_plugin(Crm(), "crm")
    desk = svcflow_engine(INTAKE)
    first = desk.ingest("email", FIRST_EMAIL)
    assert first.message.tags == ("vip",) and first.message.category == "product_quality"
    assert first.case.data["sentiment"] == -0.9
    assert (first.case.data["queue"], first.case.data["assignee"]) == ("vip_desk", "mei")
    unrelated = desk.ingest("sms", {"id": "S1", "from": "+8613800138000", "text": "hello"}).case
    other = desk.ingest("email", reply_email("new@example.com", "Also", subject="Other topic"))
    assert other.case.id == first.case.id  # the CRM matched by sender, before threading
    assert unrelated.id != first.case.id


def test_the_raw_payload_of_a_dead_letter_is_kept_byte_for_byte(desk: Engine) -> None:
    raw = "From: Li <li@example.com>\nDate: someday\n\n退款".encode("gb18030")
    with pytest.raises(MessageRejected):
        desk.ingest("email", raw)
    [letter] = desk.dead_letters()
    assert letter.encoding == "base64"
    replay_raw: Any = __import__("base64").b64decode(letter.raw)
    assert replay_raw == raw


def test_ingest_on_a_manual_clock_stamps_the_case(desk: Engine, svcflow_clock: ManualClock) -> None:
    svcflow_clock.set("2026-03-02T10:00:00+00:00")
    case = desk.ingest("email", FIRST_EMAIL).case
    assert case.created_at.isoformat() == "2026-03-02T10:00:00+00:00"
    messages = desk.store.case_messages(case.id)
    assert json.dumps(messages[0]["received_at"]) == '"2026-03-02T08:55:00+00:00"'


def test_a_case_started_from_a_message_answers_its_sender_on_that_channel(
    svcflow_engine: EngineFactory, svcflow_captured: CapturedDeliveries
) -> None:
    greeting = INTAKE.replace(
        "  received: {initial: true}",
        "  received:\n    initial: true\n"
        "    on_enter: [{notify: {template: complaint_received, to: customer}}]",
    )
    desk = svcflow_engine(greeting)
    by_mail = desk.ingest("email", FIRST_EMAIL).case
    by_sms = desk.ingest("sms", {"id": "S9", "from": "+8613800138000", "text": "坏了"}).case
    desk.dispatch()
    sent = {d.case_id: (d.channel, d.recipient.address) for d in svcflow_captured.deliveries}
    assert sent == {
        by_mail.id: ("email", "ann@example.com"),
        by_sms.id: ("sms", "+8613800138000"),
    }


def test_a_plugin_failing_during_intake_leaves_a_dead_letter(
    svcflow_engine: EngineFactory, svcflow_plugin: InlinePlugins
) -> None:
    class Flaky:
        @hookimpl(specname="svcflow_classify_message")
        def classify(self, message: InboundMessage) -> Classification:
            raise ConnectionError("sentiment service down")

    svcflow_plugin(Flaky(), "flaky")
    desk = svcflow_engine(INTAKE)
    with pytest.raises(MessageRejected) as caught:
        desk.ingest("email", FIRST_EMAIL)
    assert caught.value.reason == "a plugin failed: ConnectionError: sentiment service down"
    [letter] = desk.dead_letters()
    assert letter.error == caught.value.reason and desk.find() == []


def test_intake_expressions_may_read_every_field_of_a_message() -> None:
    """The names workflow files are checked against are the keys intake expressions get."""
    message = InboundMessage(channel="email", message_id="m1", sender="a@example.com", body="hi")
    assert list(message.as_variables()) == list(MESSAGE_FIELDS)
