"""The instant-message first-response workflow as a chat desk runs it.

Beyond its scenarios: real chat payloads through ``Engine.ingest`` on a SQLite file (the automatic
reply with its knowledge-base link, threading, hand-over with context, SMS notices for app
complaints), the team lead's escalation, the templates in every locale, the scenarios through the
real CLI, and the demo plan driving many conversations through the workflow.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.workflows import ROOT, WORKFLOWS
from svcflow import Engine, ManualClock, load_workflow_file
from svcflow.cli import main
from svcflow.core.machine import CompiledWorkflow
from svcflow.demo.im import PLAN
from svcflow.demo.policy import Step
from svcflow.errors import ConditionNotMet, TransitionNotAllowed
from svcflow.messaging.templates import TemplateRenderer
from svcflow.records import ContactPoint
from svcflow.simulate import play_until
from svcflow.sla.words import sla_words

IM = WORKFLOWS / "im_first_response.yaml"
TEMPLATES = WORKFLOWS / "templates"
SCENARIOS = sorted((ROOT / "tests" / "scenarios").glob("im_first_response_*.yaml"))
START = "2026-03-02T09:00:00+00:00"
DIRECTORY = {
    "mei": {"address": "mei@service.example", "name": "Mei"},
    "team_lead": "lead@service.example",
}
TRACKING_ARTICLE = "https://help.example.com/kb/track-your-delivery"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def engine(tmp_path: Path, clock: ManualClock) -> Iterator[Engine]:
    """The shipped workflow and templates on a SQLite file, with the built-in plugins only."""
    with Engine(
        [load_workflow_file(IM)],
        f"sqlite:///{tmp_path / 'im.db'}",
        clock,
        templates=TEMPLATES,
        load_plugins=False,
        directory=DIRECTORY,
    ) as built:
        yield built


def known_app_user(engine: Engine) -> None:
    """Li Wei as the host knows her: her chat id, and the phone number SMS notices go to."""
    engine.customers.add(
        "Li Wei",
        phone="+8613800138000",
        contact_points=[ContactPoint("chat", "user-5521", verified=True)],
        preferred="chat",
    )


def chat(message_id: str, text: str, **extra: Any) -> dict[str, Any]:
    return {
        "conversation_id": "conv-77",
        "message_id": message_id,
        "from": "user-5521",
        "name": "Li Wei",
        "text": text,
        **extra,
    }


def test_a_chat_gets_the_auto_reply_threads_and_is_handed_over_with_its_context(
    engine: Engine, clock: ManualClock
) -> None:
    first = engine.ingest("chat", chat("m-1", "Where is my parcel? The delivery is late."))
    case = first.case
    assert first.outcome == "started"
    assert (case.workflow, case.state, case.data["channel"]) == (
        "im_first_response",
        "bot_answering",
        "chat",
    )
    assert (case.data["category"], case.data["kb_link"]) == ("logistics", TRACKING_ARTICLE)
    [reply] = engine.outbox(case.id)
    assert (reply.template, reply.channel, reply.address, reply.name) == (
        "im_auto_reply",
        "chat",
        "user-5521",
        "Li Wei",
    )
    assert TRACKING_ARTICLE in reply.body

    clock.advance("10s")
    second = engine.ingest("chat", chat("m-2", "I need it before Friday, can a person help?"))
    assert (second.outcome, second.trigger, second.case.id) == (
        "replied",
        "customer_message",
        case.id,
    )
    assert engine.ingest("chat", chat("m-2", "I need it before Friday")).outcome == "duplicate"

    clock.advance("10s")
    summary = "Parcel late; the customer needs it before Friday."
    engine.fire(case.id, "hand_over", {"agent": "mei", "context": summary}, actor="mei")
    rows = {row.template: row for row in engine.outbox(case.id)}
    handed = rows["im_hand_over"]
    assert (handed.address, handed.channel, handed.name) == ("mei@service.example", "email", "Mei")
    assert summary in handed.body
    assert "Where is my parcel?" in handed.body and "can a person help?" in handed.body
    joined = rows["im_agent_joined"]
    assert (joined.channel, joined.address) == ("chat", "user-5521")
    assert "mei" in joined.subject
    statuses = {status.metric: status for status in engine.sla(case.id)}
    assert statuses["first_response"].status == "met"
    assert statuses["first_response"].elapsed == timedelta(seconds=20)


def test_without_a_summary_the_agent_is_handed_the_transcript(engine: Engine) -> None:
    case = engine.ingest("chat", chat("m-1", "My coupon code does not work")).case
    engine.ingest("chat", chat("m-2", "It is code SPRING20"))
    handed = engine.fire(case.id, "hand_over", {"agent": "mei"})
    assert handed.data["context"] == "My coupon code does not work\nIt is code SPRING20"
    [row] = [row for row in engine.outbox(case.id) if row.template == "im_hand_over"]
    assert "My coupon code does not work\nIt is code SPRING20" in row.body


@pytest.mark.parametrize(
    ("app", "channel", "notice_channel"), [("app", "app", "sms"), ("wechat", "chat", "chat")]
)
def test_an_app_complaint_is_kept_informed_by_sms_a_chat_complaint_in_the_chat(
    engine: Engine, app: str, channel: str, notice_channel: str
) -> None:
    known_app_user(engine)
    started = engine.ingest("chat", chat("c-1", "The phone case arrived cracked", app=app))
    case = started.case
    assert (case.data["channel"], case.data["is_complaint"]) == (channel, True)
    engine.fire(case.id, "hand_over", {"agent": "mei"})
    engine.fire(case.id, "log_complaint", {"summary": "Phone case arrived cracked"})
    engine.fire(case.id, "progress", {"progress_note": "A replacement leaves today"})
    engine.fire(case.id, "resolve", {"resolution": "Replacement delivered"})
    closed = engine.fire(case.id, "survey_answered", {"satisfied": True, "score": 4})
    assert (closed.state, closed.data["satisfied"], closed.data["score"]) == ("closed", True, 4)
    sent = [(row.template, row.channel) for row in engine.outbox(case.id)]
    expected = [
        ("im_auto_reply", "chat"),
        ("im_hand_over", "email"),
        ("im_agent_joined", "chat"),
        ("im_complaint_logged", notice_channel),
        ("im_complaint_progress", notice_channel),
    ]
    if channel == "app":
        expected.append(("im_complaint_resolved", "sms"))
    assert sent == [*expected, ("im_survey", "chat")]
    progress = next(
        row for row in engine.outbox(case.id) if row.template == "im_complaint_progress"
    )
    assert "A replacement leaves today" in progress.body
    assert progress.address == ("+8613800138000" if channel == "app" else "user-5521")


def test_an_sms_notice_uses_the_short_sms_text(engine: Engine) -> None:
    known_app_user(engine)
    case = engine.ingest("chat", chat("c-1", "Broken screen on arrival", app="app")).case
    engine.fire(case.id, "hand_over", {"agent": "mei"})
    engine.fire(case.id, "log_complaint")
    [logged] = [row for row in engine.outbox(case.id) if row.template == "im_complaint_logged"]
    assert logged.body == (
        f"Your complaint is registered (case {case.id}). We aim to resolve it within 24 hours "
        "and will text you on progress.\n"
    )


def test_a_chinese_customer_gets_the_reply_in_chinese_with_the_link(engine: Engine) -> None:
    case = engine.ingest("chat", chat("z-1", "快递三天没到", locale="zh-CN")).case
    [reply] = engine.outbox(case.id)
    assert reply.locale == "zh-CN"
    assert "30 秒内" in reply.body and TRACKING_ARTICLE in reply.body


def test_nobody_within_30_seconds_breaches_and_escalates_to_the_team_lead(
    engine: Engine, clock: ManualClock
) -> None:
    case = engine.ingest("chat", chat("m-1", "How do I reset my password?")).case
    play_until(engine, clock, clock.now() + timedelta(seconds=29))
    assert engine.outbox(case.id, status=None)[-1].template == "im_auto_reply"
    play_until(engine, clock, clock.now() + timedelta(seconds=2))
    escalated = [
        event
        for entry in engine.history(case.id)
        for event in entry.details.get("sla", ())
        if event.get("event") == "escalated"
    ]
    assert [(e["escalation"], e["level_name"]) for e in escalated] == [("no_agent", "team_lead")]
    [alert] = [row for row in engine.outbox(case.id) if row.template == "im_no_agent"]
    assert (alert.address, alert.urgent) == ("lead@service.example", True)
    assert "How do I reset my password?" in alert.body
    [first_response] = [s for s in engine.sla(case.id) if s.metric == "first_response"]
    assert first_response.status == "breached"


def test_writing_into_a_chat_closed_for_silence_reopens_it(
    engine: Engine, clock: ManualClock
) -> None:
    case = engine.ingest("chat", chat("m-1", "Can I change my address?")).case
    engine.fire(case.id, "hand_over", {"agent": "mei"})
    play_until(engine, clock, clock.now() + timedelta(minutes=10))
    assert engine.get(case.id).state == "idle"
    clock.advance("2h")
    again = engine.ingest("chat", chat("m-2", "Sorry, I was away. Order 5512."))
    assert (again.outcome, again.case.id, again.case.state) == (
        "replied",
        case.id,
        "awaiting_agent",
    )
    assert again.case.data["reopen_count"] == 1


def notify_templates(node: object) -> set[str]:
    """Every template the workflow file names (notify actions and escalation levels)."""
    if isinstance(node, Mapping):
        own = {str(node["template"])} if "template" in node else set()
        return own.union(*(notify_templates(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(notify_templates(item) for item in node))
    return set()


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_every_template_is_written_in_each_locale(locale: str) -> None:
    names = notify_templates(yaml.safe_load(IM.read_text(encoding="utf-8")))
    assert {"im_auto_reply", "im_hand_over", "im_no_agent", "im_survey"} <= names
    missing = sorted(name for name in names if not (TEMPLATES / locale / f"{name}.j2").is_file())
    assert missing == []


SPARSE_CASE = {
    "customer": "user-1",
    "customer_name": None,
    "channel": "chat",
    "segment": "standard",
    "category": "other",
    "is_complaint": False,
    "question": None,
    "transcript": "",
    "context": "",
    "kb_link": "https://help.example.com/kb",
    "assignee": "mei",
    "summary": None,
    "progress_note": None,
    "resolution": None,
}


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
@pytest.mark.parametrize("channel", ["chat", "sms", "email"])
def test_every_template_renders_without_gaps_when_optional_fields_are_unset(
    locale: str, channel: str
) -> None:
    renderer = TemplateRenderer([TEMPLATES])
    policy = CompiledWorkflow(load_workflow_file(IM)).sla
    assert policy is not None
    names = notify_templates(yaml.safe_load(IM.read_text(encoding="utf-8")))
    for name in sorted(names):
        context = {
            "case": {
                "id": "C-1",
                "workflow": "im_first_response",
                "state": "resolved",
                "data": SPARSE_CASE,
            },
            "recipient": {"name": None, "role": "customer", "address": "user-1"},
            "template": name,
            "urgent": False,
            "now": None,
            "sla": sla_words(policy, {}, locale),
        }
        rendered = renderer.render(name, channel, locale, context)
        assert rendered.locale == locale
        assert "C-1" in rendered.subject + rendered.body, name
        assert "None" not in rendered.subject + rendered.body, name


def test_there_is_a_scenario_for_each_behaviour_and_each_names_the_workflow() -> None:
    assert len(SCENARIOS) >= 5
    for path in SCENARIOS:
        assert yaml.safe_load(path.read_text(encoding="utf-8"))["workflow"] == "im_first_response"


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda path: path.stem)
def test_the_scenario_passes_through_the_cli(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["simulate", str(IM), "--scenario", str(path)])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "expectations passed" in out and "FAIL" not in out


def test_the_demo_plan_gives_the_same_steps_for_the_same_seed() -> None:
    data = {"is_complaint": False, "segment": "standard", "question": "Where is my parcel?"}
    for state in ("bot_answering", "with_agent", "complaint_open", "idle", "resolved"):
        assert PLAN(state, data, random.Random(3)) == PLAN(state, data, random.Random(3))
    assert PLAN("closed", data, random.Random(3)) == []


def drive(
    engine: Engine, clock: ManualClock, cases: int, seed: int
) -> tuple[list[str], Counter[str]]:
    """Start ``cases`` conversations and let the demo plan act on them until all are closed;
    returns the case ids and counts of what happened (a skipped step means the plan and the
    workflow disagree)."""
    rng = random.Random(seed)
    order = itertools.count()
    queue: list[tuple[Any, int, str, Step]] = []
    seen: Counter[str] = Counter()

    def planned(case_id: str, state: str) -> None:
        for step in PLAN(state, engine.get(case_id).data, rng):
            heapq.heappush(queue, (clock.now() + step.after, next(order), case_id, step))

    def run_timers_until(moment: Any) -> None:
        for firing in play_until(engine, clock, moment):
            entry = firing.entry
            if entry.from_state != entry.to_state and entry.to_state is not None:
                planned(entry.case_id, entry.to_state)

    ids = []
    for number in range(cases):
        complaint = rng.random() < 0.3
        data = {
            "customer": f"user-{number}",
            "channel": rng.choice(["chat", "app"]),
            "segment": rng.choice(["vip", "potential", "standard", "standard", "churn_risk"]),
            "is_complaint": complaint,
            "question": "The kettle leaks" if complaint else "Where is my parcel?",
        }
        case = engine.start("im_first_response", data)
        ids.append(case.id)
        seen["complaint" if complaint else "routine"] += 1
        planned(case.id, case.state)
    while queue:
        while queue:
            at, _, case_id, step = heapq.heappop(queue)
            run_timers_until(at)
            assert step.trigger is not None
            before = engine.get(case_id)
            try:
                after = engine.fire(case_id, step.trigger, step.payload, actor=step.actor)
            except (TransitionNotAllowed, ConditionNotMet):
                seen["skipped"] += 1
                continue
            seen[step.trigger] += 1
            if step.trigger == "bot_resolved" and not before.data["is_complaint"]:
                seen["routine_bot_resolved"] += 1
            if after.state != before.state:
                planned(case_id, after.state)
        run_timers_until(clock.now() + timedelta(days=4))  # idle, reopen window, survey expiry
    return ids, seen


def test_the_demo_plan_drives_conversations_the_way_the_brief_describes() -> None:
    clock = ManualClock(START)
    with Engine([load_workflow_file(IM)], "memory://", clock, load_plugins=False) as engine:
        ids, seen = drive(engine, clock, cases=300, seed=11)
        cases = [engine.get(case_id) for case_id in ids]
        first_responses = [
            status.status
            for case in cases
            for status in engine.sla(case.id)
            if status.metric == "first_response" and status.status in ("met", "breached")
        ]
    assert seen["skipped"] == 0
    assert {case.state for case in cases} == {"closed"}
    assert 0.7 <= seen["routine_bot_resolved"] / seen["routine"] <= 0.9
    met = first_responses.count("met") / len(first_responses)
    assert 0.8 <= met < 0.98
    answered = sum(case.data["satisfied"] is not None for case in cases)
    assert 0.6 <= answered / len(cases) <= 0.8
    assert seen["reopen"] > 0 and seen["log_complaint"] > 0 and seen["progress"] > 0
    assert sum(case.data["reopen_count"] for case in cases) == seen["reopen"]
