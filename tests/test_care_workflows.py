"""The shipped care workflows on a real engine, with every deadline written out: a detractor's
retention callback (24 hours, a reminder 6 hours before, the team lead at the deadline, the
service manager 4 hours later) and the revisit calls 7 and 30 days after a complaint closed
(one office day each, across a weekend and the change to summer time)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.workflows import WORKFLOWS
from svcflow import Engine, ManualClock
from svcflow.report import build_report

ROLES = ("customer", "retention_team", "care_team", "team_lead", "service_manager")


@pytest.fixture
def desk() -> Iterator[Engine]:
    clock = ManualClock("2026-03-02T09:00:00+00:00")  # Monday
    directory = {role: f"console:{role}" for role in ROLES}
    with Engine.from_directory(
        WORKFLOWS, "memory://", clock, directory=directory, load_plugins=False
    ) as engine:
        yield engine


def at(desk: Engine, moment: str) -> list[str]:
    """Move the clock to ``moment``, fire what is due; the triggers fired, in order."""
    clock = desk.clock
    assert isinstance(clock, ManualClock)
    clock.set(moment)
    return [str(firing.entry.trigger) for firing in desk.advance()]


def notices(desk: Engine, case_id: str) -> list[tuple[str, str]]:
    return [(row.template, row.role) for row in desk.outbox(case_id)]


def test_a_retention_callback_nobody_makes_is_reminded_then_escalated(desk: Engine) -> None:
    case = desk.start(
        "care_retention",
        {"customer": "Li Wei", "reason": "detractor", "risk_nps": 3, "source_case": "C-1"},
    )
    [callback] = desk.sla(case.id)
    assert (callback.metric, callback.deadline.isoformat()) == (
        "callback",
        "2026-03-03T09:00:00+00:00",  # 24 hours, wall time: the retention desk calls any day
    )
    assert at(desk, "2026-03-03T02:59:00+00:00") == []
    assert at(desk, "2026-03-03T03:00:00+00:00") == ["sla:callback:warning:0"]  # 6 h before
    assert at(desk, "2026-03-03T09:00:00+00:00") == ["sla:callback:breach", "esc:nobody_called"]
    assert at(desk, "2026-03-03T12:59:00+00:00") == []
    assert at(desk, "2026-03-03T13:00:00+00:00") == ["esc:nobody_called"]  # 4 hours later
    assert notices(desk, case.id) == [
        ("retention_callback_due", "retention_team"),
        ("retention_callback_due_soon", "retention_team"),
        ("retention_callback_overdue", "team_lead"),
        ("retention_callback_overdue", "service_manager"),
    ]
    desk.fire(case.id, "call_done", {"agent": "lead-1", "outcome": "saved", "offer": "a refund"})
    assert desk.get(case.id).state == "closed"
    assert desk.timers(case.id) == []
    care = build_report(desk.store).care
    assert (care.opened, care.saved, care.callbacks_in_time.total, care.callbacks_late) == (
        1,
        1,
        1,
        1,
    )


def test_an_unanswered_call_within_24_hours_counts_as_the_callback(desk: Engine) -> None:
    case = desk.start("care_retention", {"customer": "Chen Jing", "reason": "low_csat"})
    at(desk, "2026-03-02T20:00:00+00:00")
    desk.fire(case.id, "call_unanswered", {"agent": "ret-2"})
    [callback] = desk.sla(case.id)
    assert callback.status == "met"
    assert desk.escalations(case.id)["nobody_called"].status == "acknowledged"
    assert at(desk, "2026-03-03T13:00:00+00:00") == []  # no escalation after the call
    assert notices(desk, case.id) == [
        ("retention_callback_due", "retention_team"),
        ("retention_missed_call", "customer"),
    ]


def test_revisits_fall_due_7_and_30_days_after_the_complaint_closed(desk: Engine) -> None:
    clock = desk.clock
    assert isinstance(clock, ManualClock)
    clock.set("2026-03-06T09:00:00+00:00")  # the complaint closed on Friday 6 March, 09:00
    case = desk.start("care_revisit", {"customer": "Wang Fang", "source_case": "C-2"})
    assert {timer.trigger: timer.due_at.isoformat() for timer in desk.timers(case.id)} == {
        "first_revisit_due": "2026-03-13T09:00:00+00:00",  # Friday 13 March
        "second_revisit_due": "2026-04-05T09:00:00+00:00",  # Sunday 5 April, 10:00 BST
    }
    assert at(desk, "2026-03-13T09:00:00+00:00") == ["first_revisit_due"]
    [call] = desk.sla(case.id)
    assert call.deadline.isoformat() == "2026-03-13T18:00:00+00:00"  # Friday's close (GMT)
    desk.fire(case.id, "revisit_done", {"agent": "care-1", "satisfied": True, "nps": 9})
    assert at(desk, "2026-04-05T09:00:00+00:00") == ["second_revisit_due"]
    [call] = [status for status in desk.sla(case.id) if status.status == "running"]
    # Sunday is closed: one office day is all of Monday 6 April, 09:00-18:00 BST.
    assert call.deadline.isoformat() == "2026-04-06T17:00:00+00:00"
    desk.fire(case.id, "revisit_done", {"agent": "care-1", "satisfied": True, "nps": 10})
    assert desk.get(case.id).state == "closed"
    surveys = build_report(desk.store).surveys
    assert (surveys.overall.nps.answered, surveys.overall.nps.score) == (1, 100.0)
