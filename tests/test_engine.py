"""The engine's behaviour as an embedding application relies on it, on every store kind."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from support.workflows import MINIMAL
from svcflow import (
    CaseDataError,
    CaseNotFound,
    ConditionNotMet,
    Engine,
    ManualClock,
    TransitionNotAllowed,
    UnknownTrigger,
    UnknownWorkflow,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def snapshot(engine: Engine, case_id: str) -> tuple[object, ...]:
    """Everything stored about a case, to show that a refused event changed nothing."""
    return (
        engine.get(case_id),
        engine.history(case_id),
        engine.timers(case_id),
        engine.notifications(case_id),
    )


def test_start_returns_a_plain_case_record(engine: Engine) -> None:
    ann = engine.customers.add("Ann", email="ann@example.com")
    case = engine.start("ticket", {"customer": "Ann"}, actor="intake", customer=ann)
    assert (case.state, case.version, case.revision) == ("new", 1, 1)
    assert dict(case.data) == {
        "customer": "Ann",
        "priority": "normal",
        "answer": None,
        "attempts": 0,
    }
    assert engine.get(case.id) == case
    [entry] = engine.history(case.id)
    assert (entry.seq, entry.kind, entry.actor, entry.from_state, entry.to_state) == (
        1,
        "started",
        "intake",
        None,
        "new",
    )
    assert entry.at == T0
    assert entry.details == {
        "set": {"priority": "normal", "attempts": 0},  # the defaults: history alone has the data
        "timers": [{"trigger": "remind", "due_at": "2026-03-02T09:15:00+00:00", "keep": False}],
        "notifications": [{"template": "ticket_opened", "to": ["customer"]}],
    }
    [timer] = engine.timers(case.id)
    assert (timer.trigger, timer.due_at, timer.owner_state) == (
        "remind",
        T0 + timedelta(minutes=15),
        "new",
    )
    [note] = engine.notifications(case.id)
    assert (note.template, note.recipients, note.status, note.key) == (
        "ticket_opened",
        ("customer",),
        "pending",
        f"{case.id}:1:1",
    )


def test_a_case_id_is_a_version_4_uuid_in_hex(engine: Engine) -> None:
    """The default ids are written from random bytes without ``uuid.UUID`` (issue 16): still
    32 lowercase hex digits of a version 4, RFC 4122 UUID, and different each time."""
    ids = [engine.start("ticket", {"customer": "Ann"}).id for _ in range(64)]
    assert len(set(ids)) == len(ids)
    for case_id in ids:
        parsed = uuid.UUID(hex=case_id)
        assert parsed.hex == case_id
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
    assert {case_id[12] for case_id in ids} == {"4"}
    assert {case_id[16] for case_id in ids} <= set("89ab")


def test_start_validates_data_with_every_problem(engine: Engine) -> None:
    with pytest.raises(CaseDataError) as caught:
        engine.start("ticket", {"priority": "hgh", "atempts": 2})
    assert str(caught.value) == (
        "invalid case data for workflow 'ticket' v1: data: unknown field 'atempts'; did you "
        "mean 'attempts'? fields: answer, attempts, customer, priority"
    )
    with pytest.raises(CaseDataError) as caught:
        engine.start("ticket", {"priority": "hgh"})
    assert str(caught.value) == (
        "invalid case data for workflow 'ticket' v1: missing required field 'customer'; "
        "priority: Input should be 'low', 'normal' or 'high' (got 'hgh')"
    )
    assert engine.find() == []


def test_unknown_workflow(engine: Engine) -> None:
    with pytest.raises(UnknownWorkflow) as caught:
        engine.start("tickets", {"customer": "Ann"})
    assert str(caught.value) == (
        "unknown workflow 'tickets'; did you mean 'ticket'? workflows: ticket"
    )


def test_fire_moves_the_case_and_records_history(engine: Engine, clock: ManualClock) -> None:
    case = engine.start("ticket", {"customer": "Ann"})
    clock.advance("5m")
    case = engine.fire(case.id, "take", actor="agent-1")
    assert (case.state, case.revision, case.updated_at) == ("open", 2, T0 + timedelta(minutes=5))
    clock.advance("5m")
    case = engine.fire(case.id, "answer", {"answer": "Refund sent"}, actor="agent-1")
    assert case.state == "answered"
    assert case.data["answer"] == "Refund sent"
    entries = engine.history(case.id)
    assert [(e.seq, e.trigger, e.from_state, e.to_state, e.actor) for e in entries] == [
        (1, None, None, "new", "system"),
        (2, "take", "new", "open", "agent-1"),
        (3, "answer", "open", "answered", "agent-1"),
    ]
    assert entries[2].payload == {"answer": "Refund sent"}
    assert entries[2].version == 1


def test_disallowed_trigger_names_state_trigger_and_allowed(engine: Engine) -> None:
    case = engine.start("ticket", {"customer": "Ann"})
    before = snapshot(engine, case.id)
    with pytest.raises(TransitionNotAllowed) as caught:
        engine.fire(case.id, "close")
    assert str(caught.value) == (
        f"trigger 'close' is not allowed for case {case.id} in state 'new': state 'new' has no "
        "transition for it. Allowed now: expire, remind, take"
    )
    assert (caught.value.state, caught.value.trigger, caught.value.allowed) == (
        "new",
        "close",
        ("expire", "remind", "take"),
    )
    assert snapshot(engine, case.id) == before


def test_unknown_trigger_suggests_the_real_one(engine: Engine) -> None:
    case = engine.start("ticket", {"customer": "Ann"})
    with pytest.raises(UnknownTrigger) as caught:
        engine.fire(case.id, "tkae")
    assert str(caught.value) == (
        f"trigger 'tkae' is not allowed for case {case.id} in state 'new': the workflow "
        "'ticket' v1 has no trigger 'tkae'; did you mean 'take'? triggers: answer, close, "
        "expire, remind, retry, take. Allowed now: expire, remind, take"
    )


def test_false_condition_leaves_case_untouched(engine: Engine) -> None:
    case = engine.fire(engine.start("ticket", {"customer": "Ann"}).id, "take")
    before = snapshot(engine, case.id)
    with pytest.raises(ConditionNotMet) as caught:
        engine.fire(case.id, "answer", {"answer": ""})
    assert str(caught.value) == (
        f"trigger 'answer' is not allowed for case {case.id} in state 'open': its condition "
        '`answer != null && answer != ""` is false. Allowed now: expire'
    )
    assert snapshot(engine, case.id) == before


def test_invalid_payload_is_refused_whole(engine: Engine) -> None:
    case = engine.fire(engine.start("ticket", {"customer": "Ann"}).id, "take")
    before = snapshot(engine, case.id)
    with pytest.raises(CaseDataError) as caught:
        engine.fire(case.id, "answer", {"answer": "ok", "attempts": "many"})
    assert str(caught.value) == (
        "invalid case data for workflow 'ticket' v1: payload: attempts: Input should be a "
        "valid integer, unable to parse string as an integer (got 'many')"
    )
    with pytest.raises(CaseDataError) as caught:
        engine.fire(case.id, "answer", {"anwser": "ok"})
    assert str(caught.value) == (
        "invalid case data for workflow 'ticket' v1: payload: unknown field 'anwser'; did you "
        "mean 'answer'? fields: answer, attempts, customer, priority"
    )
    with pytest.raises(CaseDataError) as caught:
        engine.fire(case.id, "answer", {"customer": None})
    assert str(caught.value) == (
        "invalid case data for workflow 'ticket' v1: payload: customer: Input should be a "
        "valid string (got None)"
    )
    assert snapshot(engine, case.id) == before


def test_set_action_with_expression(engine: Engine) -> None:
    case = engine.start("ticket", {"customer": "Ann"})
    case = engine.fire(case.id, "take")
    case = engine.fire(case.id, "answer", {"answer": "x"})
    case = engine.fire(case.id, "retry")
    assert case.data["attempts"] == 1
    assert engine.history(case.id)[-1].details["set"] == {"attempts": 1}


def test_unknown_case(engine: Engine) -> None:
    with pytest.raises(CaseNotFound) as caught:
        engine.fire("nope", "take")
    assert str(caught.value) == "no case with id 'nope' in the store"
    with pytest.raises(CaseNotFound):
        engine.history("nope")


def test_triggers_lists_what_may_fire_now(engine: Engine) -> None:
    case = engine.start("ticket", {"customer": "Ann"})
    assert engine.triggers(case.id) == ["expire", "remind", "take"]
    case = engine.fire(case.id, "take")
    assert engine.triggers(case.id) == ["expire"]
    engine.fire(case.id, "answer", {"answer": "done"})
    assert engine.triggers(case.id) == ["close", "expire", "retry"]


def test_find_by_workflow_and_state(engine: Engine, clock: ManualClock) -> None:
    first = engine.start("ticket", {"customer": "Ann"})
    clock.advance("1s")
    second = engine.start("ticket", {"customer": "Bo"})
    engine.fire(second.id, "take")
    assert [c.id for c in engine.find(workflow="ticket")] == [first.id, second.id]
    assert [c.id for c in engine.find(state="open")] == [second.id]
    assert engine.find(workflow="ticket", state="closed") == []


def test_timer_fires_when_due_and_internal_transition_keeps_state(
    engine: Engine, clock: ManualClock
) -> None:
    case = engine.start("ticket", {"customer": "Ann"})
    clock.advance("14m")
    assert engine.advance() == []
    clock.advance("1m")
    [firing] = engine.advance()
    assert (firing.timer.trigger, firing.entry.kind, firing.late_by) == (
        "remind",
        "timer",
        timedelta(0),
    )
    case = engine.get(case.id)
    assert (case.state, case.data["priority"]) == ("new", "high")
    assert firing.entry.details["notes"] == ["reminded"]
    assert engine.timers(case.id) == []
    assert engine.advance() == []


def test_leaving_a_state_cancels_its_timers_unless_kept(engine: Engine, clock: ManualClock) -> None:
    case = engine.start("ticket", {"customer": "Ann"})
    case = engine.fire(case.id, "take")
    assert [t.trigger for t in engine.timers(case.id)] == ["expire"]
    case = engine.fire(case.id, "answer", {"answer": "x"})
    assert [(t.trigger, t.keep) for t in engine.timers(case.id)] == [("expire", True)]
    clock.advance("3h")
    [firing] = engine.advance()
    assert (firing.entry.trigger, engine.get(case.id).state) == ("expire", "closed")


def test_overdue_timers_fire_once_each_in_due_order_after_downtime(
    engine: Engine, clock: ManualClock
) -> None:
    late = engine.start("ticket", {"customer": "late"})
    clock.advance("1m")
    early = engine.start("ticket", {"customer": "early"})
    engine.fire(early.id, "take")
    clock.advance("3d")
    fired = engine.advance()
    assert [(f.entry.case_id, f.timer.trigger) for f in fired] == [
        (late.id, "remind"),
        (early.id, "expire"),
    ]
    assert [f.timer.due_at for f in fired] == [
        T0 + timedelta(minutes=15),
        T0 + timedelta(minutes=1, hours=2),
    ]
    assert fired[0].late_by == timedelta(days=3, minutes=-14)
    assert fired[0].entry.at == T0 + timedelta(minutes=15)
    assert fired[0].entry.details["fired_at"] == (T0 + timedelta(days=3, minutes=1)).isoformat()
    assert engine.advance() == []
    assert [e.kind for e in engine.history(late.id)] == ["started", "timer"]


CHAIN = """\
workflow: chain
version: 1
title: Escalation chain
states:
  level1:
    initial: true
    on_enter: [{schedule: {trigger: escalate, after: 1h}}]
  level2:
    on_enter: [{schedule: {trigger: escalate, after: 1h}}]
  level3:
    on_enter: [{schedule: {trigger: escalate, after: 1h}}]
  executive: {final: true}
transitions:
  - {trigger: escalate, from: level1, to: level2}
  - {trigger: escalate, from: level2, to: level3}
  - {trigger: escalate, from: level3, to: executive}
"""


def test_chained_timers_replay_in_order_at_their_due_times(
    make_engine: Callable[..., Engine], clock: ManualClock
) -> None:
    engine = make_engine(CHAIN)
    case = engine.start("chain")
    other = engine.start("chain")
    clock.advance("1d")
    fired = engine.advance()
    assert [(f.entry.case_id, f.entry.to_state) for f in fired] == [
        (case.id, "level2"),
        (other.id, "level2"),
        (case.id, "level3"),
        (other.id, "level3"),
        (case.id, "executive"),
        (other.id, "executive"),
    ]
    assert [e.at for e in engine.history(case.id)] == [
        T0,
        T0 + timedelta(hours=1),
        T0 + timedelta(hours=2),
        T0 + timedelta(hours=3),
    ]


def test_timer_whose_trigger_no_longer_applies_is_recorded_not_lost(
    make_engine: Callable[..., Engine], clock: ManualClock
) -> None:
    text = MINIMAL.replace(
        "  - {trigger: take, from: new, to: open}",
        "  - {trigger: take, from: new, to: open}\n"
        "  - {trigger: nudge, from: open, when: attempts > 5}",
    ).replace(
        "schedule: {trigger: expire, after: 2h, keep: true}",
        "schedule: {trigger: nudge, after: 2h}",
    )
    engine = make_engine(text)
    case = engine.fire(engine.start("ticket", {"customer": "Ann"}).id, "take")
    clock.advance("2h")
    [firing] = engine.advance()
    assert firing.entry.kind == "timer_ignored"
    assert firing.entry.details["reason"] == (
        f"trigger 'nudge' is not allowed for case {case.id} in state 'open': its condition "
        "`attempts > 5` is false. Allowed now: expire"
    )
    assert (firing.entry.trigger, firing.entry.from_state, firing.entry.to_state) == (
        "nudge",
        "open",
        "open",
    )
    assert engine.get(case.id).state == "open"
    assert engine.get(case.id).data == case.data
    assert engine.timers(case.id) == []


def test_idempotent_fire_returns_first_result_and_writes_nothing(engine: Engine) -> None:
    case = engine.start("ticket", {"customer": "Ann"})
    first = engine.fire(case.id, "take", idempotency_key="evt-1")
    before = snapshot(engine, case.id)
    again = engine.fire(case.id, "take", idempotency_key="evt-1")
    assert again == first
    assert snapshot(engine, case.id) == before


def test_idempotent_start(engine: Engine) -> None:
    first = engine.start("ticket", {"customer": "Ann"}, idempotency_key="mail-42")
    again = engine.start("ticket", {"customer": "Ann"}, idempotency_key="mail-42")
    assert again == first
    assert len(engine.find()) == 1


def test_case_data_is_read_only(engine: Engine) -> None:
    case = engine.start("ticket", {"customer": "Ann"})
    with pytest.raises(TypeError):
        case.data["customer"] = "Eve"  # type: ignore[index]
    assert engine.get(case.id).data["customer"] == "Ann"


def test_one_machine_per_workflow_version_not_per_case(engine: Engine) -> None:
    compiled = engine.workflows["ticket"]
    machine = compiled.machine
    for index in range(50):
        engine.fire(engine.start("ticket", {"customer": f"c{index}"}).id, "take")
    assert engine.workflows["ticket"].machine is machine
    assert machine.models == []
