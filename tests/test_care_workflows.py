"""The shipped care workflows on a real engine, with every deadline written out: a detractor's
retention callback (24 hours, a reminder 6 hours before, the team lead at the deadline, the
service manager 4 hours later) and the revisit calls 7 and 30 days after a complaint closed
(one office day each, across a weekend and the change to summer time)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

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


def greeting_dues(desk: Engine, case_id: str) -> dict[str, tuple[str, str]]:
    """Each greeting's timer: (due, nominal) in UTC."""
    return {
        t.trigger: (t.due_at.isoformat(), (t.nominal or t.due_at).isoformat())
        for t in desk.timers(case_id)
    }


def test_greetings_start_only_for_customers_with_a_birthday_or_a_customer_since_date(
    desk: Engine,
) -> None:
    desk.customers.add("Walk-in", email="walk.in@example.com")
    assert desk.find(workflow="care_greetings") == []
    tom = desk.customers.add("Tom Baker", email="tom@example.com", since=date(2019, 12, 25))
    [journey] = desk.find(workflow="care_greetings")
    assert desk.customers.of_case(journey.id) == tom
    assert journey.data["customer"] == "Tom Baker"
    # no birthday: the birthday schedule is not running, and the history says why
    assert set(greeting_dues(desk, journey.id)) == {"rec:anniversary"}
    [started] = desk.history(journey.id)
    assert "schedule 'birthday' is not running" in " ".join(started.details.get("notes", []))


def test_a_29_february_birthday_in_a_non_leap_year_is_greeted_on_28_february(
    desk: Engine,
) -> None:
    at(desk, "2027-02-01T12:00:00+00:00")
    desk.customers.add(
        "Chen Jing",
        email="chen.jing@example.com",
        timezone="Europe/London",
        birthday=date(2000, 2, 29),
    )
    [journey] = desk.find(workflow="care_greetings")
    assert greeting_dues(desk, journey.id) == {
        "rec:birthday": ("2027-02-28T09:00:00+00:00", "2027-02-28T09:00:00+00:00"),
    }
    assert at(desk, "2027-02-28T08:59:00+00:00") == []
    assert at(desk, "2027-02-28T09:00:00+00:00") == ["birthday"]
    assert notices(desk, journey.id) == [("care_birthday", "customer")]
    # 2028 is a leap year: the greeting is on the day itself
    assert greeting_dues(desk, journey.id)["rec:birthday"][0] == "2028-02-29T09:00:00+00:00"


def test_a_greeting_on_a_public_holiday_goes_on_the_day_and_quiet_hours_hold_it(
    desk: Engine,
) -> None:
    at(desk, "2026-12-20T09:00:00+00:00")
    tom = desk.customers.add(
        "Tom Baker", email="tom@example.com", timezone="Europe/London", since=date(2019, 12, 25)
    )
    mei = desk.customers.add(
        "Mei Lin",
        email="mei.lin@example.com",
        timezone="Asia/Shanghai",
        birthday=date(1992, 12, 25),
    )
    journeys = {desk.customers.of_case(c.id): c.id for c in desk.find(workflow="care_greetings")}
    # Christmas Day is an office holiday; greetings are not office work: 10:00 London, on the day
    assert greeting_dues(desk, journeys[tom])["rec:anniversary"] == (
        "2026-12-25T10:00:00+00:00",
        "2026-12-25T10:00:00+00:00",
    )
    # 09:00 in Shanghai is 01:00 in London, inside the quiet hours (21:00-08:00 London):
    # held to 08:00 London (16:00 in Shanghai), still on the day
    assert greeting_dues(desk, journeys[mei])["rec:birthday"] == (
        "2026-12-25T08:00:00+00:00",
        "2026-12-25T01:00:00+00:00",
    )
    assert at(desk, "2026-12-25T07:59:00+00:00") == []
    assert at(desk, "2026-12-25T08:00:00+00:00") == ["birthday"]
    assert at(desk, "2026-12-25T10:00:00+00:00") == ["anniversary"]
    [row] = desk.outbox(journeys[mei])
    assert (row.template, row.address, row.status) == (
        "care_birthday",
        "mei.lin@example.com",
        "pending",
    )
    # the moved greeting is not held a second time: it may go at once
    assert row.next_attempt_at.isoformat() == "2026-12-25T08:00:00+00:00"


def test_downtime_across_a_birthday_sends_one_greeting_late_never_two(desk: Engine) -> None:
    li = desk.customers.add(
        "Li Wei", email="li.wei@example.com", timezone="Europe/London", birthday=date(1980, 3, 4)
    )
    [journey] = desk.find(workflow="care_greetings")
    # down from Tuesday 3 March to Friday 6 March: Wednesday's 09:00 greeting goes once, late
    desk.clock.set("2026-03-06T12:00:00+00:00")  # type: ignore[attr-defined]
    [fired] = desk.advance()
    assert (fired.entry.trigger, fired.entry.at.isoformat()) == (
        "birthday",
        "2026-03-04T09:00:00+00:00",
    )
    assert fired.entry.details["skipped"] == 0
    assert desk.advance() == []
    assert desk.get(journey.id).data["greetings_sent"] == 1
    assert notices(desk, journey.id) == [("care_birthday", "customer")]
    assert greeting_dues(desk, journey.id)["rec:birthday"][0] == "2027-03-04T09:00:00+00:00"
    desk.customers.leave(li.id)
    assert desk.get(journey.id).state == "ended" and desk.timers(journey.id) == []


def resolved_complaint(desk: Engine, customer: str | None = None, **data: str) -> str:
    """A complaint taken to `resolved` (a 5% credit chosen); its id."""
    fields = {"customer": "Li Wei", "channel": "app", "segment": "vip", **data}
    case = desk.start("complaint", fields, customer=customer)
    desk.fire(case.id, "acknowledge", {"assignee": "agent-7"}, actor="agent-7")
    facts = dict.fromkeys(("who", "what", "when", "where", "why", "how"), "x")
    desk.fire(case.id, "assess", {"impact": "low", "urgency": "low", "facts": facts})
    desk.fire(case.id, "investigate")
    desk.fire(case.id, "propose", {"options": ["Resend", "5% credit"]}, actor="agent-7")
    payload = {"chosen_option": "5% credit", "compensation_percent": 5.0}
    desk.fire(case.id, "choose", payload, actor="Li Wei")
    assert desk.get(case.id).state == "resolved"
    return case.id


def started_by(desk: Engine, workflow: str) -> list[dict[str, object]]:
    return [
        {**case.data, "actor": desk.history(case.id)[0].actor}
        for case in desk.find(workflow=workflow)
    ]


def test_a_detractor_at_the_callback_opens_a_retention_case_escalated_when_nobody_calls(
    desk: Engine,
) -> None:
    li = desk.customers.add("Li Wei", email="li.wei@example.com", segment="vip")
    complaint = resolved_complaint(desk, li.id)
    desk.fire(complaint, "callback_done", {"satisfied": True, "nps": 4})
    [retention] = desk.find(workflow="care_retention")
    assert desk.customers.of_case(retention.id) == li
    assert (desk.history(retention.id)[0].actor, retention.data["reason"]) == ("care", "detractor")
    assert (retention.data["risk_nps"], retention.data["source_case"]) == (4, complaint)
    assert (retention.data["segment"], retention.data["channel"]) == ("vip", "app")
    [callback] = desk.sla(retention.id)
    assert callback.deadline.isoformat() == "2026-03-03T09:00:00+00:00"  # 24 hours
    assert at(desk, "2026-03-03T03:00:00+00:00") == ["sla:callback:warning:0"]
    assert at(desk, "2026-03-03T09:00:00+00:00") == [
        "sla:callback:breach",
        "esc:nobody_called",
    ]
    assert at(desk, "2026-03-03T13:00:00+00:00") == ["esc:nobody_called"]
    assert [t for t, _ in notices(desk, retention.id)][-2:] == [
        "retention_callback_overdue",
        "retention_callback_overdue",
    ]
    # the complaint closed, resolved: its revisits start too, 7 and 30 days on
    [revisit] = desk.find(workflow="care_revisit")
    assert (revisit.data["source_case"], revisit.data["category"]) == (complaint, "other")
    dues = sorted(t.due_at.isoformat() for t in desk.timers(revisit.id))
    assert dues == ["2026-03-09T09:00:00+00:00", "2026-04-01T09:00:00+00:00"]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ({"satisfied": True, "nps": 9}, None),
        ({"satisfied": True, "nps": 7}, None),
        ({"satisfied": True, "nps": 6}, "detractor"),
        ({"satisfied": True}, None),
        ({"satisfied": False, "nps": 8}, "low_csat"),
        ({"satisfied": False, "nps": 0}, "detractor"),
    ],
)
def test_which_answers_at_the_callback_raise_a_churn_risk(
    desk: Engine, answer: dict[str, object], reason: str | None
) -> None:
    complaint = resolved_complaint(desk)
    desk.fire(complaint, "callback_done", answer)
    reasons = [case["reason"] for case in started_by(desk, "care_retention")]
    assert reasons == ([] if reason is None else [reason])


def test_an_unhappy_chat_survey_raises_a_churn_risk(desk: Engine) -> None:
    chat = desk.start("im_first_response", {"customer": "Chen Jing", "channel": "chat"})
    desk.fire(chat.id, "bot_resolved")
    desk.fire(chat.id, "survey_answered", {"satisfied": False})
    [retention] = started_by(desk, "care_retention")
    assert (retention["reason"], retention["source_case"]) == ("low_csat", chat.id)
    assert retention.get("risk_nps") is None


def test_a_third_complaint_within_90_days_raises_a_churn_risk_once(desk: Engine) -> None:
    chen = desk.customers.add("Chen Jing", email="chen.jing@example.com")
    other = desk.customers.add("Wang Fang", email="wang.fang@example.com")
    for day in ("2026-03-02", "2026-04-20"):
        at(desk, f"{day}T10:00:00+00:00")
        desk.start("complaint", {"customer": "Chen Jing"}, customer=chen)
        desk.start("complaint", {"customer": "Wang Fang"}, customer=other)
    assert started_by(desk, "care_retention") == []
    at(desk, "2026-05-31T09:59:00+00:00")  # 90 days after the first, less a minute
    third = desk.start("complaint", {"customer": "Chen Jing"}, customer=chen)
    [retention] = desk.find(workflow="care_retention")
    assert desk.customers.of_case(retention.id) == chen
    assert (retention.data["reason"], retention.data["source_case"]) == (
        "repeat_complaints",
        third.id,
    )
    desk.start("complaint", {"customer": "Chen Jing"}, customer=chen)  # the fourth: no more
    at(desk, "2026-06-01T10:00:00+00:00")  # Wang Fang's first is now outside the 90 days
    desk.start("complaint", {"customer": "Wang Fang"}, customer=other)
    assert len(desk.find(workflow="care_retention")) == 1


def test_a_complaint_closed_for_silence_or_a_suggestion_gets_no_revisits(desk: Engine) -> None:
    case = desk.start("complaint", {"customer": "Li Wei"})
    desk.fire(case.id, "acknowledge", {"assignee": "agent-7"}, actor="agent-7")
    desk.fire(case.id, "ask_customer", actor="agent-7")
    at(desk, "2026-03-20T09:00:00+00:00")  # seven days of silence closed it
    assert desk.get(case.id).state == "closed"
    assert desk.find(workflow="care_revisit") == []
