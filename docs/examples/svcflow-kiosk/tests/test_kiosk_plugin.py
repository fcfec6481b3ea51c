"""The kiosk channel end to end: a kiosk's post starts a case, the reply lands in the display
queue, a redelivery replaces it, bad payloads are dead letters, and svcflow finds the package
through its entry point. ``docs/plugin-guide.md`` quotes this file verbatim."""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import svcflow_kiosk
from svcflow_kiosk import CHANNEL, SPOOL_ENV, KioskChannel

from svcflow import Engine, hookimpl
from svcflow.cli import main
from svcflow.clock import ManualClock
from svcflow.engine import build_plugin_host
from svcflow.errors import DeliveryFailed, MessageRejected, PluginError
from svcflow.hooks.types import Delivery, DeliveryReceipt, InboundMessage
from svcflow.testing import CapturedDeliveries, EngineFactory, InlinePlugins, assert_erased

FEEDBACK = """\
workflow: kiosk_feedback
version: 1
title: Branch kiosk feedback
data:
  customer: {type: string, required: true}
  branch: {type: string, required: true}
  kiosk_id: string
  rating: integer
  summary: string
  answer: string
  follow_ups: {type: integer, default: 0}
states:
  received: {initial: true}
  answered:
    on_enter:
      - notify: {template: kiosk_reply, to: customer, channel: kiosk}
  closed: {final: true}
transitions:
  - {trigger: answer, from: received, to: answered}
  - trigger: customer_wrote_again
    from: [received, answered]
    actions: [{set: {follow_ups: {expr: follow_ups + 1}}}]
  - {trigger: close, from: answered, to: closed}
intake:
  start: [complaint, message]
  data:
    customer: message.sender
    branch: message.fields.branch
    kiosk_id: message.fields.kiosk_id
    rating: message.fields.rating
    summary: message.body
  reply: customer_wrote_again
"""

TEMPLATES = {
    "en/kiosk_reply.kiosk.j2": (
        "{% block subject %}Your feedback at {{ case.data.branch }}{% endblock %}\n"
        "{% block body %}{{ case.data.answer }}{% endblock %}\n"
    ),
    "zh-CN/kiosk_reply.kiosk.j2": (
        "{% block subject %}{{ case.data.branch }}：您的反馈{% endblock %}\n"
        "{% block body %}{{ case.data.answer }}{% endblock %}\n"
    ),
}

ANSWER = {"answer": "We found your card: collect it at counter 2 with your ID."}

COMPLAINT = {
    "kiosk_id": "BJ-03",
    "branch": "Beijing Chaoyang",
    "submission_id": 1041,
    "text": "The queue machine swallowed my card and nobody came to help.",
    "phone": "+86 138-0013-8000",
    "rating": 1,
    "submitted_at": "2026-03-02T16:55:00+08:00",
    "locale": "en",
}


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    folder = tmp_path / "kiosk-display"
    folder.mkdir()
    return folder


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    folder = tmp_path / "templates"
    for name, text in TEMPLATES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def case_ids() -> Iterator[str]:
    number = 0
    while True:
        number += 1
        yield f"C-{number}"


@pytest.fixture
def desk(svcflow_engine: EngineFactory, templates: Path, spool: Path) -> Engine:
    return svcflow_engine(
        FEEDBACK,
        templates=templates,
        plugins=[("kiosk", KioskChannel(spool))],
        id_factory=case_ids().__next__,
    )


def queued(spool: Path) -> dict[str, dict[str, Any]]:
    """The display queue as a kiosk sees it: every ``*.json`` entry, by file name."""
    return {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(spool.glob("*.json"))
    }


# -- parsing: the plugin on its own ---------------------------------------------------------------


def test_a_kiosk_payload_becomes_an_inbound_message() -> None:
    message = KioskChannel().svcflow_parse_message("kiosk", COMPLAINT)
    assert message == InboundMessage(
        channel="kiosk",
        message_id="BJ-03:1041",
        sender="+8613800138000",
        body="The queue machine swallowed my card and nobody came to help.",
        received_at=datetime(2026, 3, 2, 8, 55, tzinfo=UTC),
        kind="complaint",
        thread_refs=("sms:+8613800138000", "phone:+8613800138000"),
        locale="en",
        fields={
            "branch": "Beijing Chaoyang",
            "kiosk_id": "BJ-03",
            "rating": 1,
            "submission_id": "1041",
        },
    )
    assert KioskChannel().svcflow_parse_message("sms", COMPLAINT) is None


def test_a_good_rating_without_a_phone_is_a_message_from_the_kiosk() -> None:
    praise = {
        "kiosk_id": "SH-11",
        "branch": "Shanghai Jing'an",
        "submission_id": "a9f2",
        "text": "Friendly staff and a short wait, thank you!",
        "rating": 5,
        "feedback_form": "v2",
    }
    message = KioskChannel().svcflow_parse_message("kiosk", json.dumps(praise).encode())
    assert message is not None
    assert (message.sender, message.kind, message.thread_refs) == ("kiosk:SH-11", "message", ())
    assert message.received_at is None and message.locale is None
    assert message.fields["rating"] == 5 and message.fields["feedback_form"] == "v2"


# -- end to end: ingest, answer, dispatch, the display queue --------------------------------------


def test_a_submission_starts_a_case_and_the_answer_waits_in_the_display_queue(
    desk: Engine, spool: Path, svcflow_clock: ManualClock, svcflow_captured: CapturedDeliveries
) -> None:
    taken = desk.ingest("kiosk", COMPLAINT)
    assert (taken.outcome, taken.case.id, taken.message.kind) == ("started", "C-1", "complaint")
    assert taken.case.data["customer"] == "+8613800138000"
    assert taken.case.data["branch"] == "Beijing Chaoyang"
    assert taken.case.data["rating"] == 1

    svcflow_clock.advance("20m")
    desk.fire("C-1", "answer", ANSWER, actor="branch-manager")
    assert queued(spool) == {}  # nothing is delivered before dispatch
    report = desk.dispatch()

    assert [entry.key for entry in report.delivered] == ["C-1:2:1:1"]
    assert queued(spool) == {
        "C-1%3A2%3A1%3A1.json": {
            "key": "C-1:2:1:1",
            "case_id": "C-1",
            "recipient": "+8613800138000",
            "name": None,
            "subject": "Your feedback at Beijing Chaoyang",
            "body": "We found your card: collect it at counter 2 with your ID.\n",
            "locale": "en",
            "urgent": False,
            "queued_at": "2026-03-02T09:20:00+00:00",
            "attempt": 1,
        }
    }
    [row] = desk.outbox("C-1")
    assert (row.channel, row.status) == ("kiosk", "delivered")
    assert row.reference == "C-1%3A2%3A1%3A1.json"  # the receipt's reference
    assert svcflow_captured.deliveries == []  # the captured channels do not include kiosk


def test_the_answer_is_in_the_language_the_customer_chose_at_the_kiosk(
    desk: Engine, spool: Path
) -> None:
    case = desk.ingest("kiosk", COMPLAINT | {"locale": "zh-CN"}).case
    desk.fire(case.id, "answer", {"answer": "您的银行卡已找到，请凭身份证到 2 号窗口领取。"})
    desk.dispatch()
    [entry] = queued(spool).values()
    assert (entry["locale"], entry["subject"]) == ("zh-CN", "Beijing Chaoyang：您的反馈")
    assert entry["body"] == "您的银行卡已找到，请凭身份证到 2 号窗口领取。\n"


def test_the_same_submission_posted_twice_is_taken_once(
    svcflow_engine: EngineFactory, svcflow_plugin: InlinePlugins, spool: Path
) -> None:
    svcflow_plugin(KioskChannel(spool), "kiosk")
    engine = svcflow_engine(FEEDBACK)
    first = engine.ingest("kiosk", COMPLAINT)
    again = engine.ingest("kiosk", json.dumps(COMPLAINT))
    assert again.outcome == "duplicate" and again.case.id == first.case.id
    other_kiosk = engine.ingest("kiosk", COMPLAINT | {"kiosk_id": "BJ-04", "phone": None})
    assert other_kiosk.outcome == "started"  # submission ids are only unique per kiosk
    assert len(engine.find()) == 2


def test_a_customer_who_gave_their_phone_continues_the_case_by_sms(desk: Engine) -> None:
    case = desk.ingest("kiosk", COMPLAINT).case
    later = desk.ingest(
        "sms", {"id": "SM77", "from": "+8613800138000", "text": "Any news about my card?"}
    )
    assert (later.outcome, later.case.id) == ("replied", case.id)
    assert later.case.data["follow_ups"] == 1


def answered(engine: Engine) -> str:
    """Ingest the complaint and answer it: one kiosk delivery is due. Returns the case id."""
    case = engine.ingest("kiosk", COMPLAINT).case
    engine.fire(case.id, "answer", ANSWER)
    return case.id


def test_an_erased_customer_leaves_nothing_in_the_display_queue(
    desk: Engine, spool: Path, svcflow_clock: ManualClock
) -> None:
    desk.ingest("kiosk", COMPLAINT)
    desk.ingest("kiosk", {**COMPLAINT, "submission_id": 1042, "phone": "+86 139-0013-9000"})
    svcflow_clock.advance("20m")
    desk.fire("C-1", "answer", ANSWER, actor="branch-manager")
    desk.fire("C-2", "answer", ANSWER, actor="branch-manager")
    desk.dispatch()
    customer = desk.store.case_customer("C-1")
    assert customer is not None and sorted(queued(spool)) == [
        "C-1%3A2%3A1%3A1.json",
        "C-2%3A2%3A1%3A1.json",
    ]

    assert assert_erased(desk, customer).cases == ("C-1",)

    assert sorted(queued(spool)) == ["C-2%3A2%3A1%3A1.json"]  # the other customer's stays


def test_a_redelivery_of_the_same_key_replaces_the_entry(
    svcflow_engine: EngineFactory,
    templates: Path,
    spool: Path,
    svcflow_clock: ManualClock,
) -> None:
    class LostAcknowledgement(KioskChannel):
        """Writes the entry, then fails once as if the dispatcher died before recording it."""

        failed = False

        def write(self, delivery: Delivery) -> DeliveryReceipt:
            receipt = super().write(delivery)
            if not self.failed:
                self.failed = True
                raise DeliveryFailed("the dispatcher lost track after the write")
            return receipt

    engine = svcflow_engine(
        FEEDBACK,
        templates=templates,
        plugins=[("kiosk", LostAcknowledgement(spool))],
        id_factory=case_ids().__next__,
    )
    answered(engine)
    assert engine.dispatch().retrying
    assert [entry["attempt"] for entry in queued(spool).values()] == [1]

    svcflow_clock.advance("30s")
    assert [entry.key for entry in engine.dispatch().delivered] == ["C-1:2:1:1"]

    assert [entry["attempt"] for entry in queued(spool).values()] == [2]  # replaced, not added
    assert sorted(path.name for path in spool.iterdir()) == ["C-1%3A2%3A1%3A1.json"]


# -- malformed payloads: a clear reason and a dead letter -----------------------------------------

KEPT = "(kept as dead letter #{id}; fix the cause and replay it with Engine.replay_dead_letter)"

BAD_PAYLOADS = [
    (
        '{"kiosk_id": "BJ-03", "text": ',
        "kiosk payload is not valid JSON: Expecting value at line 1 column 31",
    ),
    (
        {"kiosk_id": "BJ-03", "branch": "Beijing Chaoyang", "submission_id": 7, "rating": 2},
        "kiosk payload is missing required field 'text'; required fields: kiosk_id, branch, "
        "submission_id, text, rating; optional: phone, submitted_at, locale",
    ),
    (
        COMPLAINT | {"rating": 7},
        "kiosk payload field 'rating' must be from 1 to 5 stars, not 7",
    ),
    (
        COMPLAINT | {"rating": "4"},
        "kiosk payload field 'rating' must be a whole number of stars, not str",
    ),
    (
        COMPLAINT | {"phone": "call me"},
        "kiosk payload field 'phone' is not a phone number: 'call me'; expected '+' and 6 to 15 "
        "digits, e.g. '+8613800138000' (spaces and dashes are allowed)",
    ),
]


@pytest.mark.parametrize(("raw", "reason"), BAD_PAYLOADS)
def test_a_malformed_payload_is_rejected_with_its_reason_and_kept(
    desk: Engine, raw: Any, reason: str
) -> None:
    with pytest.raises(MessageRejected) as caught:
        desk.ingest("kiosk", raw)
    [letter] = desk.dead_letters()
    assert str(caught.value) == f"kiosk message rejected: {reason} {KEPT.format(id=letter.id)}"
    assert (letter.channel, letter.error, letter.status) == ("kiosk", reason, "open")
    assert desk.find() == []


# -- delivery failures: retried, or dead at once --------------------------------------------------


def test_a_missing_display_queue_is_retried_until_it_appears(
    svcflow_engine: EngineFactory, tmp_path: Path, svcflow_clock: ManualClock
) -> None:
    spool = tmp_path / "not-mounted-yet"
    engine = svcflow_engine(FEEDBACK, plugins=[("kiosk", KioskChannel(spool))])
    case_id = answered(engine)
    assert engine.dispatch().retrying
    [row] = engine.outbox(case_id)
    assert row.status == "pending"
    assert row.last_error == (
        f"DeliveryFailed: the kiosk display queue {spool} does not exist (not created yet, or "
        "the branch share is not mounted)"
    )
    spool.mkdir()
    svcflow_clock.advance("30s")
    assert engine.dispatch().delivered
    assert len(queued(spool)) == 1


def unwritable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    def refuse(*args: object, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)  # works even as root
    return tmp_path, "Permission denied"


def a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    path = tmp_path / "display.txt"
    path.write_text("not a directory", encoding="utf-8")
    return path, "Not a directory"


@pytest.mark.parametrize("make", [unwritable, a_file])
def test_a_display_queue_svcflow_cannot_write_to_is_a_permanent_failure(
    svcflow_engine: EngineFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make: Any,
) -> None:
    spool, problem = make(tmp_path, monkeypatch)
    engine = svcflow_engine(FEEDBACK, plugins=[("kiosk", KioskChannel(spool))])
    case_id = answered(engine)
    assert engine.dispatch().dead
    [row] = engine.outbox(case_id)
    assert (row.status, row.attempts) == ("dead", 1)
    assert row.last_error == (
        f"permanent failure: PermanentDeliveryError: cannot write to the kiosk display queue "
        f"{spool}: {problem}; point SVCFLOW_KIOSK_SPOOL at a directory svcflow may write to"
    )


def test_the_spool_is_read_from_the_environment_at_each_delivery(
    svcflow_engine: EngineFactory, spool: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SPOOL_ENV, raising=False)
    engine = svcflow_engine(FEEDBACK, plugins=[("kiosk", KioskChannel())])
    first = answered(engine)
    assert engine.dispatch().dead
    assert engine.outbox(first)[0].last_error == (
        "permanent failure: PermanentDeliveryError: kiosk delivery is not configured: set "
        "SVCFLOW_KIOSK_SPOOL to the kiosk display-queue directory, or pass "
        "KioskChannel(spool=...)"
    )
    monkeypatch.setenv(SPOOL_ENV, str(spool))
    second = engine.ingest("kiosk", COMPLAINT | {"submission_id": 1042, "phone": None}).case
    engine.fire(second.id, "answer", ANSWER)
    assert engine.dispatch().delivered
    assert len(queued(spool)) == 1


# -- the async option -----------------------------------------------------------------------------


class AsyncKioskChannel(KioskChannel):
    """The same channel with an ``async def`` deliver: svcflow awaits it on its own event-loop
    thread, and the blocking file write runs in a worker thread meanwhile."""

    @hookimpl
    async def svcflow_deliver(  # type: ignore[override]  # a sync hook made async
        self, delivery: Delivery
    ) -> DeliveryReceipt | None:
        if delivery.channel != CHANNEL:
            return None
        return await asyncio.to_thread(self.write, delivery)


def test_an_async_deliver_works_the_same(svcflow_engine: EngineFactory, spool: Path) -> None:
    engine = svcflow_engine(FEEDBACK, plugins=[("kiosk", AsyncKioskChannel(spool))])
    case_id = answered(engine)
    assert [entry.case_id for entry in engine.dispatch().delivered] == [case_id]
    assert [entry["case_id"] for entry in queued(spool).values()] == [case_id]


# -- installed: the entry point, blocking, `svcflow plugins` --------------------------------------


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No plugin blocked and no plugins directory, whatever the calling shell set."""
    monkeypatch.delenv("SVCFLOW_DISABLE_PLUGINS", raising=False)
    monkeypatch.delenv("SVCFLOW_PLUGINS_DIR", raising=False)
    return monkeypatch


def test_svcflow_finds_the_installed_package_and_can_block_it(
    environment: pytest.MonkeyPatch,
) -> None:
    host = build_plugin_host()
    [kiosk] = [info for info in host.plugins() if info.name == "kiosk"]
    assert kiosk.source.startswith("entry point of svcflow-kiosk ")
    assert kiosk.hooks == (
        "svcflow_customer_erased",
        "svcflow_deliver",
        "svcflow_parse_message",
        "svcflow_register_channels",
    )
    assert host.get("kiosk") is svcflow_kiosk.plugin
    assert "kiosk" in host.inbound_channels and "kiosk" in host.outbound_channels
    host.close()

    environment.setenv("SVCFLOW_DISABLE_PLUGINS", "kiosk")
    blocked = build_plugin_host()
    assert "kiosk" not in {info.name for info in blocked.plugins()}
    assert "kiosk" not in blocked.inbound_channels
    blocked.close()


def test_svcflow_plugins_shows_the_kiosk_channel(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert (
        f"kiosk  (entry point of svcflow-kiosk {svcflow_kiosk.__version__})\n"
        "  hooks: svcflow_customer_erased, svcflow_deliver, svcflow_parse_message, "
        "svcflow_register_channels\n"
        "  channel kiosk (inbound, outbound): self-service feedback kiosks in branches\n"
    ) in out
    [inbound] = [line for line in out.splitlines() if line.startswith("inbound channels: ")]
    assert "kiosk" in inbound.removeprefix("inbound channels: ").split(", ")


def test_a_host_with_its_own_instance_blocks_the_installed_one(
    environment: pytest.MonkeyPatch, spool: Path, svcflow_clock: ManualClock
) -> None:
    mine = KioskChannel(spool)
    with pytest.raises(PluginError) as caught:
        Engine([], "memory://", svcflow_clock, plugins=[("kiosk", mine)])
    assert str(caught.value) == (
        f"two plugins are named 'kiosk' (entry point of svcflow-kiosk "
        f"{svcflow_kiosk.__version__} and host); plugin names must be unique"
    )
    environment.setenv("SVCFLOW_DISABLE_PLUGINS", "kiosk")
    with Engine([], "memory://", svcflow_clock, plugins=[("branch-kiosk", mine)]) as engine:
        assert engine.plugins.get("kiosk") is None
        assert engine.plugins.get("branch-kiosk") is mine
        assert "kiosk" in engine.plugins.outbound_channels
