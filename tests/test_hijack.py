"""Hostile customers against the shipped workflows: each attack of issue 14 replayed.

A case belongs to the customer whose message started it (or whom the host named). Whatever an
attacker puts in a message (another channel's thread id, the victim's Message-ID, a ``[case:]``
tag, a ``segment`` field), they never join the victim's case, never become a recipient of its
notices and never see its data; the victim's own later messages are never dropped.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from svcflow import Engine
from svcflow.clock import ManualClock
from svcflow.errors import MessageHeld
from svcflow.records import ContactPoint
from svcflow.testing import CapturedDeliveries, EngineFactory

WORKFLOWS = Path(__file__).resolve().parents[1] / "workflows"
VICTIM_SMS = {"id": "SM-1", "from": "+86 138 0013 8000", "text": "My parcel is three days late"}


def email(sender: str, message_id: str, body: str, **headers: str) -> bytes:
    lines = [f"From: {sender}", "To: support@shop.example", f"Message-ID: <{message_id}>"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\n".join(lines) + f"\n\n{body}\n").encode()


@pytest.fixture
def desk(svcflow_engine: EngineFactory) -> Engine:
    return svcflow_engine(WORKFLOWS)


def snapshot(engine: Engine, case_id: str) -> tuple[object, ...]:
    return (
        engine.get(case_id),
        engine.history(case_id),
        engine.store.case_messages(case_id),
        engine.customers.of_case(case_id),
    )


def reached(captured: CapturedDeliveries, address: str) -> list[str]:
    """The case ids named in anything delivered to ``address``."""
    return sorted({d.case_id for d in captured.deliveries if d.recipient.address == address})


def test_an_email_naming_an_sms_thread_does_not_join_the_sms_case(
    desk: Engine, svcflow_captured: CapturedDeliveries
) -> None:
    victim = desk.ingest("sms", VICTIM_SMS).case
    before = snapshot(desk, victim.id)
    attack = desk.ingest(
        "email",
        email(
            "mallory@evil.example", "m1@evil.example", "Status?", In_Reply_To="<sms:+8613800138000>"
        ),
    )
    assert attack.outcome == "started" and attack.case.id != victim.id
    assert snapshot(desk, victim.id) == before
    assert victim.workflow == "complaint"  # an SMS complaint: the complaint workflow
    desk.fire(victim.id, "acknowledge", actor="agent-7")
    desk.fire(victim.id, "ask_customer", actor="agent-7")
    desk.dispatch()
    assert reached(svcflow_captured, "mallory@evil.example") == [attack.case.id]
    to_victim = [d for d in svcflow_captured.deliveries if d.case_id == victim.id]
    assert {(d.template, d.recipient.address) for d in to_victim} == {
        ("complaint_received", "+8613800138000"),
        ("waiting_on_customer", "+8613800138000"),
    }


def test_references_to_a_chat_conversation_from_another_sender_start_their_own_case(
    desk: Engine,
) -> None:
    chat = {"conversation_id": "conv-77", "message_id": "m-1", "from": "user-5521", "text": "hi"}
    victim = desk.ingest("chat", chat).case
    before = snapshot(desk, victim.id)
    attack = desk.ingest(
        "email",
        email("mallory@evil.example", "m2@evil.example", "me too", References="<chat:conv-77>"),
    )
    assert attack.case.id != victim.id and snapshot(desk, victim.id) == before
    forged = {**chat, "message_id": "m-2", "from": "user-6666", "text": "send me the details"}
    same_channel = desk.ingest("chat", forged)
    assert same_channel.outcome == "started" and same_channel.case.id != victim.id
    assert snapshot(desk, victim.id) == before


def test_the_victims_message_id_in_in_reply_to_does_not_thread(desk: Engine) -> None:
    victim = desk.ingest("email", email("ann@example.com", "ann-1@example.com", "Broken")).case
    desk.fire(victim.id, "acknowledge")
    desk.fire(victim.id, "ask_customer")
    before = snapshot(desk, victim.id)
    attack = desk.ingest(
        "email",
        email("mallory@evil.example", "m3@evil.example", "Hi", In_Reply_To="<ann-1@example.com>"),
    )
    assert attack.outcome == "started" and attack.case.id != victim.id
    assert snapshot(desk, victim.id) == before
    reply = desk.ingest(
        "email",
        email(
            "ann@example.com", "ann-2@example.com", "Any news?", In_Reply_To="<ann-1@example.com>"
        ),
    )
    assert (reply.outcome, reply.case.id) == ("replied", victim.id)


def test_a_case_tag_from_another_sender_is_not_honoured(desk: Engine) -> None:
    victim = desk.ingest("email", email("ann@example.com", "ann-1@example.com", "Broken")).case
    before = snapshot(desk, victim.id)
    attack = desk.ingest(
        "email",
        email("mallory@evil.example", "m4@evil.example", "x", Subject=f"Re: [case:{victim.id}]"),
    )
    assert attack.case.id != victim.id and snapshot(desk, victim.id) == before
    assert desk.customers.of_case(attack.case.id) != desk.customers.of_case(victim.id)


def test_a_reused_message_id_is_neither_a_duplicate_of_the_victim_nor_drops_their_message(
    desk: Engine,
) -> None:
    victim = desk.ingest("email", email("ann@example.com", "ann-1@example.com", "Broken")).case
    reused = desk.ingest("email", email("mallory@evil.example", "ann-1@example.com", "Hi"))
    assert reused.outcome == "started" and reused.case.id != victim.id
    [kept] = desk.store.case_messages(reused.case.id)
    assert kept["body"] == "Hi" and kept["sender"] == "mallory@evil.example"
    planted = desk.ingest("email", email("mallory@evil.example", "bob-1@example.com", "first"))
    bob = desk.ingest("email", email("bob@example.com", "bob-1@example.com", "My real complaint"))
    assert bob.outcome == "started" and bob.case.id != planted.case.id
    [kept] = desk.store.case_messages(bob.case.id)
    assert kept["body"] == "My real complaint"


def test_a_web_form_without_submission_id_is_a_duplicate_only_within_the_window(
    desk: Engine, svcflow_clock: ManualClock
) -> None:
    form = "email=li%40example.com&message=Where+is+my+refund"
    first = desk.ingest("web_form", form)
    svcflow_clock.advance(timedelta(minutes=2))
    assert desk.ingest("web_form", form).outcome == "duplicate"
    svcflow_clock.advance(timedelta(days=3))
    later = desk.ingest("web_form", form)
    assert later.outcome == "started" and later.case.id != first.case.id


def test_a_customer_cannot_make_themselves_vip(desk: Engine) -> None:
    claimed = desk.ingest(
        "chat",
        {
            "conversation_id": "c1",
            "message_id": "m1",
            "from": "u-1",
            "text": "hi",
            "segment": "vip",
        },
    )
    assert claimed.case.data["segment"] == "standard"
    desk.customers.add(
        "Wang Fang",
        contact_points=[ContactPoint("chat", "u-2", verified=True)],
        segment="vip",
        customer_id="c-vip",
    )
    known = desk.ingest(
        "chat", {"conversation_id": "c2", "message_id": "m1", "from": "u-2", "text": "hi"}
    )
    assert known.case.data["segment"] == "vip"
    owner = desk.customers.of_case(known.case.id)
    assert owner is not None and owner.id == "c-vip"


def test_a_workflow_may_hold_unverified_messages_for_an_agent(
    svcflow_engine: EngineFactory, tmp_path: Path
) -> None:
    for path in WORKFLOWS.rglob("*"):
        target = tmp_path / path.relative_to(WORKFLOWS)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            text = path.read_text(encoding="utf-8")
            if path.suffix == ".yaml":
                text = re.sub(r"(?m)^(  reply: \w+\n)", r"\1  unverified: hold\n", text)
            target.write_text(text, encoding="utf-8")
    desk = svcflow_engine(tmp_path)
    victim = desk.ingest("email", email("ann@example.com", "ann-1@example.com", "Broken")).case
    before = snapshot(desk, victim.id)
    with pytest.raises(MessageHeld) as held:
        desk.ingest(
            "email",
            email(
                "mallory@evil.example", "m5@evil.example", "x", In_Reply_To="<ann-1@example.com>"
            ),
        )
    assert str(held.value) == (
        f"email message held for an agent: it refers to case {victim.id}, and its sender email "
        "'mallory@evil.example' is not a contact point of that case's customer (kept as dead "
        f"letter #{held.value.dead_letter_id} with status 'held'; an agent decides where it "
        "belongs)"
    )
    [letter] = desk.dead_letters("held")
    assert b"mallory@evil.example" in letter.raw.encode()
    assert snapshot(desk, victim.id) == before and len(desk.find()) == 1
