"""Escalation chains and quiet hours, end to end on both stores with a manual clock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from svcflow import Engine, ManualClock, load_workflow_text
from svcflow.definitions.calendars import load_calendar_text
from svcflow.sla.escalation import Chain
from test_sla import OFFICE

CHAIN = """\
workflow: escalating
version: 1
title: A complaint that escalates until someone acknowledges it
data:
  customer: {type: string, required: true}
  bumps: {type: integer, default: 0}
states:
  received: {initial: true}
  acknowledged: {}
  resolved: {final: true}
transitions:
  - {trigger: acknowledge, from: received, to: acknowledged}
  - {trigger: resolve, from: [received, acknowledged], to: resolved}
  - {trigger: bump, from: [received, acknowledged], actions: [{set: {bumps: {expr: bumps + 1}}}]}
  - trigger: reply
    from: [received, acknowledged]
    actions: [{notify: {template: progress_update, to: customer}}]
escalations:
  unanswered:
    start: {enter: received}
    stop: {trigger: acknowledge}
    cancel: {enter: resolved}
    repeat: 1
    reescalate_after: 4h
    levels:
      - {after: 15m, notify: team_lead, template: escalation_team_lead}
      - after: 30m
        name: manager
        notify: [service_manager, duty_executive]
        template: escalation_manager
        urgent: true
        fire: bump
quiet_hours: {calendar: office}
"""


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock("2026-03-02T09:00:00+00:00")  # a Monday, the office is open


@pytest.fixture
def engine(clock: ManualClock, store_url: str) -> Iterator[Engine]:
    built = Engine(
        [load_workflow_text(CHAIN, "escalating.yaml")],
        store_url,
        clock,
        calendars=[load_calendar_text(OFFICE, "office.yaml")],
    )
    yield built
    built.close()


def escalations_fired(engine: Engine, case_id: str) -> list[tuple[str, int, int]]:
    return [
        (h.at.strftime("%H:%M"), event["level"], event["round"])
        for h in engine.history(case_id)
        for event in h.details.get("sla", ())
        if event.get("event") == "escalated"
    ]


def test_levels_fire_in_turn_and_the_chain_repeats(engine: Engine, clock: ManualClock) -> None:
    case = engine.start("escalating", {"customer": "c1"})
    clock.set("2026-03-02T12:00:00+00:00")
    engine.advance()
    level_names = [
        event["level_name"]
        for h in engine.history(case.id)
        for event in h.details.get("sla", ())
        if event.get("event") == "escalated"
    ]
    assert level_names == ["team_lead", "manager", "team_lead", "manager"]
    assert escalations_fired(engine, case.id) == [
        ("09:15", 0, 0),
        ("09:45", 1, 0),
        ("10:00", 0, 1),
        ("10:30", 1, 1),
    ]
    assert [(n.template, n.recipients, n.urgent) for n in engine.notifications(case.id)] == [
        ("escalation_team_lead", ("team_lead",), False),
        ("escalation_manager", ("service_manager", "duty_executive"), True),
        ("escalation_team_lead", ("team_lead",), False),
        ("escalation_manager", ("service_manager", "duty_executive"), True),
    ]
    assert engine.get(case.id).data["bumps"] == 2
    assert engine.timers(case.id) == []
    assert engine.advance() == []


def test_acknowledging_stops_the_chain_and_it_reescalates_if_unresolved(
    engine: Engine, clock: ManualClock
) -> None:
    case = engine.start("escalating", {"customer": "c1"})
    clock.set("2026-03-02T09:20:00+00:00")
    engine.fire(case.id, "acknowledge")  # catches up the 09:15 level first
    assert escalations_fired(engine, case.id) == [("09:15", 0, 0)]
    chain = engine.escalations(case.id)["unanswered"]
    assert (chain.status, chain.next_due) == ("acknowledged", at("2026-03-02T13:20:00+00:00"))
    clock.set("2026-03-02T13:40:00+00:00")
    engine.advance()
    assert escalations_fired(engine, case.id) == [("09:15", 0, 0), ("13:35", 0, 0)]
    reescalated = [e["event"] for h in engine.history(case.id) for e in h.details.get("sla", ())]
    assert reescalated == [
        "escalation_started",
        "escalated",
        "escalation_stopped",
        "reescalated",
        "escalated",
    ]


def test_resolving_cancels_the_chain(engine: Engine, clock: ManualClock) -> None:
    case = engine.start("escalating", {"customer": "c1"})
    clock.set("2026-03-02T09:10:00+00:00")
    engine.fire(case.id, "resolve")
    assert engine.timers(case.id) == []
    assert engine.escalations(case.id)["unanswered"].status == "stopped"
    clock.set("2026-03-03T09:00:00+00:00")
    assert engine.advance() == []
    assert engine.notifications(case.id) == []


def test_quiet_hours_hold_non_urgent_notices_until_the_office_opens(
    engine: Engine, clock: ManualClock
) -> None:
    clock.set("2026-03-07T10:00:00+00:00")  # Saturday: the office is closed
    case = engine.start("escalating", {"customer": "c1"})
    engine.fire(case.id, "reply")
    clock.set("2026-03-07T10:45:00+00:00")
    engine.advance()
    held = [(n.template, n.urgent, n.deliver_after) for n in engine.notifications(case.id)]
    monday_nine = at("2026-03-09T09:00:00+00:00")
    assert held == [
        ("progress_update", False, monday_nine),
        ("escalation_team_lead", False, monday_nine),
        ("escalation_manager", True, None),  # urgent: goes at once
    ]


def test_delays_count_business_time_on_the_chains_calendar(clock: ManualClock) -> None:
    workflow = CHAIN.replace("    repeat: 1\n", "    repeat: 1\n    calendar: office\n")
    clock.set("2026-03-06T17:50:00+00:00")  # Friday, ten minutes before closing
    with Engine(
        [load_workflow_text(workflow, "escalating.yaml")],
        "memory://",
        clock,
        calendars=[load_calendar_text(OFFICE, "office.yaml")],
    ) as engine:
        case = engine.start("escalating", {"customer": "c1"})
        assert engine.escalations(case.id)["unanswered"].next_due == at("2026-03-09T09:05:00+00:00")


def test_an_event_after_an_outage_first_fires_every_overdue_level_in_turn(
    engine: Engine, clock: ManualClock
) -> None:
    case = engine.start("escalating", {"customer": "c1"})
    clock.set("2026-03-02T10:40:00+00:00")  # no runner advanced meanwhile
    engine.fire(case.id, "acknowledge")
    assert escalations_fired(engine, case.id) == [
        ("09:15", 0, 0),
        ("09:45", 1, 0),
        ("10:00", 0, 1),
        ("10:30", 1, 1),
    ]
    assert engine.history(case.id)[-1].trigger == "acknowledge"


@pytest.mark.parametrize(
    ("chain", "stored"),
    [
        (
            Chain("running", 2, 1, datetime(2026, 3, 2, 9, 30, tzinfo=UTC)),
            {"status": "running", "round": 2, "level": 1, "next_due": "2026-03-02T09:30:00+00:00"},
        ),
        (
            Chain(
                "acknowledged", 1, 3, datetime(2026, 3, 2, 17, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
            ),
            {
                "status": "acknowledged",
                "round": 1,
                "level": 3,
                "next_due": "2026-03-02T17:30:00+08:00",
            },
        ),
        (
            Chain("stopped", 0, 4, None),
            {"status": "stopped", "round": 0, "level": 4, "next_due": None},
        ),
    ],
)
def test_a_chain_is_stored_as_plain_json_and_read_back_the_same(
    chain: Chain, stored: dict[str, object]
) -> None:
    """What a SQLite or PostgreSQL store keeps and hands back after a restart: plain JSON."""
    written = json.loads(json.dumps(chain.to_json()))
    assert written == stored
    assert Chain.from_json(written) == chain
    assert Chain.from_json(chain.to_json()) == chain
