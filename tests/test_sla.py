"""SLA clocks end to end: worked examples with their deadlines written out, on real stores."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from svcflow import Engine, ManualClock, WorkflowDefinitionError, load_workflow_text
from svcflow.cli import main
from svcflow.definitions.calendars import load_calendar_text
from test_calendar import CALENDARS, WEEKDAYS_9_TO_6

OFFICE = WEEKDAYS_9_TO_6
OFFICE_MONDAY_OFF = CALENDARS["office-monday-off"]
LUNCH = CALENDARS["lunch"].replace("calendar: lunch", "calendar: office")

SUPPORT = """\
workflow: support
version: 1
title: Support request with SLAs
data:
  customer: {type: string, required: true}
  priority: {type: enum, values: [normal, urgent], default: normal}
  breaches: {type: integer, default: 0}
  escalated: {type: boolean, default: false}
states:
  received: {initial: true}
  open: {}
  waiting: {}
  resolved: {}
  closed: {final: true}
transitions:
  - {trigger: respond, from: received, to: open}
  - {trigger: ask, from: open, to: waiting}
  - {trigger: reply, from: waiting, to: open}
  - {trigger: resolve, from: [open, waiting], to: resolved}
  - {trigger: reopen, from: resolved, to: open}
  - {trigger: close, from: resolved, to: closed}
  - {trigger: reprioritise, from: "*"}
  - {trigger: escalate, from: [received, open, waiting], actions: [{set: {escalated: true}}]}
sla:
  calendar: office
  metrics:
    first_response:
      start: {enter: received}
      stop: {leave: received}
      cancel: {enter: closed}
      targets:
        - {when: 'priority == "urgent"', within: 15m, calendar: 24x7, name: urgent}
        - {within: 4h, name: normal}
      warnings:
        - at: 50%
          actions: [{notify: {template: first_response_warning, to: team_lead}}]
      on_breach:
        - set: {breaches: {expr: breaches + 1}}
        - notify: {template: first_response_breached, to: service_manager, urgent: true}
        - fire: escalate
    resolution:
      start: [{enter: received}, {trigger: reopen}]
      stop: {enter: resolved}
      pause: {enter: waiting}
      resume: {leave: waiting}
      cancel: {enter: closed}
      reopen: continue
      targets: [{within: 8h}]
      warnings: [{before: 1h}]
    rework:
      start: [{enter: received}, {trigger: reopen}]
      stop: {enter: resolved}
      reopen: new_cycle
      targets: [{within: 8h}]
"""


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def engine_for(
    workflow: str, calendar: str, clock: ManualClock, store: str = "memory://"
) -> Engine:
    return Engine(
        [load_workflow_text(workflow, "support.yaml")],
        store,
        clock,
        calendars=[load_calendar_text(calendar, "office.yaml")],
    )


def status(engine: Engine, case_id: str, metric: str) -> dict[str, object]:
    found = {s.metric: s for s in engine.sla(case_id)}[metric]
    return {
        "status": found.status,
        "deadline": found.deadline,
        "elapsed": found.elapsed,
        "remaining": found.remaining,
        "cycle": found.cycle,
    }


# -- worked examples: (calendar, received at, target, expected deadline) ------------------------

WORKED = [
    pytest.param(OFFICE, "2026-03-06T17:50:00+00:00", "2026-03-09T12:50:00+00:00", id="fri-1750"),
    pytest.param(
        OFFICE_MONDAY_OFF,
        "2026-03-06T17:50:00+00:00",
        "2026-03-10T12:50:00+00:00",
        id="monday-holiday",
    ),
    # 11:00 Shanghai (03:00 UTC): 11-12, lunch, 13:00-16:00 → 16:00 local (08:00 UTC)
    pytest.param(LUNCH, "2026-03-02T03:00:00+00:00", "2026-03-02T08:00:00+00:00", id="lunch"),
]


@pytest.mark.parametrize(("calendar", "received", "deadline"), WORKED)
def test_first_response_deadline_in_business_hours(
    calendar: str, received: str, deadline: str, store_url: str
) -> None:
    clock = ManualClock(received)
    with engine_for(SUPPORT, calendar, clock, store_url) as engine:
        case = engine.start("support", {"customer": "c1"})
        found = status(engine, case.id, "first_response")
        assert found["status"] == "running"
        assert found["deadline"] == at(deadline)
        assert found["remaining"] == timedelta(hours=4)
        breach = [t for t in engine.timers(case.id) if t.trigger == "sla:first_response:breach"]
        assert [t.due_at for t in breach] == [at(deadline)]


DST = [
    # zone, start (UTC), 24 h of elapsed time, "1 calendar days" (same local time next day)
    ("Europe/London", "2026-03-28T12:00:00+00:00", "2026-03-29T12:00:00+00:00",
     "2026-03-29T11:00:00+00:00"),
    ("Europe/London", "2026-10-24T11:00:00+00:00", "2026-10-25T11:00:00+00:00",
     "2026-10-25T12:00:00+00:00"),
    ("America/New_York", "2026-03-07T17:00:00+00:00", "2026-03-08T17:00:00+00:00",
     "2026-03-08T16:00:00+00:00"),
    ("America/New_York", "2026-10-31T16:00:00+00:00", "2026-11-01T16:00:00+00:00",
     "2026-11-01T17:00:00+00:00"),
]  # fmt: skip


@pytest.mark.parametrize(("zone", "start", "elapsed_deadline", "calendar_day_deadline"), DST)
def test_clocks_over_dst_nights(
    zone: str, start: str, elapsed_deadline: str, calendar_day_deadline: str
) -> None:
    calendar = f"calendar: office\ntimezone: {zone}\nhours: 24x7\n"
    workflow = SUPPORT.replace(
        "      targets: [{within: 8h}]\n      warnings: [{before: 1h}]",
        "      targets: [{within: 24h}]",
    ).replace("      targets: [{within: 8h}]\n", "      targets: [{within: 1 calendar days}]\n")
    clock = ManualClock(start)
    with engine_for(workflow, calendar, clock) as engine:
        case = engine.start("support", {"customer": "c1"})
        assert status(engine, case.id, "resolution")["deadline"] == at(elapsed_deadline)
        assert status(engine, case.id, "rework")["deadline"] == at(calendar_day_deadline)


def test_business_days_target_counts_whole_business_days() -> None:
    workflow = SUPPORT.replace(
        "      targets: [{within: 8h}]\n      warnings: [{before: 1h}]",
        "      targets: [{within: 3 business days}]",
    )
    clock = ManualClock("2026-03-06T17:50:00+00:00")  # Friday
    with engine_for(workflow, OFFICE, clock) as engine:
        case = engine.start("support", {"customer": "c1"})
        found = status(engine, case.id, "resolution")
        assert found["deadline"] == at("2026-03-11T17:50:00+00:00")  # Wednesday
        assert found["remaining"] == timedelta(hours=27)


def test_two_hour_pause_moves_the_deadline_by_two_business_hours(store_url: str) -> None:
    clock = ManualClock("2026-03-02T09:00:00+00:00")  # Monday
    with engine_for(SUPPORT, OFFICE, clock, store_url) as engine:
        case = engine.start("support", {"customer": "c1"})
        assert status(engine, case.id, "resolution")["deadline"] == at("2026-03-02T17:00:00+00:00")
        clock.set("2026-03-02T09:30:00+00:00")
        engine.fire(case.id, "respond")
        clock.set("2026-03-02T10:00:00+00:00")
        engine.fire(case.id, "ask")
        paused = status(engine, case.id, "resolution")
        assert paused["status"] == "paused"
        assert paused["deadline"] is None
        assert paused["elapsed"] == timedelta(hours=1)
        assert not [t for t in engine.timers(case.id) if t.trigger.startswith("sla:resolution")]
        clock.set("2026-03-02T12:00:00+00:00")
        engine.fire(case.id, "reply")
        resumed = status(engine, case.id, "resolution")
        assert resumed["status"] == "running"
        assert resumed["remaining"] == timedelta(hours=7)
        # 12:00 + 6 h → 18:00 close; 1 h more on Tuesday
        assert resumed["deadline"] == at("2026-03-03T10:00:00+00:00")


def test_priority_raised_after_ten_minutes_leaves_five_minutes(store_url: str) -> None:
    clock = ManualClock("2026-03-02T09:00:00+00:00")
    with engine_for(SUPPORT, OFFICE, clock, store_url) as engine:
        case = engine.start("support", {"customer": "c1"})
        assert status(engine, case.id, "first_response")["deadline"] == at(
            "2026-03-02T13:00:00+00:00"
        )
        clock.set("2026-03-02T09:10:00+00:00")
        engine.fire(case.id, "reprioritise", {"priority": "urgent"})
        found = {s.metric: s for s in engine.sla(case.id)}["first_response"]
        assert (found.target, found.calendar) == ("urgent", "24x7")
        assert found.elapsed == timedelta(minutes=10)
        assert found.remaining == timedelta(minutes=5)
        assert found.deadline == at("2026-03-02T09:15:00+00:00")
        retargeted = [
            e for e in engine.history(case.id)[-1].details["sla"] if e["event"] == "retargeted"
        ]
        assert retargeted == [
            {
                "metric": "first_response",
                "event": "retargeted",
                "at": "2026-03-02T09:10:00+00:00",
                "cycle": 1,
                "target": "urgent",
                "calendar": "24x7",
                "used": "10m",
                "previous": 1,
            }
        ]
        # the 50% warning (7m30s) already passed under the new target: it fires at once, once
        clock.set("2026-03-02T09:20:00+00:00")
        fired = [(f.timer.trigger, f.timer.due_at) for f in engine.advance()]
        assert fired == [
            ("sla:first_response:warning:0", at("2026-03-02T09:10:00+00:00")),
            ("sla:first_response:breach", at("2026-03-02T09:15:00+00:00")),
        ]
        assert engine.advance() == []


def test_breach_runs_its_actions_once_and_fires_a_trigger(store_url: str) -> None:
    clock = ManualClock("2026-03-02T09:00:00+00:00")
    with engine_for(SUPPORT, OFFICE, clock, store_url) as engine:
        case = engine.start("support", {"customer": "c1"})
        clock.set("2026-03-02T14:00:00+00:00")
        fired = engine.advance()
        assert [f.timer.trigger for f in fired] == [
            "sla:first_response:warning:0",
            "sla:first_response:breach",
        ]
        after = engine.get(case.id)
        assert after.data["breaches"] == 1
        assert after.data["escalated"] is True
        breach = fired[1].entry
        assert breach.kind == "sla"
        assert breach.at == at("2026-03-02T13:00:00+00:00")
        assert breach.details["late_by_seconds"] == 3600.0
        assert [e["event"] for e in breach.details["sla"]] == ["breached"]
        assert "fired 'escalate'" in breach.details["notes"]
        templates = [n.template for n in engine.notifications(case.id)]
        assert templates.count("first_response_breached") == 1
        assert templates.count("first_response_warning") == 1
        assert status(engine, case.id, "first_response")["status"] == "breached"
        clock.set("2026-03-02T15:00:00+00:00")
        engine.fire(case.id, "respond")
        assert status(engine, case.id, "first_response")["status"] == "breached"
        assert engine.advance() == []
        assert engine.get(case.id).data["breaches"] == 1


def test_met_when_stopped_in_time() -> None:
    clock = ManualClock("2026-03-02T09:00:00+00:00")
    with engine_for(SUPPORT, OFFICE, clock) as engine:
        case = engine.start("support", {"customer": "c1"})
        clock.set("2026-03-02T09:05:00+00:00")
        engine.fire(case.id, "respond")
        found = status(engine, case.id, "first_response")
        assert (found["status"], found["elapsed"]) == ("met", timedelta(minutes=5))
        assert not [t for t in engine.timers(case.id) if "first_response" in t.trigger]
        events = [e["event"] for e in engine.history(case.id)[-1].details["sla"]]
        assert events == ["met"]


def test_breach_while_paused_never_fires(store_url: str) -> None:
    clock = ManualClock("2026-03-02T09:00:00+00:00")
    with engine_for(SUPPORT, OFFICE, clock, store_url) as engine:
        case = engine.start("support", {"customer": "c1"})
        engine.fire(case.id, "respond")
        engine.fire(case.id, "ask")
        clock.set("2026-03-06T18:00:00+00:00")  # the 8 h target would have passed long ago
        engine.advance()
        history = engine.history(case.id)
        resolution_events = [
            e for h in history for e in h.details.get("sla", ()) if e["metric"] == "resolution"
        ]
        assert [e["event"] for e in resolution_events] == ["started", "paused"]
        found = status(engine, case.id, "resolution")
        assert (found["status"], found["remaining"]) == ("paused", timedelta(hours=8))


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_reopen_continues_one_metric_and_starts_a_new_cycle_of_another(
    store: str, tmp_path: object
) -> None:
    url = "memory://" if store == "memory" else f"sqlite:///{tmp_path}/cases.db"
    clock = ManualClock("2026-03-02T09:00:00+00:00")
    with engine_for(SUPPORT, OFFICE, clock, url) as engine:
        case = engine.start("support", {"customer": "c1"})
        engine.fire(case.id, "respond")
        clock.set("2026-03-02T11:00:00+00:00")
        engine.fire(case.id, "resolve")
        assert status(engine, case.id, "resolution")["status"] == "met"
        clock.set("2026-03-02T14:00:00+00:00")
        engine.fire(case.id, "reopen")
        continued = status(engine, case.id, "resolution")
        assert continued == {
            "status": "running",
            "deadline": at("2026-03-03T11:00:00+00:00"),
            "elapsed": timedelta(hours=2),
            "remaining": timedelta(hours=6),
            "cycle": 1,
        }
        reopened = engine.history(case.id)[-1].details["sla"]
        assert [(e["metric"], e["event"], e["at"], e["used"]) for e in reopened] == [
            ("resolution", "continued", "2026-03-02T14:00:00+00:00", "2h"),
            ("rework", "started", "2026-03-02T14:00:00+00:00", "0s"),
        ]
        fresh = status(engine, case.id, "rework")
        assert (fresh["cycle"], fresh["elapsed"], fresh["deadline"]) == (
            2,
            timedelta(0),
            at("2026-03-03T13:00:00+00:00"),
        )


def test_outage_of_three_days_fires_every_overdue_event_once_in_order(store_url: str) -> None:
    clock = ManualClock("2026-03-02T09:00:00+00:00")
    with engine_for(SUPPORT, OFFICE, clock, store_url) as engine:
        first = engine.start("support", {"customer": "c1"})
        clock.set("2026-03-02T10:00:00+00:00")
        second = engine.start("support", {"customer": "c2", "priority": "urgent"})
        clock.set("2026-03-05T10:00:00+00:00")  # the runner was down for three days
        fired = engine.advance()
        moments = [(f.timer.case_id, f.timer.trigger, f.entry.at) for f in fired]
        assert moments == [
            (second.id, "sla:first_response:warning:0", at("2026-03-02T10:07:30+00:00")),
            (second.id, "sla:first_response:breach", at("2026-03-02T10:15:00+00:00")),
            (first.id, "sla:first_response:warning:0", at("2026-03-02T11:00:00+00:00")),
            (first.id, "sla:first_response:breach", at("2026-03-02T13:00:00+00:00")),
            (first.id, "sla:resolution:warning:0", at("2026-03-02T16:00:00+00:00")),
            (first.id, "sla:resolution:breach", at("2026-03-02T17:00:00+00:00")),
            (first.id, "sla:rework:breach", at("2026-03-02T17:00:00+00:00")),
            (second.id, "sla:resolution:warning:0", at("2026-03-02T17:00:00+00:00")),
            (second.id, "sla:resolution:breach", at("2026-03-02T18:00:00+00:00")),
            (second.id, "sla:rework:breach", at("2026-03-02T18:00:00+00:00")),
        ]
        assert all(f.late_by > timedelta(days=1) for f in fired)
        assert engine.advance() == []
        for case in (first, second):
            breached = [s.metric for s in engine.sla(case.id) if s.status == "breached"]
            assert breached == ["first_response", "resolution", "rework"]


def test_an_event_after_an_unprocessed_deadline_sees_the_breach_first() -> None:
    clock = ManualClock("2026-03-02T09:00:00+00:00")
    with engine_for(SUPPORT, OFFICE, clock) as engine:
        case = engine.start("support", {"customer": "c1"})
        clock.set("2026-03-02T13:30:00+00:00")  # no runner advanced meanwhile
        engine.fire(case.id, "respond")
        kinds = [(h.kind, h.trigger) for h in engine.history(case.id)]
        assert kinds == [
            ("started", None),
            ("sla", "sla:first_response:warning:0"),
            ("sla", "sla:first_response:breach"),
            ("transition", "respond"),
        ]
        assert status(engine, case.id, "first_response")["status"] == "breached"


def test_changed_calendar_recomputes_open_deadlines(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/cases.db"
    clock = ManualClock("2026-03-02T09:00:00+00:00")
    with engine_for(SUPPORT, OFFICE, clock, url) as engine:
        case = engine.start("support", {"customer": "c1"})
        assert status(engine, case.id, "resolution")["deadline"] == at("2026-03-02T17:00:00+00:00")
    clock.set("2026-03-02T10:00:00+00:00")
    mornings_only = OFFICE.replace("09:00-18:00", "09:00-12:00")
    with engine_for(SUPPORT, mornings_only, clock, url) as engine:
        assert engine.recompute_deadlines() == 1
        found = status(engine, case.id, "resolution")
        assert found["elapsed"] == timedelta(hours=1)
        # 8 h from Monday 09:00: 3 h Monday, 3 h Tuesday, 2 h Wednesday
        assert found["deadline"] == at("2026-03-04T11:00:00+00:00")
        assert status(engine, case.id, "first_response")["deadline"] == at(
            "2026-03-03T10:00:00+00:00"
        )
        assert [
            t.due_at for t in engine.timers(case.id) if t.trigger == "sla:resolution:breach"
        ] == [at("2026-03-04T11:00:00+00:00")]
        entry = engine.history(case.id)[-1]
        assert entry.kind == "sla_recomputed"
        assert engine.recompute_deadlines() == 0


def test_unknown_calendar_is_reported_with_its_position() -> None:
    workflow = SUPPORT.replace("  calendar: office\n", "  calendar: ofice\n")
    with pytest.raises(WorkflowDefinitionError) as raised:
        engine_for(workflow, OFFICE, ManualClock("2026-03-02T09:00:00+00:00"))
    assert str(raised.value) == (
        "1 problem in support.yaml\n"
        "support.yaml:25:13: sla.calendar: unknown calendar 'ofice'; did you mean 'office'? "
        "calendars: 24x7, office; calendars are the files with a 'calendar:' id next to the "
        "workflows"
    )


SLA_ERRORS = [
    (
        "        - {within: 4h, name: normal}\n",
        "        - {within: 4h, name: normal}\n        - {within: 1h}\n",
        "support.yaml:34:11: sla.metrics.first_response.targets[2]: targets[1] has no 'when',"
        " so it applies to every case and this target is never chosen; targets are tried in "
        "order, put the catch-all last",
    ),
    (
        "      stop: {leave: received}\n",
        "      stop: {leave: recieved}\n",
        "support.yaml:29:21: sla.metrics.first_response.stop.leave: unknown state 'recieved';"
        " did you mean 'received'? states: closed, open, received, resolved, waiting",
    ),
    (
        "        - fire: escalate\n",
        "        - fire: escalte\n",
        "support.yaml:40:17: sla.metrics.first_response.on_breach[2].fire: unknown trigger "
        "'escalte'; did you mean 'escalate'? triggers: ask, close, escalate, reopen, reply, "
        "reprioritise, resolve, respond",
    ),
    (
        "      warnings: [{before: 1h}]\n",
        "      warnings: [{before: 1h, at: 50%}]\n",
        "support.yaml:49:18: sla.metrics.resolution.warnings[0]: a warning has exactly one of"
        " 'at' (e.g. 80%) or 'before' (e.g. 30m)",
    ),
    (
        "      targets: [{within: 8h}]\n      warnings",
        "      targets: [{within: 8 hours}]\n      warnings",
        "support.yaml:48:26: sla.metrics.resolution.targets[0].within: invalid target '8 "
        "hours': write business time (15m, 4h, 1h30m) or a number of days: '3 business days',"
        " '10 calendar days', '8 weeks'",
    ),
    (
        "  - {trigger: respond, from: received, to: open}\n",
        "  - {trigger: respond, from: received, to: open, actions: [{fire: close}]}\n",
        "support.yaml:16:61: transitions[0].actions[0].fire: 'fire' is only for SLA warnings "
        "and breaches; in a transition, move the case with 'to' or schedule the trigger with "
        "'schedule'",
    ),
    (
        "      start: {enter: received}\n      stop: {leave: received}",
        "      start: {when: priority}\n      stop: {leave: received}",
        "support.yaml:28:21: sla.metrics.first_response.start.when: a condition must be true "
        "or false, but `priority` gives a string; compare it, e.g. `priority == ...`",
    ),
]


@pytest.mark.parametrize(("old", "new", "message"), SLA_ERRORS)
def test_sla_definition_errors_name_the_place_and_the_fix(old: str, new: str, message: str) -> None:
    assert old in SUPPORT
    with pytest.raises(WorkflowDefinitionError) as raised:
        load_workflow_text(SUPPORT.replace(old, new, 1), "support.yaml")
    assert str(raised.value) == f"1 problem in support.yaml\n{message}"


SCENARIO = """\
title: Friday evening complaint answered on Monday
workflow: support
start: 2026-03-06T17:50:00Z
case: {customer: c1}
events:
  - at: 1m
    expect: {sla: {first_response: running, resolution: running}}
  - at: 2d15h
    fire: respond
    expect: {state: open, sla: {first_response: met}}
  - at: 3d
    expect: {sla: {first_response: met, resolution: breached}}
"""


def test_a_definitions_directory_holds_workflows_and_the_calendars_they_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "office.yaml").write_text(OFFICE, encoding="utf-8")
    (tmp_path / "support.yaml").write_text(SUPPORT, encoding="utf-8")
    scenario = tmp_path / "friday.scenario"
    scenario.write_text(SCENARIO, encoding="utf-8")
    clock = ManualClock("2026-03-06T17:50:00+00:00")
    with Engine.from_directory(tmp_path, "memory://", clock) as engine:
        case = engine.start("support", {"customer": "c1"})
        assert status(engine, case.id, "first_response")["deadline"] == at(
            "2026-03-09T12:50:00+00:00"
        )
    assert main(["validate", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"ok  {tmp_path / 'office.yaml'}: calendar 'office' (Europe/London)" in out
    assert "workflow 'support' v1, 5 states, 8 transitions, 3 SLA metrics" in out
    assert main(["simulate", str(tmp_path / "support.yaml"), "--scenario", str(scenario)]) == 0
    assert "expectations passed" in capsys.readouterr().out
    (tmp_path / "office.yaml").unlink()
    assert main(["validate", str(tmp_path)]) == 1
    assert "unknown calendar 'office'" in capsys.readouterr().err
    with pytest.raises(WorkflowDefinitionError, match="unknown calendar 'office'"):
        Engine.from_directory(tmp_path, "memory://", clock)


def test_a_changed_calendar_moves_only_the_running_clocks_and_says_from_where(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/cases.db"
    clock = ManualClock("2026-03-02T09:00:00+00:00")
    with engine_for(SUPPORT, OFFICE, clock, url) as engine:
        case = engine.start("support", {"customer": "c1"})
        clock.set("2026-03-02T09:30:00+00:00")
        engine.fire(case.id, "respond")  # first_response met; resolution and rework run on
    clock.set("2026-03-02T10:00:00+00:00")
    mornings_only = OFFICE.replace("09:00-18:00", "09:00-12:00")
    with engine_for(SUPPORT, mornings_only, clock, url) as engine:
        assert engine.recompute_deadlines() == 1
        entry = engine.history(case.id)[-1]
        assert entry.kind == "sla_recomputed"
        # 8 h from Monday 09:00 in mornings: 3 h Monday, 3 h Tuesday, 2 h Wednesday
        assert entry.details["sla"] == [
            {
                "metric": metric,
                "event": "recomputed",
                "at": "2026-03-02T10:00:00+00:00",
                "cycle": 1,
                "target": "8h",
                "calendar": "office",
                "used": "0s",
                "previous_deadline": "2026-03-02T17:00:00+00:00",
            }
            for metric in ("resolution", "rework")
        ]
        assert status(engine, case.id, "resolution")["deadline"] == at("2026-03-04T11:00:00+00:00")
        assert status(engine, case.id, "first_response")["status"] == "met"


def test_a_priority_change_to_a_business_days_target_counts_from_the_clock_start() -> None:
    workflow = SUPPORT.replace(
        "      targets: [{within: 8h}]\n      warnings: [{before: 1h}]",
        "      targets:\n"
        "        - {when: 'priority == \"urgent\"', within: 1 business days}\n"
        "        - {within: 3 business days}",
    )
    clock = ManualClock("2026-03-06T17:50:00+00:00")  # Friday
    with engine_for(workflow, OFFICE, clock) as engine:
        case = engine.start("support", {"customer": "c1"})
        assert status(engine, case.id, "resolution")["deadline"] == at("2026-03-11T17:50:00+00:00")
        clock.set("2026-03-09T10:00:00+00:00")  # Monday
        engine.fire(case.id, "reprioritise", {"priority": "urgent"})
        found = status(engine, case.id, "resolution")
        # one business day from Friday 17:50 is Monday 17:50, whenever the priority changed
        assert found["deadline"] == at("2026-03-09T17:50:00+00:00")
        assert found["elapsed"] == timedelta(hours=1, minutes=10)
