"""Proactive care in the engine, on every store: recurring schedules fired by ``advance`` (29
February, holidays, quiet hours, downtime), customer-scoped workflows started and ended by
customer events, and signals from other workflows, with every deadline written out."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from support.calendars import OFFICE_LONDON, calendar_from, daily
from svcflow import Engine, ManualClock, load_workflow_text
from svcflow.definitions.migration import read_migration_text
from svcflow.engine.schedules import ScheduleKeeper
from svcflow.errors import (
    CaseAlreadyOpen,
    CustomerRequired,
    InvalidCustomer,
    WorkflowDefinitionError,
)
from svcflow.records import Case
from svcflow.store.registry import open_store

OFFICE = calendar_from(OFFICE_LONDON + "holidays: [2026-12-25, 2026-12-28]\n", "office.yaml")
QUIET = daily("Europe/London", "10:00-20:00", name="waking_hours")

GREETINGS = """\
workflow: greetings
version: 1
title: Birthday greetings
scope: customer
start_on:
  customer_created: {when: 'customer.segment != "closed_account"'}
end_on: {customer_left: leave}
data:
  greetings: {type: integer, default: 0}
states:
  active: {initial: true}
  ended: {final: true}
transitions:
  - {trigger: greet, from: active, actions: [{set: {greetings: {expr: greetings + 1}}}]}
  - {trigger: leave, from: active, to: ended}
schedules:
  birthday:
    every: {yearly: customer.birthday, at: "09:00"}
    trigger: greet
"""

REVIEWS = """\
workflow: vip_reviews
version: 1
title: VIP quarterly reviews
scope: customer
start_on:
  customer_created: {when: 'customer.segment == "vip"'}
  segment_changed: {to: vip}
end_on: {customer_left: leave, segment_left: downgrade}
data:
  reviews: {type: integer, default: 0}
states:
  active: {initial: true}
  ended: {final: true}
transitions:
  - {trigger: review, from: active, actions: [{set: {reviews: {expr: reviews + 1}}}]}
  - {trigger: downgrade, from: active, to: ended}
  - {trigger: leave, from: active, to: ended}
schedules:
  quarterly:
    every: {quarterly: first_working_day}
    at: "10:00"
    calendar: office
    trigger: review
"""

SURVEY = """\
workflow: survey
version: 1
title: Satisfaction survey
data:
  nps: integer
  csat: integer
states:
  sent: {initial: true}
  answered: {final: true}
transitions:
  - {trigger: answer, from: sent, to: answered}
"""

COMPLAINT = """\
workflow: complaint
version: 1
title: Complaint
states:
  received: {initial: true}
  closed: {final: true}
transitions:
  - {trigger: close, from: received, to: closed}
"""

RETENTION = """\
workflow: retention
version: 1
title: Retention callback
scope: customer
data:
  reason: string
  signals: {type: integer, default: 0}
  escalated: {type: boolean, default: false}
states:
  callback_due: {initial: true}
  escalated: {}
  called: {final: true}
transitions:
  - {trigger: called_back, from: [callback_due, escalated], to: called}
  - {trigger: escalate, from: callback_due, to: escalated}
  - trigger: another_signal
    from: [callback_due, escalated]
    actions: [{set: {signals: {expr: signals + 1}}}]
sla:
  metrics:
    callback:
      start: {enter: callback_due}
      stop: {enter: called}
      targets: [{within: 24h, name: 24 hours}]
      on_breach:
        - set: {escalated: true}
        - fire: escalate
signals:
  - event: survey.answer
    when: '(has(payload.nps) && payload.nps <= 6) || (has(payload.csat) && payload.csat <= 2)'
    start: {reason: 'has(payload.nps) ? "detractor" : "low_csat"'}
    fire: another_signal
  - event: complaint.started
    when: recent.complaint >= 3
    within: 90d
    start: {reason: '"repeat_complaints"'}
"""


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def desk(store_url: str) -> Iterator[Callable[..., tuple[Engine, ManualClock]]]:
    engines: list[Engine] = []

    def make(*texts: str, start: datetime | None = None) -> tuple[Engine, ManualClock]:
        clock = ManualClock(start or utc(2026, 1, 10, 12))
        loaded = [load_workflow_text(text, f"w{n}.yaml") for n, text in enumerate(texts)]
        engine = Engine(loaded, store_url, clock, calendars=[OFFICE, QUIET])
        engines.append(engine)
        return engine, clock

    yield make
    for engine in engines:
        engine.close()


def open_case(engine: Engine, workflow: str) -> Case:
    [case] = engine.store.find_cases(workflow=workflow)
    return case


def schedule_dues(engine: Engine, case: Case) -> list[datetime]:
    return [t.due_at for t in engine.store.timers(case.id) if t.trigger.startswith("rec:")]


def test_a_birthday_on_29_february_is_greeted_on_28_february_in_a_non_leap_year(
    desk: Callable[..., tuple[Engine, ManualClock]],
) -> None:
    engine, clock = desk(GREETINGS)
    li = engine.customers.add(
        "Li Wei", timezone="Asia/Shanghai", birthday=date(2000, 2, 29), segment="standard"
    )
    case = open_case(engine, "greetings")
    assert engine.customers.of_case(case.id) == li
    assert schedule_dues(engine, case) == [utc(2026, 2, 28, 1)]  # 09:00 in Shanghai
    clock.set(utc(2026, 2, 28, 1))
    [fired] = engine.advance()
    assert (fired.entry.trigger, fired.entry.at) == ("greet", utc(2026, 2, 28, 1))
    assert fired.entry.details["schedule"] == "birthday"
    assert fired.entry.details["skipped"] == 0
    assert engine.get(case.id).data["greetings"] == 1
    assert schedule_dues(engine, case) == [utc(2027, 2, 28, 1)]
    clock.set(utc(2028, 2, 29, 1))
    [late] = engine.advance()  # two birthdays in one call, after a year's outage: one greeting
    assert (late.entry.at, late.entry.details["skipped"]) == (utc(2028, 2, 29, 1), 1)
    assert late.entry.details["nominal"] == "2028-02-29T01:00:00+00:00"
    assert engine.get(case.id).data["greetings"] == 2
    assert schedule_dues(engine, case) == [utc(2029, 2, 28, 1)]


def test_a_greeting_due_on_a_holiday_or_in_quiet_hours_waits_for_the_next_opening(
    desk: Callable[..., tuple[Engine, ManualClock]],
) -> None:
    on_holiday = GREETINGS.replace(
        "    trigger: greet\n", "    trigger: greet\n    calendar: office\n"
    )
    engine, _ = desk(on_holiday)
    engine.customers.add("Ann", timezone="Europe/London", birthday=date(1990, 12, 25))
    # 25 and 28 December are holidays, 26-27 a weekend: Tuesday 29 December at 09:00
    assert schedule_dues(engine, open_case(engine, "greetings")) == [utc(2026, 12, 29, 9)]

    quiet = GREETINGS + "quiet_hours: {calendar: waking_hours}\n"
    engine, _ = desk(quiet.replace("greetings", "quiet_greetings"))
    engine.customers.add("Bo", timezone="Europe/London", birthday=date(1990, 7, 4))
    # 09:00 BST (08:00 UTC) is before waking hours open at 10:00 BST (09:00 UTC)
    case = open_case(engine, "quiet_greetings")
    [timer] = [t for t in engine.store.timers(case.id) if t.trigger == "rec:birthday"]
    assert (timer.due_at, timer.nominal) == (utc(2026, 7, 4, 9), utc(2026, 7, 4, 8))


def test_a_segment_change_to_vip_starts_quarterly_reviews_and_a_3_day_outage_fires_one(
    desk: Callable[..., tuple[Engine, ManualClock]],
) -> None:
    engine, clock = desk(REVIEWS, start=utc(2026, 3, 2, 9))
    ann = engine.customers.add("Ann", segment="standard", timezone="Europe/London")
    assert engine.store.find_cases(workflow="vip_reviews") == []
    clock.set(utc(2026, 3, 10, 9))
    engine.customers.save(ann._replace(segment="vip"))
    case = open_case(engine, "vip_reviews")
    assert engine.history(case.id)[0].actor == "care"
    # the first working day of the quarter, 1 April 2026 (a Wednesday), 10:00 BST
    assert schedule_dues(engine, case) == [utc(2026, 4, 1, 9)]
    clock.set(utc(2026, 4, 4, 9))  # nobody advanced for three days
    report = engine.advance()
    assert [f.entry.trigger for f in report] == ["review"]
    [fired] = report
    assert fired.entry.at == utc(2026, 4, 1, 9)
    assert fired.entry.details["skipped"] == 0
    assert fired.late_by == timedelta(days=3)
    assert engine.advance() == []
    assert engine.get(case.id).data["reviews"] == 1
    assert schedule_dues(engine, case) == [utc(2026, 7, 1, 9)]
    engine.customers.save(ann._replace(segment="standard"))
    ended = engine.get(case.id)
    assert ended.state == "ended"
    assert schedule_dues(engine, ended) == []
    engine.customers.save(ann._replace(segment="vip"))  # back to vip: a new journey
    assert [c.state for c in engine.store.find_cases(workflow="vip_reviews")] == [
        "ended",
        "active",
    ]


def test_a_customer_who_leaves_ends_their_journeys_and_starts_no_more(
    desk: Callable[..., tuple[Engine, ManualClock]],
) -> None:
    engine, clock = desk(GREETINGS, REVIEWS)
    vip = engine.customers.add("Vi", segment="vip", birthday=date(1980, 5, 1))
    assert {c.workflow for c in engine.store.find_cases()} == {"greetings", "vip_reviews"}
    clock.advance("1h")
    gone = engine.customers.leave(vip.id)
    assert gone.left_at == utc(2026, 1, 10, 13)
    assert {c.state for c in engine.store.find_cases()} == {"ended"}
    assert all(schedule_dues(engine, c) == [] for c in engine.store.find_cases())
    engine.customers.save(gone._replace(segment="standard"))
    engine.customers.save(gone._replace(segment="vip"))
    assert len(engine.store.find_cases()) == 2


def test_a_customer_scoped_workflow_keeps_one_open_case_per_customer(
    desk: Callable[..., tuple[Engine, ManualClock]],
) -> None:
    by_hand = REVIEWS[: REVIEWS.index("start_on:")] + REVIEWS[REVIEWS.index("data:") :]
    engine, _ = desk(by_hand)
    ann = engine.customers.add("Ann")
    with pytest.raises(CustomerRequired) as required:
        engine.start("vip_reviews")
    assert str(required.value) == (
        "workflow 'vip_reviews' is customer-scoped (scope: customer): start its cases with "
        "Engine.start(..., customer=...)"
    )
    first = engine.start("vip_reviews", customer=ann)
    with pytest.raises(CaseAlreadyOpen) as already:
        engine.start("vip_reviews", customer=ann)
    assert str(already.value) == (
        f"customer '{ann.id}' already has an open 'vip_reviews' case ({first.id}); a "
        "customer-scoped workflow keeps one open case per customer: fire a trigger on it instead"
    )
    assert already.value.case_id == first.id
    assert [c.id for c in engine.store.find_cases()] == [first.id]
    assert len(engine.history(first.id)) == 1
    bo = engine.customers.add("Bo")
    results: list[str] = []

    def start() -> None:
        try:
            results.append(engine.start("vip_reviews", customer=bo).id)
        except CaseAlreadyOpen as error:
            results.append(f"open: {error.case_id}")

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    [started] = [r for r in results if not r.startswith("open")]
    assert sorted(results) == sorted([started, *[f"open: {started}"] * 5])
    engine.fire(first.id, "downgrade")
    again = engine.start("vip_reviews", customer=ann)
    assert again.id != first.id


def test_a_detractor_survey_opens_a_retention_case_escalated_when_nobody_calls_back(
    desk: Callable[..., tuple[Engine, ManualClock]],
) -> None:
    engine, clock = desk(SURVEY, RETENTION, COMPLAINT, start=utc(2026, 3, 2, 9))
    ann = engine.customers.add("Ann", segment="standard")
    survey = engine.start("survey", customer=ann)
    engine.fire(survey.id, "answer", {"nps": 9})
    assert engine.store.find_cases(workflow="retention") == []
    survey = engine.start("survey", customer=ann)
    clock.set(utc(2026, 3, 2, 10))
    engine.fire(survey.id, "answer", {"nps": 3})
    case = open_case(engine, "retention")
    assert (case.data["reason"], case.state) == ("detractor", "callback_due")
    assert engine.customers.of_case(case.id) == ann
    [callback] = engine.sla(case.id)
    assert (callback.metric, callback.deadline) == ("callback", utc(2026, 3, 3, 10))
    survey = engine.start("survey", customer=ann)
    engine.fire(survey.id, "answer", {"csat": 1})  # open already: signalled, not started again
    assert engine.get(case.id).data["signals"] == 1
    clock.set(utc(2026, 3, 3, 10))  # 24 hours, nobody called
    engine.advance()
    escalated = engine.get(case.id)
    assert (escalated.state, escalated.data["escalated"]) == ("escalated", True)
    engine.fire(case.id, "called_back")
    survey = engine.start("survey", customer=ann)
    engine.fire(survey.id, "answer", {"csat": 2})
    [_, second] = engine.store.find_cases(workflow="retention")
    assert (second.data["reason"], second.state) == ("low_csat", "callback_due")


def test_a_third_complaint_in_90_days_opens_a_retention_case(
    desk: Callable[..., tuple[Engine, ManualClock]],
) -> None:
    engine, clock = desk(SURVEY, RETENTION, COMPLAINT, start=utc(2026, 1, 1, 9))
    bo = engine.customers.add("Bo")
    for day in (1, 20):  # 1 January, 20 January
        clock.set(utc(2026, 1, day, 9))
        engine.start("complaint", customer=bo)
    clock.set(utc(2026, 4, 5, 9))  # the first is 94 days old: two in the window
    engine.start("complaint", customer=bo)
    assert engine.store.find_cases(workflow="retention") == []
    clock.set(utc(2026, 4, 6, 9))
    engine.start("complaint", customer=bo)
    case = open_case(engine, "retention")
    assert case.data["reason"] == "repeat_complaints"
    assert engine.history(case.id)[0].actor == "care"


def test_an_unknown_customer_time_zone_is_refused_and_nothing_is_kept(
    desk: Callable[..., tuple[Engine, ManualClock]],
) -> None:
    engine, _ = desk(GREETINGS)
    with pytest.raises(InvalidCustomer) as caught:
        engine.customers.add("Cy", timezone="Mars/Olympus", customer_id="cy")
    assert str(caught.value) == (
        "customer 'cy': time zone 'Mars/Olympus' is not an IANA time zone name such as "
        "'Asia/Shanghai' or 'Europe/London'"
    )
    assert engine.store.load_customer("cy") is None
    assert engine.store.find_cases() == []


def test_a_customer_without_the_date_a_schedule_counts_from_gets_a_note_not_a_timer(
    desk: Callable[..., tuple[Engine, ManualClock]],
) -> None:
    engine, _ = desk(GREETINGS)
    engine.customers.add("Dee")
    case = open_case(engine, "greetings")
    assert schedule_dues(engine, case) == []
    assert engine.history(case.id)[0].details["notes"] == [
        "schedule 'birthday' is not running: the schedule counts from customer.birthday, which "
        "the case's customer record does not have; set it with "
        "engine.customers.add(..., birthday=...)"
    ]


def test_a_signal_naming_no_workflow_or_trigger_the_engine_runs_stops_it_starting(
    desk: Callable[..., tuple[Engine, ManualClock]],
) -> None:
    wrong = RETENTION.replace("survey.answer\n", "survey.answered\n").replace(
        "complaint.started", "complain.started"
    )
    with pytest.raises(WorkflowDefinitionError) as caught:
        desk(SURVEY, wrong, COMPLAINT)
    assert str(caught.value) == (
        "2 problems in w1.yaml\n"
        "w1.yaml:29:12: signals[0].event: workflow 'survey' has no trigger 'answered'; did you "
        "mean 'answer'? events: answer, closed, started\n"
        "w1.yaml:33:12: signals[1].event: unknown workflow 'complain'; did you mean "
        "'complaint'? workflows: complaint, retention, survey"
    )


def test_a_case_moved_to_another_version_keeps_its_schedules_running(store_url: str) -> None:
    v1 = load_workflow_text(GREETINGS, "v1.yaml")
    v2 = GREETINGS.replace("version: 1", "version: 2").replace('at: "09:00"', 'at: "10:00"')
    clock = ManualClock(utc(2026, 1, 10, 12))
    store = open_store(store_url)
    first = Engine([v1], store, clock)
    first.customers.add("Ann", timezone="Europe/London", birthday=date(1990, 6, 1))
    case = open_case(first, "greetings")
    assert schedule_dues(first, case) == [utc(2026, 6, 1, 8)]  # 09:00 BST
    first.plugins.close()
    with Engine([v1, load_workflow_text(v2, "v2.yaml")], store, clock) as both:
        plan = read_migration_text("migration: greetings\nfrom: 1\nto: 2\n", "plan.yaml")
        report = both.migrate_cases(plan)
        assert [moved.case_id for moved in report.moved] == [case.id]
        assert schedule_dues(both, case) == [utc(2026, 6, 1, 9)]  # v2 greets at 10:00 BST


def test_a_corrected_birthday_or_time_zone_moves_the_pending_greeting(
    desk: Callable[..., tuple[Engine, ManualClock]],
) -> None:
    engine, clock = desk(GREETINGS)
    ann = engine.customers.add("Ann", timezone="Europe/London", birthday=date(1990, 6, 1))
    case = open_case(engine, "greetings")
    assert schedule_dues(engine, case) == [utc(2026, 6, 1, 8)]  # 09:00 BST
    clock.advance("1h")
    ann = engine.customers.save(ann._replace(birthday=date(1990, 3, 15)))
    assert schedule_dues(engine, case) == [utc(2026, 3, 15, 9)]  # 09:00 GMT
    ann = engine.customers.save(ann._replace(timezone="Asia/Shanghai"))
    assert schedule_dues(engine, case) == [utc(2026, 3, 15, 1)]
    engine.customers.save(ann._replace(segment="vip"))  # no date changed: nothing moves
    entries = engine.history(case.id)
    assert [e.kind for e in entries] == ["started", "rescheduled", "rescheduled"]
    assert entries[1].details["timers"] == [
        {"trigger": "rec:birthday", "due_at": "2026-03-15T09:00:00+00:00", "keep": True}
    ]


DATED = GREETINGS.replace(
    "  customer_created: {when: 'customer.segment != \"closed_account\"'}\n",
    "  customer_created: &dated {when: customer.birthday != null}\n  customer_changed: *dated\n",
)


def test_a_journey_starts_only_for_customers_with_the_date_and_when_the_date_is_entered(
    desk: Callable[..., tuple[Engine, ManualClock]],
) -> None:
    engine, clock = desk(DATED)
    ann = engine.customers.add("Ann", timezone="Europe/London")
    assert engine.store.find_cases(workflow="greetings") == []
    engine.customers.save(ann._replace(segment="vip"))  # still no birthday: nothing starts
    assert engine.store.find_cases(workflow="greetings") == []
    clock.set(utc(2026, 2, 1, 12))
    engine.customers.save(ann._replace(birthday=date(1990, 3, 4)))
    case = open_case(engine, "greetings")
    assert (case.created_at, engine.history(case.id)[0].actor) == (utc(2026, 2, 1, 12), "care")
    assert schedule_dues(engine, case) == [utc(2026, 3, 4, 9)]
    # a later change keeps the one journey: the condition held before, nothing new starts
    engine.customers.save(engine.customers.get(ann.id)._replace(birthday=date(1990, 3, 5)))
    assert [c.id for c in engine.store.find_cases(workflow="greetings")] == [case.id]
    assert schedule_dues(engine, case) == [utc(2026, 3, 5, 9)]
    bo = engine.customers.add("Bo", birthday=date(1985, 6, 1))
    owners = {engine.customers.of_case(c.id) for c in engine.store.find_cases(workflow="greetings")}
    assert owners == {engine.customers.get(ann.id), bo}


def test_a_schedule_is_compiled_once_per_case_and_again_for_a_changed_date() -> None:
    engine = Engine(
        [load_workflow_text(GREETINGS, "g.yaml")], "memory://", ManualClock(utc(2026, 1, 10, 12))
    )
    ann = engine.customers.add("Ann", timezone="Europe/London", birthday=date(1990, 3, 4))
    case = open_case(engine, "greetings")
    compiled = engine.registry.current["greetings"]
    schedule = compiled.spec.schedules["birthday"]
    keeper = ScheduleKeeper(engine.store)
    first = keeper.recurrence(compiled, schedule, case, ann)
    assert keeper.recurrence(compiled, schedule, case, ann) is first
    moved = ann._replace(birthday=date(1990, 3, 5))
    again = keeper.recurrence(compiled, schedule, case, moved)
    assert again is not first
    assert (first.next_after(case.created_at).due, again.next_after(case.created_at).due) == (
        utc(2026, 3, 4, 9),
        utc(2026, 3, 5, 9),
    )
    assert keeper.recurrence(compiled, schedule, case, ann._replace(timezone="Asia/Tokyo")) not in (
        first,
        again,
    )
