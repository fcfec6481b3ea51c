"""An SLA clock's whole life, event by event: started, paused and resumed, reset into a new
cycle, cancelled, met or breached — including a stop that comes after an unprocessed deadline,
conditions that count only when they become true, warnings that run their own actions, and
timers that no longer apply. Each history event is compared whole."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta, timezone
from typing import Any

import pytest

from support.calendars import OFFICE_LONDON, at, calendar_from
from svcflow import Engine, ManualClock, load_workflow_text
from svcflow.sla.clocks import Clock, SlaPolicy, StepFacts

HANDLING = """\
workflow: handling
version: 1
title: A request whose handling is measured
data:
  customer: {type: string, required: true}
  priority: {type: enum, values: [normal, urgent], default: normal}
  nudged: {type: integer, default: 0}
  late: {type: boolean, default: false}
states:
  open: {initial: true}
  waiting: {}
  done: {}
  withdrawn: {final: true}
transitions:
  - {trigger: ask, from: open, to: waiting}
  - {trigger: reply, from: waiting, to: open}
  - {trigger: finish, from: [open, waiting], to: done}
  - {trigger: withdraw, from: "*", to: withdrawn}
  - {trigger: reassign, from: [open, waiting]}
  - {trigger: reprioritise, from: "*"}
  - {trigger: touch, from: "*"}
sla:
  calendar: office
  metrics:
    handling:
      start: {enter: open}
      stop: {enter: done}
      pause: {enter: waiting}
      resume: {leave: waiting}
      cancel: {enter: withdrawn}
      reset: {trigger: reassign}
      targets: [{within: 4h, name: standard}]
      warnings:
        - at: 50%
          actions: [{set: {nudged: {expr: nudged + 1}}}]
      on_breach: [{set: {late: true}}]
    urgent:
      start: {when: 'priority == "urgent"'}
      stop: {trigger: finish}
      cancel: {when: 'priority == "normal"'}
      targets: [{within: 1h}]
"""

MONDAY = "2026-03-02T09:00:00+00:00"  # the office (Mon-Fri 09:00-18:00, London) is open


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MONDAY)


@pytest.fixture
def engine(clock: ManualClock, store_url: str) -> Iterator[Engine]:
    built = Engine(
        [load_workflow_text(HANDLING, "handling.yaml")],
        store_url,
        clock,
        calendars=[calendar_from(OFFICE_LONDON, "office.yaml")],
    )
    yield built
    built.close()


def office_engine(text: str, name: str, clock: ManualClock, store_url: str) -> Engine:
    """An engine of one workflow on the London office calendar."""
    workflow = load_workflow_text(text, name)
    return Engine(
        [workflow], store_url, clock, calendars=[calendar_from(OFFICE_LONDON, "office.yaml")]
    )


def events(engine: Engine, case_id: str, metric: str = "handling") -> list[dict[str, Any]]:
    return [
        event
        for entry in engine.history(case_id)
        for event in entry.details.get("sla", ())
        if event.get("metric") == metric
    ]


def last_events(engine: Engine, case_id: str) -> list[dict[str, Any]]:
    return list(engine.history(case_id)[-1].details.get("sla", ()))


def handling_timers(engine: Engine, case_id: str) -> list[tuple[str, str]]:
    return sorted(
        (t.trigger, t.due_at.isoformat())
        for t in engine.timers(case_id)
        if t.trigger.startswith("sla:handling")
    )


def record(event: str, at_: str, cycle: int = 1, used: str = "0s", **extra: Any) -> dict[str, Any]:
    return {
        "metric": "handling",
        "event": event,
        "at": at_,
        "cycle": cycle,
        "target": "standard",
        "calendar": "office",
        "used": used,
        **extra,
    }


def test_started_then_paused_and_resumed_with_what_was_used(
    engine: Engine, clock: ManualClock
) -> None:
    case = engine.start("handling", {"customer": "c1"})
    assert events(engine, case.id) == [record("started", "2026-03-02T09:00:00+00:00", budget="4h")]
    assert handling_timers(engine, case.id) == [
        ("sla:handling:breach", "2026-03-02T13:00:00+00:00"),
        ("sla:handling:warning:0", "2026-03-02T11:00:00+00:00"),
    ]
    clock.set("2026-03-02T10:00:00+00:00")
    engine.fire(case.id, "ask")
    assert last_events(engine, case.id) == [
        record("paused", "2026-03-02T10:00:00+00:00", used="1h")
    ]
    assert handling_timers(engine, case.id) == []
    clock.set("2026-03-02T15:30:00+00:00")
    engine.fire(case.id, "reply")
    assert last_events(engine, case.id) == [
        record("resumed", "2026-03-02T15:30:00+00:00", used="1h")
    ]
    # 3 h left from 15:30: 2h30m on Monday, 30 min on Tuesday; the 50% warning (2 h used) is
    # one more business hour away.
    assert handling_timers(engine, case.id) == [
        ("sla:handling:breach", "2026-03-03T09:30:00+00:00"),
        ("sla:handling:warning:0", "2026-03-02T16:30:00+00:00"),
    ]
    [found] = [s for s in engine.sla(case.id) if s.metric == "handling"]
    assert (found.status, found.elapsed, found.remaining) == (
        "running",
        timedelta(hours=1),
        timedelta(hours=3),
    )


def test_cancelled_clock_records_the_event_and_never_breaches(
    engine: Engine, clock: ManualClock
) -> None:
    case = engine.start("handling", {"customer": "c1"})
    clock.set("2026-03-02T09:30:00+00:00")
    engine.fire(case.id, "withdraw")
    assert last_events(engine, case.id) == [
        record("cancelled", "2026-03-02T09:30:00+00:00", used="30m")
    ]
    assert handling_timers(engine, case.id) == []
    [found] = [s for s in engine.sla(case.id) if s.metric == "handling"]
    assert (found.status, found.elapsed, found.deadline) == (
        "cancelled",
        timedelta(minutes=30),
        None,
    )
    clock.set("2026-03-09T09:00:00+00:00")
    assert engine.advance() == []
    assert engine.get(case.id).data["late"] is False


def test_a_clock_cancelled_after_its_breach_reads_cancelled(
    engine: Engine, clock: ManualClock
) -> None:
    case = engine.start("handling", {"customer": "c1"})
    clock.set("2026-03-02T13:30:00+00:00")
    assert [f.timer.trigger for f in engine.advance()] == [
        "sla:handling:warning:0",
        "sla:handling:breach",
    ]
    clock.set("2026-03-02T14:00:00+00:00")
    engine.fire(case.id, "withdraw")
    [found] = [s for s in engine.sla(case.id) if s.metric == "handling"]
    assert (found.status, found.elapsed) == ("cancelled", timedelta(hours=5))
    assert [e["event"] for e in events(engine, case.id)] == [
        "started",
        "warned",
        "breached",
        "cancelled",
    ]
    assert engine.get(case.id).data["late"] is True


def test_a_paused_clock_can_be_cancelled_too(engine: Engine, clock: ManualClock) -> None:
    case = engine.start("handling", {"customer": "c1"})
    clock.set("2026-03-02T09:45:00+00:00")
    engine.fire(case.id, "ask")
    clock.set("2026-03-02T12:00:00+00:00")
    engine.fire(case.id, "withdraw")
    assert last_events(engine, case.id) == [
        record("cancelled", "2026-03-02T12:00:00+00:00", used="45m")
    ]


def test_reset_starts_a_numbered_new_cycle_and_rearms_the_warning(
    engine: Engine, clock: ManualClock
) -> None:
    case = engine.start("handling", {"customer": "c1"})
    clock.set("2026-03-02T11:30:00+00:00")
    assert [f.timer.trigger for f in engine.advance()] == ["sla:handling:warning:0"]
    assert engine.get(case.id).data["nudged"] == 1
    engine.fire(case.id, "reassign")
    assert last_events(engine, case.id) == [
        record("reset", "2026-03-02T11:30:00+00:00", cycle=2, budget="4h")
    ]
    assert handling_timers(engine, case.id) == [
        ("sla:handling:breach", "2026-03-02T15:30:00+00:00"),
        ("sla:handling:warning:0", "2026-03-02T13:30:00+00:00"),
    ]
    clock.set("2026-03-02T12:00:00+00:00")
    engine.fire(case.id, "reassign")
    assert [e["cycle"] for e in last_events(engine, case.id)] == [3]
    [found] = [s for s in engine.sla(case.id) if s.metric == "handling"]
    assert (found.cycle, found.started_at, found.warnings_fired) == (
        3,
        at("2026-03-02T12:00:00+00:00"),
        (),
    )
    clock.set("2026-03-02T14:00:00+00:00")
    fired = engine.advance()
    assert [(f.timer.trigger, f.entry.at) for f in fired] == [
        ("sla:handling:warning:0", at("2026-03-02T14:00:00+00:00"))
    ]
    assert fired[0].entry.details["sla"] == [
        record("warned", "2026-03-02T14:00:00+00:00", cycle=3, used="2h", warning=0)
    ]
    assert engine.get(case.id).data["nudged"] == 2


def test_a_reset_while_paused_begins_the_new_cycle_running(
    engine: Engine, clock: ManualClock
) -> None:
    case = engine.start("handling", {"customer": "c1"})
    engine.fire(case.id, "ask")
    clock.set("2026-03-02T10:00:00+00:00")
    engine.fire(case.id, "reassign")
    # docs/sla.md: a reset begins the new cycle running; the case stays in 'waiting', but
    # entering it (the pause condition) did not happen in this step.
    assert [e["event"] for e in last_events(engine, case.id)] == ["reset"]
    [found] = [s for s in engine.sla(case.id) if s.metric == "handling"]
    assert (found.status, found.cycle, found.deadline) == (
        "running",
        2,
        at("2026-03-02T14:00:00+00:00"),
    )


def test_met_and_breached_as_the_stop_finds_them(engine: Engine, clock: ManualClock) -> None:
    case = engine.start("handling", {"customer": "c1"})
    clock.set("2026-03-02T14:00:00+00:00")
    engine.advance()
    assert engine.get(case.id).data["late"] is True
    engine.fire(case.id, "finish")
    assert last_events(engine, case.id) == [
        record("breached", "2026-03-02T14:00:00+00:00", used="5h")
    ]
    [found] = [s for s in engine.sla(case.id) if s.metric == "handling"]
    assert (found.status, found.breached_at) == ("breached", at("2026-03-02T13:00:00+00:00"))


def test_a_condition_starts_a_clock_when_it_becomes_true_not_while_it_stays_true(
    engine: Engine, clock: ManualClock
) -> None:
    case = engine.start("handling", {"customer": "c1"})
    assert events(engine, case.id, "urgent") == []
    clock.set("2026-03-02T09:10:00+00:00")
    engine.fire(case.id, "reprioritise", {"priority": "urgent"})
    assert [(e["event"], e["cycle"]) for e in events(engine, case.id, "urgent")] == [("started", 1)]
    clock.set("2026-03-02T09:20:00+00:00")
    engine.fire(case.id, "finish")
    clock.set("2026-03-02T09:30:00+00:00")
    engine.fire(case.id, "touch")  # still urgent, but it was already: no new cycle
    engine.fire(case.id, "reprioritise", {"priority": "urgent"})
    assert [(e["event"], e["cycle"]) for e in events(engine, case.id, "urgent")] == [
        ("started", 1),
        ("met", 1),
    ]
    engine.fire(case.id, "reprioritise", {"priority": "normal"})
    clock.set("2026-03-02T09:40:00+00:00")
    engine.fire(case.id, "reprioritise", {"priority": "urgent"})  # newly true again
    assert [(e["event"], e["cycle"]) for e in events(engine, case.id, "urgent")] == [
        ("started", 1),
        ("met", 1),
        ("started", 2),
    ]


def test_a_case_started_with_the_condition_true_starts_the_clock(
    engine: Engine, clock: ManualClock
) -> None:
    case = engine.start("handling", {"customer": "c1", "priority": "urgent"})
    assert [(e["event"], e["at"]) for e in events(engine, case.id, "urgent")] == [
        ("started", "2026-03-02T09:00:00+00:00")
    ]
    clock.set("2026-03-02T09:05:00+00:00")
    engine.fire(case.id, "reprioritise", {"priority": "normal"})  # the cancel condition
    assert [e["event"] for e in events(engine, case.id, "urgent")] == ["started", "cancelled"]


# -- the policy itself: stops after an unprocessed deadline, stale timers ----------------------


@pytest.fixture
def policy(engine: Engine) -> SlaPolicy:
    compiled = engine.registry.get("handling", 1)
    assert compiled.sla is not None
    return compiled.sla


def facts(now: str, *, trigger: str | None = None, entered: str | None = None) -> StepFacts:
    data = {"customer": "c1", "priority": "normal", "nudged": 0, "late": False}
    return StepFacts(trigger, None, entered, entered or "open", data, data, at(now))


def started(policy: SlaPolicy) -> Clock:
    case_start = StepFacts(None, None, "open", "open", None, {"priority": "normal"}, at(MONDAY))
    return policy.apply({}, case_start).clocks["handling"]


def test_a_stop_after_an_unprocessed_deadline_records_the_breach_at_the_deadline(
    policy: SlaPolicy,
) -> None:
    clock = started(policy)
    assert clock.deadline == at("2026-03-02T13:00:00+00:00")
    outcome = policy.apply({"handling": clock}, facts("2026-03-02T14:00:00+00:00", entered="done"))
    stopped = outcome.clocks["handling"]
    assert stopped.outcome() == "breached"
    assert stopped.breached_at == at("2026-03-02T13:00:00+00:00")
    assert outcome.events == [
        record("breached", "2026-03-02T13:00:00+00:00", used="5h"),
        record("breached", "2026-03-02T14:00:00+00:00", used="5h"),
    ]
    # A stop exactly at the deadline is in time.
    outcome = policy.apply({"handling": clock}, facts("2026-03-02T13:00:00+00:00", entered="done"))
    assert outcome.clocks["handling"].outcome() == "met"
    assert [e["event"] for e in outcome.events] == ["met"]


def test_timers_that_no_longer_apply_are_ignored(policy: SlaPolicy) -> None:
    clock = started(policy)
    clocks = {"handling": clock}
    deadline = at("2026-03-02T13:00:00+00:00")
    assert policy.on_timer(clocks, "sla:handling:breach", deadline - timedelta(minutes=1)) is None
    assert policy.on_timer(clocks, "sla:handling:warning:1", deadline) is None
    assert policy.on_timer(clocks, "sla:handling:warning:x", deadline) is None
    assert policy.on_timer(clocks, "sla:nothing:breach", deadline) is None
    assert policy.on_timer({}, "sla:handling:breach", deadline) is None
    breach = policy.on_timer(clocks, "sla:handling:breach", deadline)
    assert breach is not None
    assert breach.event == record("breached", "2026-03-02T13:00:00+00:00", used="4h")
    assert breach.clock.breached_at == deadline
    assert policy.on_timer({"handling": breach.clock}, "sla:handling:breach", deadline) is None
    warning = policy.on_timer(clocks, "sla:handling:warning:0", at("2026-03-02T11:00:00+00:00"))
    assert warning is not None
    assert warning.clock.warned == (0,)
    assert warning.clock.next_due == deadline
    assert policy.on_timer({"handling": warning.clock}, "sla:handling:warning:0", deadline) is None
    paused = policy.apply(clocks, facts("2026-03-02T10:00:00+00:00", entered="waiting"))
    assert policy.on_timer(paused.clocks, "sla:handling:breach", deadline) is None


def test_the_clock_survives_its_json_form(policy: SlaPolicy) -> None:
    clock = started(policy)
    warned = policy.on_timer({"handling": clock}, "sla:handling:warning:0", clock.since)
    assert warned is not None
    assert clock.deadline is not None
    breached = policy.on_timer({"handling": clock}, "sla:handling:breach", clock.deadline)
    paused = policy.apply(
        {"handling": clock}, facts("2026-03-02T10:00:00+00:00", entered="waiting")
    )
    assert breached is not None
    assert paused.clocks["handling"].status == "paused"
    moved = clock._replace(label="urgent", within="2h")
    # moments read from a stored text written elsewhere with an offset (here +08:00), which
    # the memory store then hands back as the very JSON the step wrote
    perth = timezone(timedelta(hours=8))
    abroad = breached.clock._replace(
        started_at=clock.started_at.astimezone(perth),
        since=clock.since.astimezone(perth),
        deadline=clock.deadline.astimezone(perth),
    )
    shapes = (clock, warned.clock, breached.clock, paused.clocks["handling"], moved, abroad)
    for value in shapes:
        assert Clock.from_json(value.to_json()) == value
        # what a SQL store hands back: the JSON text read again, without the record behind it
        assert Clock.from_json(json.loads(json.dumps(value.to_json()))) == value
    read_back = Clock.from_json(abroad.to_json())
    assert read_back.since.isoformat() == "2026-03-02T17:00:00+08:00"
    assert read_back.breached_at == abroad.breached_at == clock.deadline
    assert clock.to_json() == {
        "status": "running",
        "cycle": 1,
        "started_at": "2026-03-02T09:00:00+00:00",
        "target": 0,
        "budget": 14400.0,
        "calendar": "office",
        "used": 0.0,
        "since": "2026-03-02T09:00:00+00:00",
        "warned": [],
        "breached_at": None,
        "deadline": "2026-03-02T13:00:00+00:00",
        "next_due": "2026-03-02T11:00:00+00:00",
    }


CONDITIONS = """\
workflow: conditions
version: 1
title: Clocks on conditions written as lists and reading the state
data:
  customer: {type: string, required: true}
  priority: {type: enum, values: [normal, urgent], default: normal}
  on_hold: {type: boolean, default: false}
states:
  open: {initial: true}
  triage: {}
  done: {final: true}
transitions:
  - {trigger: triage, from: open, to: triage}
  - {trigger: finish, from: triage, to: done}
  - {trigger: update, from: "*"}
  - {trigger: park, from: "*"}
  - {trigger: unpark, from: "*"}
sla:
  calendar: office
  metrics:
    urgent_in_triage:
      start: {when: 'state == "triage" && priority == "urgent"'}
      pause: [{trigger: park}, {when: on_hold}]
      resume: [{trigger: unpark}, {when: '!on_hold'}]
      targets: [{within: 1h}]
"""


def test_conditions_in_lists_and_on_the_state_start_pause_and_resume_a_clock(
    clock: ManualClock, store_url: str
) -> None:
    with office_engine(CONDITIONS, "conditions.yaml", clock, store_url) as engine:
        case = engine.start("conditions", {"customer": "c1"})
        clock.advance(timedelta(minutes=5))
        # the condition reads the state after the step; it becomes true as the priority rises
        engine.fire(case.id, "triage", {"priority": "urgent"})
        clock.advance(timedelta(minutes=10))
        engine.fire(case.id, "update", {"on_hold": True})
        clock.advance(timedelta(minutes=30))
        engine.fire(case.id, "update", {"on_hold": False})
        assert [
            (e["event"], e["at"], e["used"]) for e in events(engine, case.id, "urgent_in_triage")
        ] == [
            ("started", "2026-03-02T09:05:00+00:00", "0s"),
            ("paused", "2026-03-02T09:15:00+00:00", "10m"),
            ("resumed", "2026-03-02T09:45:00+00:00", "10m"),
        ]
        [running] = [s for s in engine.sla(case.id) if s.metric == "urgent_in_triage"]
        assert running.deadline == at("2026-03-02T10:35:00+00:00")


def test_a_later_condition_of_a_list_counts_when_an_earlier_one_read_nothing_that_changed(
    clock: ManualClock, store_url: str
) -> None:
    """A list of conditions holds when any of them does: a step that leaves the first one's
    field as it was still has the second one evaluated."""
    two_whens = CONDITIONS.replace(
        "pause: [{trigger: park}, {when: on_hold}]",
        "pause: [{trigger: park}, {when: on_hold}, {when: 'priority == \"normal\"'}]",
    )
    assert two_whens != CONDITIONS
    with office_engine(two_whens, "conditions.yaml", clock, store_url) as engine:
        case = engine.start("conditions", {"customer": "c1"})
        engine.fire(case.id, "triage", {"priority": "urgent"})
        clock.advance(timedelta(minutes=20))
        engine.fire(case.id, "update", {"priority": "normal"})
        assert [
            (e["event"], e["at"], e["used"]) for e in events(engine, case.id, "urgent_in_triage")
        ] == [
            ("started", "2026-03-02T09:00:00+00:00", "0s"),
            ("paused", "2026-03-02T09:20:00+00:00", "20m"),
        ]


PROMISED = """\
workflow: promised
version: 1
title: A promise measured once it is made, tighter before the promised callback
data:
  customer: {type: string, required: true}
  promised_hours: {type: integer}
  callback_by: {type: datetime}
states:
  open: {initial: true}
  triage: {}
  done: {final: true}
transitions:
  - {trigger: triage, from: open, to: triage}
  - {trigger: finish, from: [open, triage], to: done}
sla:
  calendar: office
  metrics:
    promised:
      start: {when: promised_hours > 0}
      stop: {enter: done}
      targets:
        - {when: 'state == "triage" && now < callback_by', within: 30m, name: before_callback}
        - {within: 2h, name: standard}
"""


def test_a_condition_on_an_unset_field_does_not_hold_and_targets_read_state_and_now(
    clock: ManualClock, store_url: str
) -> None:
    with office_engine(PROMISED, "promised.yaml", clock, store_url) as engine:
        case = engine.start("promised", {"customer": "c1"})  # promised_hours is null
        assert events(engine, case.id, "promised") == []
        clock.advance(timedelta(minutes=5))
        engine.fire(
            case.id, "triage", {"promised_hours": 3, "callback_by": "2026-03-02T12:00:00+00:00"}
        )
        assert [
            (e["event"], e["at"], e["target"]) for e in events(engine, case.id, "promised")
        ] == [("started", "2026-03-02T09:05:00+00:00", "before_callback")]
        [running] = [s for s in engine.sla(case.id) if s.metric == "promised"]
        assert running.deadline == at("2026-03-02T09:35:00+00:00")


CALLBACK = """\
workflow: callback
version: 1
title: A clock that starts once a callback is promised for later, while in triage
data:
  customer: {type: string, required: true}
  callback_by: {type: datetime}
  note: {type: string, default: ""}
states:
  open: {initial: true}
  triage: {}
  closed: {final: true}
transitions:
  - {trigger: triage, from: open, to: triage}
  - {trigger: close, from: triage, to: closed}
  - {trigger: update, from: "*"}
  - {trigger: called, from: "*"}
sla:
  calendar: office
  metrics:
    callback:
      start: {when: 'state == "triage" && now < callback_by'}
      stop: {trigger: called}
      targets: [{within: 1h}]
"""


def test_a_condition_on_the_state_and_the_time_starts_a_clock_only_when_it_becomes_true(
    clock: ManualClock, store_url: str
) -> None:
    with office_engine(CALLBACK, "callback.yaml", clock, store_url) as engine:
        case = engine.start("callback", {"customer": "c1"})
        clock.advance(timedelta(minutes=5))
        engine.fire(case.id, "triage", {"callback_by": "2026-03-02T12:00:00+00:00"})
        clock.advance(timedelta(minutes=5))
        engine.fire(case.id, "called")
        clock.advance(timedelta(minutes=10))
        # the data changes, the condition was already true before this step and still is
        engine.fire(case.id, "update", {"note": "called back"})
        assert [(e["event"], e["at"], e["cycle"]) for e in events(engine, case.id, "callback")] == [
            ("started", "2026-03-02T09:05:00+00:00", 1),
            ("met", "2026-03-02T09:10:00+00:00", 1),
        ]


def test_a_resume_condition_met_while_the_clock_runs_changes_nothing(
    clock: ManualClock, store_url: str
) -> None:
    """``touch`` resumes a paused clock; on a running one it is no resume: the clock keeps
    counting from when it started, its deadline where it was."""
    text = HANDLING.replace(
        "      resume: {leave: waiting}\n", "      resume: [{leave: waiting}, {trigger: touch}]\n"
    )
    with office_engine(text, "handling.yaml", clock, store_url) as engine:
        case = engine.start("handling", {"customer": "c1"})
        clock.set("2026-03-02T10:00:00+00:00")
        engine.fire(case.id, "touch")
        assert events(engine, case.id) == [
            record("started", "2026-03-02T09:00:00+00:00", budget="4h")
        ]
        assert handling_timers(engine, case.id) == [
            ("sla:handling:breach", "2026-03-02T13:00:00+00:00"),
            ("sla:handling:warning:0", "2026-03-02T11:00:00+00:00"),
        ]
        [found] = [s for s in engine.sla(case.id) if s.metric == "handling"]
        assert (found.status, found.elapsed, found.deadline) == (
            "running",
            timedelta(hours=1),
            at("2026-03-02T13:00:00+00:00"),
        )
        engine.fire(case.id, "ask")
        clock.set("2026-03-02T11:00:00+00:00")
        engine.fire(case.id, "touch")
        assert last_events(engine, case.id) == [
            record("resumed", "2026-03-02T11:00:00+00:00", used="1h")
        ]


def test_an_event_first_catches_up_the_earliest_overdue_warning_or_breach(
    clock: ManualClock, store_url: str
) -> None:
    """With no worker running the timers, an event on the case first fires what is overdue:
    the urgent clock's breach (it has no warnings), and of two warnings the first one due,
    although the later one, listed after it, is not due yet."""
    text = HANDLING.replace(
        "      warnings:\n        - at: 50%\n",
        "      warnings:\n        - at: 50%\n"
        "          actions: [{set: {nudged: {expr: nudged + 1}}}]\n        - at: 75%\n",
    )
    assert text != HANDLING
    with office_engine(text, "handling.yaml", clock, store_url) as engine:
        case = engine.start("handling", {"customer": "c1", "priority": "urgent"})
        clock.set("2026-03-02T10:30:00+00:00")
        engine.fire(case.id, "touch")
        clock.set("2026-03-02T11:30:00+00:00")
        engine.fire(case.id, "touch")
        assert [(entry.kind, entry.trigger) for entry in engine.history(case.id)] == [
            ("started", None),
            ("sla", "sla:urgent:breach"),
            ("transition", "touch"),
            ("sla", "sla:handling:warning:0"),
            ("transition", "touch"),
        ]
        assert engine.get(case.id).data["nudged"] == 1
