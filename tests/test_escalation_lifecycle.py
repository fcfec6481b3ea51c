"""An escalation chain's whole life: started, escalated level by level, stopped, cancelled,
started again — and the cases a chain must refuse: a second cancel, a start while it already
runs, a timer that no longer stands for the chain's next level. History events are compared
whole, chain states as values."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from support.calendars import at
from svcflow import Engine, ManualClock, load_workflow_text
from svcflow.sla.escalation import Chain, EscalationPolicy

CHAIN = """\
workflow: chained
version: 1
title: A request that escalates while nobody answers
data:
  customer: {type: string, required: true}
  bumps: {type: integer, default: 0}
states:
  received: {initial: true}
  acknowledged: {}
  parked: {}
  resolved: {final: true}
transitions:
  - {trigger: acknowledge, from: received, to: acknowledged}
  - {trigger: park, from: [received, acknowledged], to: parked}
  - {trigger: wake, from: parked, to: received}
  - {trigger: resolve, from: "*", to: resolved}
  - {trigger: nudge, from: "*"}
  - {trigger: drop, from: "*"}
  - {trigger: bump, from: "*", actions: [{set: {bumps: {expr: bumps + 1}}}]}
escalations:
  unanswered:
    start: [{enter: received}, {trigger: nudge}]
    stop: {trigger: acknowledge}
    cancel: [{enter: parked}, {trigger: drop}]
    levels:
      - {after: 15m, notify: team_lead, template: escalation_team_lead}
      - {after: 30m, name: manager, notify: [service_manager], template: escalation_manager,
         fire: bump}
"""

MONDAY = "2026-03-02T09:00:00+00:00"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MONDAY)


def build(text: str, clock: ManualClock, store_url: str) -> Engine:
    return Engine([load_workflow_text(text, "chained.yaml")], store_url, clock)


@pytest.fixture
def engine(clock: ManualClock, store_url: str) -> Iterator[Engine]:
    built = build(CHAIN, clock, store_url)
    yield built
    built.close()


def chain_events(engine: Engine, case_id: str) -> list[dict[str, Any]]:
    return [
        event
        for entry in engine.history(case_id)
        for event in entry.details.get("sla", ())
        if "escalation" in event
    ]


def chain_of(engine: Engine, case_id: str) -> Chain:
    return engine.escalations(case_id)["unanswered"]


def timers(engine: Engine, case_id: str) -> list[tuple[str, str]]:
    return [(t.trigger, t.due_at.isoformat()) for t in engine.timers(case_id)]


def test_levels_escalate_in_turn_and_the_chain_waits_after_the_last(
    engine: Engine, clock: ManualClock
) -> None:
    case = engine.start("chained", {"customer": "c1"})
    assert chain_of(engine, case.id) == Chain("running", 0, 0, at("2026-03-02T09:15:00+00:00"))
    assert timers(engine, case.id) == [("esc:unanswered", "2026-03-02T09:15:00+00:00")]
    clock.set("2026-03-02T12:00:00+00:00")
    engine.advance()
    assert chain_events(engine, case.id) == [
        {
            "escalation": "unanswered",
            "event": "escalation_started",
            "at": "2026-03-02T09:00:00+00:00",
            "next_due": "2026-03-02T09:15:00+00:00",
        },
        {
            "escalation": "unanswered",
            "event": "escalated",
            "at": "2026-03-02T09:15:00+00:00",
            "level": 0,
            "level_name": "team_lead",
            "round": 0,
            "next_due": "2026-03-02T09:45:00+00:00",
        },
        {
            "escalation": "unanswered",
            "event": "escalated",
            "at": "2026-03-02T09:45:00+00:00",
            "level": 1,
            "level_name": "manager",
            "round": 0,
        },
    ]
    # After the last level (no repeat) the chain is still running, past its levels, with
    # nothing pending: it stays quiet until something stops, cancels or restarts it.
    assert chain_of(engine, case.id) == Chain("running", 0, 2, None)
    assert timers(engine, case.id) == []
    assert engine.get(case.id).data["bumps"] == 1
    assert [(n.template, n.recipients) for n in engine.notifications(case.id)] == [
        ("escalation_team_lead", ("team_lead",)),
        ("escalation_manager", ("service_manager",)),
    ]
    engine.fire(case.id, "acknowledge")
    assert chain_of(engine, case.id) == Chain("acknowledged", 0, 2, None)
    assert chain_events(engine, case.id)[-1] == {
        "escalation": "unanswered",
        "event": "escalation_stopped",
        "at": "2026-03-02T12:00:00+00:00",
    }


def test_cancel_stops_the_chain_once_and_a_second_cancel_changes_nothing(
    engine: Engine, clock: ManualClock
) -> None:
    case = engine.start("chained", {"customer": "c1"})
    clock.set("2026-03-02T09:20:00+00:00")
    engine.fire(case.id, "drop")  # the 09:15 level fires first
    assert chain_events(engine, case.id)[-1] == {
        "escalation": "unanswered",
        "event": "escalation_cancelled",
        "at": "2026-03-02T09:20:00+00:00",
    }
    assert chain_of(engine, case.id) == Chain("stopped", 0, 1, None)
    assert timers(engine, case.id) == []
    before = len(chain_events(engine, case.id))
    clock.set("2026-03-02T09:30:00+00:00")
    engine.fire(case.id, "drop")
    engine.fire(case.id, "park")
    assert len(chain_events(engine, case.id)) == before
    assert chain_of(engine, case.id) == Chain("stopped", 0, 1, None)
    clock.set("2026-03-03T09:00:00+00:00")
    assert engine.advance() == []


def test_an_acknowledged_chain_can_be_cancelled(engine: Engine, clock: ManualClock) -> None:
    case = engine.start("chained", {"customer": "c1"})
    engine.fire(case.id, "acknowledge")
    assert chain_of(engine, case.id) == Chain("acknowledged", 0, 0, None)
    engine.fire(case.id, "park")
    assert chain_of(engine, case.id) == Chain("stopped", 0, 0, None)
    assert [e["event"] for e in chain_events(engine, case.id)] == [
        "escalation_started",
        "escalation_stopped",
        "escalation_cancelled",
    ]


def test_a_running_chain_is_not_restarted_but_a_stopped_one_is(
    engine: Engine, clock: ManualClock
) -> None:
    case = engine.start("chained", {"customer": "c1"})
    clock.set("2026-03-02T09:10:00+00:00")
    engine.fire(case.id, "nudge")  # a start condition while running: the chain keeps its time
    assert chain_of(engine, case.id) == Chain("running", 0, 0, at("2026-03-02T09:15:00+00:00"))
    assert [e["event"] for e in chain_events(engine, case.id)] == ["escalation_started"]
    engine.fire(case.id, "park")
    clock.set("2026-03-02T10:00:00+00:00")
    engine.fire(case.id, "wake")
    assert chain_of(engine, case.id) == Chain("running", 0, 0, at("2026-03-02T10:15:00+00:00"))
    assert timers(engine, case.id) == [("esc:unanswered", "2026-03-02T10:15:00+00:00")]
    assert [e["event"] for e in chain_events(engine, case.id)] == [
        "escalation_started",
        "escalation_cancelled",
        "escalation_started",
    ]


def test_an_acknowledged_chain_restarts_on_a_start_condition(
    engine: Engine, clock: ManualClock
) -> None:
    case = engine.start("chained", {"customer": "c1"})
    clock.set("2026-03-02T09:20:00+00:00")
    engine.fire(case.id, "acknowledge")
    clock.set("2026-03-02T11:00:00+00:00")
    engine.fire(case.id, "nudge")
    assert chain_of(engine, case.id) == Chain("running", 0, 0, at("2026-03-02T11:15:00+00:00"))


def test_repeats_count_rounds_and_end_past_the_last_level(clock: ManualClock) -> None:
    text = CHAIN.replace("    levels:\n", "    repeat: 2\n    levels:\n")
    with build(text, clock, "memory://") as engine:
        case = engine.start("chained", {"customer": "c1"})
        clock.set("2026-03-02T13:00:00+00:00")
        engine.advance()
        reached = [
            (e["at"][11:16], e["level"], e["round"])
            for e in chain_events(engine, case.id)
            if e["event"] == "escalated"
        ]
        assert reached == [
            ("09:15", 0, 0),
            ("09:45", 1, 0),
            ("10:00", 0, 1),
            ("10:30", 1, 1),
            ("10:45", 0, 2),
            ("11:15", 1, 2),
        ]
        assert chain_of(engine, case.id) == Chain("running", 2, 2, None)
        assert engine.get(case.id).data["bumps"] == 3


# -- the policy: timers that no longer stand for the chain ------------------------------------


@pytest.fixture
def policy(engine: Engine) -> EscalationPolicy:
    compiled = engine.registry.get("chained", 1)
    assert compiled.escalations is not None
    return compiled.escalations


def test_a_timer_is_honoured_only_for_the_moment_the_chain_waits_for(
    policy: EscalationPolicy,
) -> None:
    due = at("2026-03-02T09:15:00+00:00")
    running = {"unanswered": Chain("running", 0, 0, due)}
    assert policy.on_timer(running, "esc:unanswered", at("2026-03-02T09:14:00+00:00")) is None
    assert policy.on_timer(running, "esc:other", due) is None
    assert policy.on_timer({}, "esc:unanswered", due) is None
    assert policy.on_timer({"unanswered": Chain("stopped", 0, 0, None)}, "esc:unanswered", due) is (
        None
    )
    # A stopped chain that somehow kept its moment is not escalated either.
    assert policy.on_timer({"unanswered": Chain("stopped", 0, 0, due)}, "esc:unanswered", due) is (
        None
    )
    reached = policy.on_timer(running, "esc:unanswered", due)
    assert reached is not None
    assert reached.chain == Chain("running", 0, 1, at("2026-03-02T09:45:00+00:00"))
    assert reached.schedule == ("esc:unanswered", at("2026-03-02T09:45:00+00:00"))
    assert reached.level is not None and reached.level.notify == ["team_lead"]
    last = policy.on_timer({"unanswered": reached.chain}, "esc:unanswered", reached.chain.next_due)
    assert last is not None
    assert (last.chain, last.schedule) == (Chain("running", 0, 2, None), None)


def test_a_reescalation_restarts_the_chain_from_its_first_level(policy: EscalationPolicy) -> None:
    due = at("2026-03-02T13:00:00+00:00")
    reached = policy.on_timer(
        {"unanswered": Chain("acknowledged", 1, 2, due)}, "esc:unanswered", due
    )
    assert reached is not None
    assert reached.level is None
    assert reached.chain == Chain("running", 0, 0, at("2026-03-02T13:15:00+00:00"))
    assert reached.schedule == ("esc:unanswered", at("2026-03-02T13:15:00+00:00"))
    assert reached.event == {
        "escalation": "unanswered",
        "event": "reescalated",
        "at": "2026-03-02T13:00:00+00:00",
        "next_due": "2026-03-02T13:15:00+00:00",
    }


VIP_CHAIN = (
    CHAIN.replace(
        "  bumps: {type: integer, default: 0}\n",
        "  bumps: {type: integer, default: 0}\n  vip: {type: boolean, default: false}\n",
    ).replace(
        '  - {trigger: drop, from: "*"}\n',
        '  - {trigger: drop, from: "*"}\n  - {trigger: flag, from: "*"}\n',
    )
    + """\
  vip:
    start: {when: vip == true}
    stop: {trigger: acknowledge}
    cancel: {when: vip == false}
    levels: [{after: 5m, notify: vip_desk, template: escalation_vip}]
"""
)


def test_a_second_chain_starts_on_a_condition_while_the_first_stays_as_it_is(
    clock: ManualClock,
) -> None:
    with build(VIP_CHAIN, clock, "memory://") as engine:
        case = engine.start("chained", {"customer": "c1"})
        assert set(engine.escalations(case.id)) == {"unanswered"}
        clock.set("2026-03-02T09:05:00+00:00")
        engine.fire(case.id, "flag", {"vip": True})
        chains = engine.escalations(case.id)
        assert chains["unanswered"] == Chain("running", 0, 0, at("2026-03-02T09:15:00+00:00"))
        assert chains["vip"] == Chain("running", 0, 0, at("2026-03-02T09:10:00+00:00"))
        engine.fire(case.id, "flag", {"vip": True})  # already true: nothing restarts
        assert engine.escalations(case.id)["vip"].next_due == at("2026-03-02T09:10:00+00:00")
        clock.set("2026-03-02T09:07:00+00:00")
        engine.fire(case.id, "flag", {"vip": False})
        assert engine.escalations(case.id)["vip"] == Chain("stopped", 0, 0, None)
        assert timers(engine, case.id) == [("esc:unanswered", "2026-03-02T09:15:00+00:00")]


def test_a_step_that_leaves_the_data_as_it_was_makes_no_condition_of_a_chain_true(
    clock: ManualClock,
) -> None:
    """``acknowledge`` changes no data: the VIP chain's ``cancel`` condition (``vip ==
    false``), false before the step, stays false, so the chain is acknowledged, not
    cancelled."""
    with build(VIP_CHAIN, clock, "memory://") as engine:
        case = engine.start("chained", {"customer": "c1", "vip": True})
        clock.set("2026-03-02T09:02:00+00:00")
        engine.fire(case.id, "acknowledge")
        assert engine.escalations(case.id)["vip"] == Chain("acknowledged", 0, 0, None)
        assert engine.history(case.id)[-1].details["sla"] == [
            {"escalation": name, "event": "escalation_stopped", "at": "2026-03-02T09:02:00+00:00"}
            for name in ("unanswered", "vip")
        ]


@pytest.mark.parametrize(
    "chain",
    [Chain("running", 1, 0, at("2026-03-02T09:15:00+00:00")), Chain("stopped", 0, 2, None)],
)
def test_a_chain_survives_its_json_form(chain: Chain) -> None:
    assert Chain.from_json(chain.to_json()) == chain


# The chain on a condition declared before the chain on states and triggers (each step's plan
# holds both, in this order), and a chain acknowledged by a condition on the data.
CONDITION_FIRST = VIP_CHAIN.replace(
    "escalations:\n",
    """\
escalations:
  vip:
    start: {when: vip == true}
    stop: {when: bumps > 0}
    cancel: {when: vip == false}
    levels: [{after: 5m, notify: vip_desk, template: escalation_vip}]
""",
).split("  vip:\n    start: {when: vip == true}\n    stop: {trigger: acknowledge}")[0]


def test_a_chain_after_a_condition_chain_still_follows_its_own_states_and_triggers(
    clock: ManualClock,
) -> None:
    with build(CONDITION_FIRST, clock, "memory://") as engine:
        assert list(engine.registry.get("chained", 1).spec.escalations) == ["vip", "unanswered"]
        case = engine.start("chained", {"customer": "c1"})
        clock.set("2026-03-02T09:05:00+00:00")
        # The data as it was: the vip chain has nothing to look at; the other is cancelled.
        engine.fire(case.id, "drop")
        assert engine.escalations(case.id) == {"unanswered": Chain("stopped", 0, 0, None)}
        # The data changed, but the vip conditions did not become true: the other restarts.
        clock.set("2026-03-02T09:06:00+00:00")
        engine.fire(case.id, "nudge", {"customer": "c2"})
        assert engine.escalations(case.id) == {
            "unanswered": Chain("running", 0, 0, at("2026-03-02T09:21:00+00:00"))
        }
        assert timers(engine, case.id) == [("esc:unanswered", "2026-03-02T09:21:00+00:00")]


def test_a_chain_is_acknowledged_when_its_stop_condition_becomes_true(
    clock: ManualClock,
) -> None:
    with build(CONDITION_FIRST, clock, "memory://") as engine:
        case = engine.start("chained", {"customer": "c1", "vip": True})
        assert engine.escalations(case.id)["vip"] == Chain(
            "running", 0, 0, at("2026-03-02T09:05:00+00:00")
        )
        clock.set("2026-03-02T09:03:00+00:00")
        engine.fire(case.id, "bump")
        assert engine.escalations(case.id)["vip"] == Chain("acknowledged", 0, 0, None)
        assert chain_events(engine, case.id)[-1] == {
            "escalation": "vip",
            "event": "escalation_stopped",
            "at": "2026-03-02T09:03:00+00:00",
        }
        assert timers(engine, case.id) == [("esc:unanswered", "2026-03-02T09:15:00+00:00")]
