"""NPS next to CSAT with the quarter's baseline, and churn-risk (retention) cases with their
callbacks, in the KPI report. Every expected figure is worked out in the comments."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from svcflow import Engine, ManualClock, load_workflow_text
from svcflow.records import HistoryEntry
from svcflow.report import build_report, compute_report, render_html, render_text
from svcflow.report.measures import Nps, Rate
from svcflow.report.surveys import previous_quarter, quarter_of
from svcflow.store.base import CaseHistory

SURVEYED = """\
workflow: surveyed
version: 1
title: A case that ends with a survey (report test)
data:
  customer: {type: string, required: true}
  channel: string
  segment: string
  satisfied: boolean
  nps: integer
states:
  open: {initial: true}
  closed: {}
  archived: {final: true}
transitions:
  - {trigger: close, from: open, to: closed}
  - {trigger: correct, from: closed}
  - {trigger: archive, from: closed, to: archived}
"""

RETENTION = """\
workflow: care_retention
version: 1
title: Retention callback (report test)
data:
  customer: {type: string, required: true}
  reason: string
  outcome: {type: enum, values: [saved, lost]}
states:
  due: {initial: true}
  called: {}
  done: {final: true}
transitions:
  - {trigger: call, from: due, to: called}
  - {trigger: decide, from: called, to: done, when: outcome != null}
sla:
  metrics:
    callback:
      start: {enter: due}
      stop: {leave: due}
      targets: [{within: 24h}]
"""

START = "2025-12-30T09:00:00+00:00"  # a Tuesday in 2025-Q4


@pytest.fixture
def desk() -> Engine:
    specs = [load_workflow_text(SURVEYED, "surveyed.yaml"), load_workflow_text(RETENTION, "r.yaml")]
    return Engine(specs, "memory://", ManualClock(START), load_plugins=False)


def answer(desk: Engine, channel: str, segment: str, **survey: Any) -> str:
    case = desk.start("surveyed", {"customer": "c", "channel": channel, "segment": segment})
    desk.fire(case.id, "close", survey)
    return case.id


def later(desk: Engine, **step: float) -> None:
    clock = desk.clock
    assert isinstance(clock, ManualClock)
    clock.advance(timedelta(**step))


def test_quarters_are_utc_calendar_quarters() -> None:
    assert quarter_of(datetime.fromisoformat("2026-03-31T23:59:59+00:00")) == "2026-Q1"
    assert quarter_of(datetime.fromisoformat("2026-04-01T07:00:00+08:00")) == "2026-Q1"
    assert quarter_of(datetime.fromisoformat("2026-04-01T00:00:00+00:00")) == "2026-Q2"
    assert previous_quarter("2026-Q1") == "2025-Q4"
    assert previous_quarter("2026-Q3") == "2026-Q2"


def test_nps_next_to_csat_with_the_previous_quarter_as_baseline(desk: Engine) -> None:
    # 2025-Q4 (Tuesday 30 December): email 9 and 6, phone 10 -> promoters 2, detractors 1 of 3:
    # NPS (2 - 1) / 3 = +33.3; CSAT 2 of 3.
    answer(desk, "email", "vip", nps=9, satisfied=True)
    answer(desk, "email", "standard", nps=6, satisfied=False)
    answer(desk, "phone", "standard", nps=10, satisfied=True)
    later(desk, days=3)  # Friday 2 January 2026: 2026-Q1
    # 2026-Q1: email 3, 7 and 2; phone 9 -> promoters 1, passives 1, detractors 2 of 4:
    # NPS (1 - 2) / 4 = -25.0, a fall of 58.3 points; CSAT 1 of 4 (-41.67 pp).
    answer(desk, "email", "vip", nps=3, satisfied=False)
    answer(desk, "email", "standard", nps=7, satisfied=False)
    answer(desk, "email", "standard", nps=2, satisfied=False)
    answer(desk, "phone", "vip", nps=9, satisfied=True)
    surveys = json.loads(build_report(desk.store).to_json())["surveys"]
    assert (surveys["quarter"], surveys["previous_quarter"]) == ("2026-Q1", "2025-Q4")
    assert surveys["overall"] == {
        "nps": {"answered": 4, "promoters": 1, "passives": 1, "detractors": 2, "score": -25.0},
        "nps_previous": {
            "answered": 3,
            "promoters": 2,
            "passives": 0,
            "detractors": 1,
            "score": 33.3,
        },
        "nps_change": -58.3,
        "csat": {"count": 1, "total": 4, "rate": 0.25},
        "csat_previous": {"count": 2, "total": 3, "rate": 0.6667},
        "csat_change": -0.4167,
    }
    # email: Q1 3, 7, 2 -> (0 - 2) / 3 = -66.7; Q4 9, 6 -> (1 - 1) / 2 = 0
    email = surveys["groups"]["channel"]["email"]
    assert (email["nps"]["score"], email["nps_previous"]["score"], email["nps_change"]) == (
        -66.7,
        0.0,
        -66.7,
    )
    # vip: Q1 3, 9 -> 0; Q4 9 -> +100
    vip = surveys["groups"]["segment"]["vip"]
    assert (vip["nps"]["score"], vip["nps_previous"]["score"], vip["nps_change"]) == (
        0.0,
        100.0,
        -100.0,
    )
    assert [(q["quarter"], q["nps"]["score"], q["csat"]["rate"]) for q in surveys["quarters"]] == [
        ("2025-Q4", 33.3, 0.6667),
        ("2026-Q1", -25.0, 0.25),
    ]
    text = render_text(build_report(desk.store))
    assert "Surveys: NPS and CSAT in 2026-Q1, against 2025-Q4" in text
    assert (
        "overall                         -25.0     4   25%   50%  +33.3   -58.3   25.0%     4"
        "   66.7% -41.7pp"
    ) in text
    assert "By quarter: 2025-Q4 NPS +33.3 (n=3), CSAT 66.7% (n=3); 2026-Q1 NPS -25.0 (n=4)" in (
        " ".join(text.split("\n"))
    )


def test_a_case_counts_its_latest_answer_in_each_quarter_it_answered_in(desk: Engine) -> None:
    case = answer(desk, "email", "vip", nps=4, satisfied=False)  # 2025-Q4: a detractor
    later(desk, days=3)
    desk.fire(case, "correct", {"nps": 7})  # 2026-Q1: asked again (a revisit)...
    later(desk, days=1)
    desk.fire(case, "correct", {"nps": 9})  # ... and corrected the same quarter: counted once
    surveys = build_report(desk.store).surveys
    assert [
        (q.quarter, q.nps.answered, q.nps.score, q.csat.total, q.csat.rate)
        for q in surveys.quarters
    ] == [
        ("2025-Q4", 1, -100.0, 1, 0.0),
        ("2026-Q1", 1, 100.0, 0, None),  # no satisfaction answer given this quarter
    ]
    assert (surveys.overall.nps_previous.answered, surveys.overall.nps_change) == (1, 200.0)


def test_the_answers_of_one_quarter_merge_field_by_field(desk: Engine) -> None:
    case = answer(desk, "phone", "standard", satisfied=True)
    later(desk, hours=1)
    desk.fire(case, "correct", {"nps": 10})  # the NPS question asked in a second call
    later(desk, hours=1)
    desk.fire(case, "correct", {"satisfied": False})  # and the first answer corrected
    [quarter] = build_report(desk.store).surveys.quarters
    assert (quarter.quarter, quarter.nps.answered, quarter.nps.promoters) == ("2025-Q4", 1, 1)
    assert (quarter.csat.total, quarter.csat.rate) == (1, 0.0)


@pytest.mark.parametrize("given", [11, -1, True, 7.5, "9", None])
def test_an_nps_that_is_not_a_whole_number_from_0_to_10_is_no_answer(given: Any) -> None:
    """A workflow may declare ``nps`` loosely (a number, a string): the report counts only
    whole numbers from 0 to 10, and still counts the case's CSAT."""
    entry = HistoryEntry(
        case_id="A",
        seq=1,
        at=datetime.fromisoformat(START),
        actor="host",
        kind="started",
        trigger=None,
        from_state=None,
        to_state="closed",
        payload={"customer": "c", "nps": given, "satisfied": True},
        version=1,
    )
    report = compute_report([CaseHistory("A", "surveyed", [entry])])
    assert report.overall.nps == Nps(answered=0, promoters=0, passives=0, detractors=0, score=None)
    assert report.surveys.overall.csat == Rate(1, 1, 1.0)


def test_no_survey_answers_says_so(desk: Engine) -> None:
    desk.start("surveyed", {"customer": "c"})
    report = build_report(desk.store)
    assert report.surveys.quarters == []
    assert "Surveys: no NPS or CSAT answers (nps, satisfied) in this history." in (
        render_text(report)
    )
    assert "No NPS or CSAT answers (nps, satisfied) in this history." in render_html(report)


def retention_case(
    desk: Engine, reason: str, call_after: float | None, outcome: str | None
) -> None:
    case = desk.start("care_retention", {"customer": "c", "reason": reason})
    if call_after is None:
        return
    later(desk, hours=call_after)
    desk.fire(case.id, "call")
    if outcome is not None:
        desk.fire(case.id, "decide", {"outcome": outcome})


def test_churn_risk_cases_opened_saved_and_callbacks_within_target(desk: Engine) -> None:
    retention_case(desk, "detractor", 2, "saved")  # called in 2 h: in time, saved
    retention_case(desk, "detractor", 30, "lost")  # called after 30 h: breached at 24 h, lost
    retention_case(desk, "repeat_complaints", 1, None)  # called in time, not decided yet
    retention_case(desk, "low_csat", None, None)  # opened last, not called yet, 0 h old
    care = json.loads(build_report(desk.store).to_json())["care"]
    assert care == {
        "opened": 4,
        "saved": 1,
        "lost": 1,
        "open": 2,
        "saved_rate": {"count": 1, "total": 2, "rate": 0.5},
        "reasons": {"detractor": 2, "low_csat": 1, "repeat_complaints": 1},
        "callbacks_in_time": {"count": 2, "total": 3, "rate": 0.6667},
        "callbacks_late": 1,
        "callbacks_due": 1,
    }
    report = build_report(desk.store)
    text = " ".join(render_text(report).split())
    assert (
        "Churn-risk cases: 4 opened (detractor 2, low_csat 1, repeat_complaints 1); 1 saved, "
        "1 lost, 2 open; saved 50.0% of those decided."
    ) in text
    assert (
        "Retention callbacks within target: 2 of 3 (66.7%, target 100%); 1 late or missed, "
        "1 still due."
    ) in text
    page = render_html(report)
    assert "retention callbacks in time" in page and "2/3, target 100%" in page


def test_an_unanswered_callback_counts_as_missed_once_its_deadline_passes(desk: Engine) -> None:
    retention_case(desk, "detractor", None, None)
    later(desk, hours=25)
    desk.advance()  # the breach fires at 24 h
    care = build_report(desk.store).care
    assert (care.callbacks_in_time.total, care.callbacks_late, care.callbacks_due) == (1, 1, 0)
