"""A failing timer, as an operator meets it: when exactly it is tried again, what the logs say,
and what happens when an event on the case arrives while one of its SLA timers keeps failing
(the event goes on; the timer keeps its own backoff and is never tried early)."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from svcflow import Engine, ManualClock, hookimpl, load_workflow_text
from svcflow.engine.timers import TIMER_BATCH
from svcflow.hooks.types import ActionCall
from svcflow.messaging.outbox import RetryPolicy
from svcflow.testing import EngineFactory

WATCHED = """\
workflow: watched
version: 1
title: Watched ticket
data:
  customer: {type: string, required: true}
  notes: {type: integer, default: 0}
states:
  new: {initial: true}
  done: {final: true}
transitions:
  - {trigger: note, from: new, actions: [{set: {notes: {expr: notes + 1}}}]}
  - {trigger: close, from: new, to: done}
sla:
  calendar: 24x7
  metrics:
    response:
      start: {enter: new}
      stop: {enter: done}
      targets: [{within: 1h}]
      on_breach:
        - call: {action: page_on_call, with: {customer: {expr: customer}}}
"""

PAGER_ERROR = (
    "PluginError: <test>:21:11: plugin action 'page_on_call' failed: ConnectionError: pager "
    "down; nothing was written"
)


class Pager:
    """An action plugin that fails until it is fixed."""

    def __init__(self) -> None:
        self.down = True
        self.paged: list[str] = []
        self.calls: list[tuple[str, datetime]] = []  # each call's case and moment

    @hookimpl
    def svcflow_workflow_actions(self) -> Mapping[str, Any]:
        return {"page_on_call": self.page}

    def page(self, call: ActionCall) -> Mapping[str, Any]:
        if self.down:
            raise ConnectionError("pager down")
        self.paged.append(str(call.arguments["customer"]))
        self.calls.append((call.case_id, call.now))
        return {}


def test_an_event_after_a_failing_breach_goes_on_and_the_breach_keeps_its_backoff(
    svcflow_engine: EngineFactory, svcflow_clock: ManualClock, store_url: str
) -> None:
    pager = Pager()
    engine = svcflow_engine(WATCHED, store=store_url, plugins=[("pager", pager)])
    case = engine.start("watched", {"customer": "ann"})
    start = svcflow_clock.now()
    svcflow_clock.advance("2h")

    assert engine.fire(case.id, "note").data["notes"] == 1
    [timer] = engine.timers(case.id)
    assert (timer.trigger, timer.status, timer.attempts) == (
        "sla:response:breach",
        "retrying",
        1,
    )
    assert timer.due_at == start + timedelta(hours=1)
    assert timer.retry_at == start + timedelta(hours=2, minutes=1)
    assert timer.last_error == PAGER_ERROR

    svcflow_clock.advance("59s")  # before its retry: the next event does not try it early
    engine.fire(case.id, "note")
    [timer] = engine.timers(case.id)
    assert (timer.attempts, timer.retry_at) == (1, start + timedelta(hours=2, minutes=1))

    svcflow_clock.advance("1s")  # at its retry moment: tried again, next in 4 minutes
    engine.fire(case.id, "note")
    [timer] = engine.timers(case.id)
    assert (timer.status, timer.attempts) == ("retrying", 2)
    assert timer.retry_at == start + timedelta(hours=2, minutes=5)

    pager.down = False
    svcflow_clock.advance("4m")
    assert engine.fire(case.id, "note").data["notes"] == 4
    assert engine.timers(case.id) == []
    assert pager.paged == ["ann"]
    kinds = [entry.kind for entry in engine.history(case.id)]
    assert kinds == ["started", "transition", "transition", "transition", "sla", "transition"]


def test_a_breach_parked_as_failed_waits_for_its_release_whatever_events_come(
    svcflow_engine: EngineFactory, svcflow_clock: ManualClock, store_url: str
) -> None:
    pager = Pager()
    engine = svcflow_engine(
        WATCHED,
        store=store_url,
        plugins=[("pager", pager)],
        timer_retry=RetryPolicy(max_attempts=1),
    )
    case = engine.start("watched", {"customer": "ann"})
    svcflow_clock.advance("2h")
    engine.fire(case.id, "note")
    [parked] = engine.failed_timers()
    assert (parked.case_id, parked.status, parked.attempts, parked.retry_at) == (
        case.id,
        "failed",
        1,
        None,
    )
    pager.down = False
    svcflow_clock.advance("1d")
    engine.fire(case.id, "note")
    assert engine.advance() == []
    assert [timer.id for timer in engine.failed_timers()] == [parked.id]
    assert pager.paged == []

    engine.retry_timer(parked.id)
    engine.fire(case.id, "note")
    assert pager.paged == ["ann"]
    assert engine.timers(case.id) == []


def _engine_with_case(
    svcflow_engine: EngineFactory, workflow: str, tmp_path: Path, pager: Pager, kept: str
) -> tuple[Engine, str]:
    """An engine and a case it just started, whose SLA state the engine reads back as the step
    wrote it (with its records), or as SQLite files before schema step 15 keep it (plain JSON:
    each moment parsed from its text)."""
    path = tmp_path / "cases.db"
    starter = svcflow_engine(workflow, store=f"sqlite:///{path}", plugins=[("pager", pager)])
    case = starter.start(workflow.split()[1], {"customer": "ann"})
    if kept == "as written":
        return starter, case.id
    with sqlite3.connect(path) as db:
        plain = {group: dict(states) for group, states in case.sla.items()}
        db.execute("UPDATE cases SET sla = ? WHERE id = ?", (json.dumps(plain), case.id))
    return svcflow_engine(workflow, store=f"sqlite:///{path}", plugins=[("pager", pager)]), case.id


@pytest.mark.parametrize("kept", ["as written", "as json"])
def test_a_breach_due_exactly_at_an_event_fires_before_it(
    svcflow_engine: EngineFactory, svcflow_clock: ManualClock, tmp_path: Path, kept: str
) -> None:
    pager = Pager()
    pager.down = False
    engine, case_id = _engine_with_case(svcflow_engine, WATCHED, tmp_path, pager, kept)
    svcflow_clock.advance("1h")
    engine.fire(case_id, "note")
    assert pager.calls == [(case_id, svcflow_clock.now())]
    assert [entry.kind for entry in engine.history(case_id)] == ["started", "sla", "transition"]
    svcflow_clock.advance("1h")  # the breached clock has nothing more due
    engine.fire(case_id, "close")
    assert pager.paged == ["ann"]
    assert [entry.kind for entry in engine.history(case_id)][-1] == "transition"


@pytest.mark.parametrize("kept", ["as written", "as json"])
def test_a_later_metric_due_at_an_event_fires_before_it_when_an_earlier_one_is_not_due(
    svcflow_engine: EngineFactory, svcflow_clock: ManualClock, tmp_path: Path, kept: str
) -> None:
    pager = Pager()
    pager.down = False
    resolution = (
        "    resolution:\n      start: {enter: new}\n      stop: {enter: done}\n"
        "      targets: [{within: 1d}]\n"
    )
    two = WATCHED.replace("  metrics:\n", "  metrics:\n" + resolution)
    engine, case_id = _engine_with_case(svcflow_engine, two, tmp_path, pager, kept)
    assert list(engine.get(case_id).sla["metrics"]) == ["resolution", "response"]
    svcflow_clock.advance("1h")
    engine.fire(case_id, "note")
    assert pager.paged == ["ann"]
    assert [(entry.kind, entry.trigger) for entry in engine.history(case_id)] == [
        ("started", None),
        ("sla", "sla:response:breach"),
        ("transition", "note"),
    ]


def test_every_overdue_sla_moment_fires_in_turn_before_an_event(
    svcflow_engine: EngineFactory, svcflow_clock: ManualClock
) -> None:
    pager = Pager()
    pager.down = False
    warned = WATCHED.replace(
        "      on_breach:\n",
        "      warnings:\n        - at: 50%\n          actions: [{set: {notes: 10}}]\n"
        "      on_breach:\n",
    )
    engine = svcflow_engine(warned, plugins=[("pager", pager)])
    case = engine.start("watched", {"customer": "ann"})
    svcflow_clock.advance("3h")
    assert engine.fire(case.id, "note").data["notes"] == 11
    assert [(entry.kind, entry.trigger) for entry in engine.history(case.id)] == [
        ("started", None),
        ("sla", "sla:response:warning:0"),
        ("sla", "sla:response:breach"),
        ("transition", "note"),
    ]


def test_an_event_leaves_overdue_plain_timers_to_advance_when_no_sla_moment_is_due(
    svcflow_engine: EngineFactory, svcflow_clock: ManualClock
) -> None:
    with_sla = CHECKED + (
        "sla:\n  calendar: 24x7\n  metrics:\n    response:\n      start: {enter: new}\n"
        "      stop: {enter: checked}\n      targets: [{within: 1d}]\n"
    )
    engine = svcflow_engine(with_sla, plugins=[("crm", Meddler())])
    case = engine.start("checked", {"customer": "ann"})
    svcflow_clock.advance("2h")
    assert engine.fire(case.id, "note").state == "new"
    assert [timer.trigger for timer in engine.timers(case.id)] == ["check", "sla:response:breach"]
    assert engine.advance()[0].entry.to_state == "checked"
    assert engine.get(case.id).sla["metrics"]["response"]["status"] == "stopped"  # by the timer


ESCALATING = """\
workflow: escalating
version: 1
title: A complaint that escalates until it is resolved
data:
  customer: {type: string, required: true}
states:
  received: {initial: true}
  resolved: {final: true}
transitions:
  - {trigger: resolve, from: received, to: resolved}
escalations:
  unanswered:
    start: {enter: received}
    cancel: {enter: resolved}
    levels:
      - {after: 15m, notify: team_lead, template: escalation_team_lead}
"""


def test_an_escalation_timer_is_recorded_as_an_escalation_of_its_case_at_its_moment(
    svcflow_engine: EngineFactory, svcflow_clock: ManualClock
) -> None:
    engine = svcflow_engine(ESCALATING)
    case = engine.start("escalating", {"customer": "ann"})
    started = engine.get(case.id).updated_at
    svcflow_clock.advance("1h")
    [firing] = engine.advance()
    assert (firing.entry.kind, firing.entry.trigger) == ("escalation", "esc:unanswered")
    assert (firing.entry.case_id, firing.entry.at) == (case.id, started + timedelta(minutes=15))
    [event] = firing.entry.details["sla"]
    assert (event["event"], event["at"]) == ("escalated", firing.entry.at.isoformat())
    [sent] = engine.notifications(case.id)
    assert (sent.case_id, sent.template, sent.recipients) == (
        case.id,
        "escalation_team_lead",
        ("team_lead",),
    )


def test_the_log_says_when_a_timer_is_retried_and_when_it_is_parked(
    svcflow_engine: EngineFactory, svcflow_clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    engine = svcflow_engine(
        WATCHED,
        plugins=[("pager", Pager())],
        timer_retry=RetryPolicy(max_attempts=2, first_delay=timedelta(minutes=5)),
    )
    case = engine.start("watched", {"customer": "ann"})
    svcflow_clock.advance("1h")
    caplog.set_level(logging.WARNING, logger="svcflow.timers")
    [retrying] = engine.advance().retrying
    retry_at = (svcflow_clock.now() + timedelta(minutes=5)).isoformat()
    where = f"timer {retrying.id} (sla:response:breach) of case {case.id}"
    svcflow_clock.advance("5m")
    [failed] = engine.advance().failed
    assert failed.id == retrying.id
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", f"{where} failed (attempt 1), retrying at {retry_at}: {PAGER_ERROR}"),
        ("ERROR", f"{where} failed 2 times, parked as failed: {PAGER_ERROR}"),
    ]


CHECKED = """\
workflow: checked
version: 1
title: Checked ticket
data:
  customer: {type: string, required: true}
  notes: {type: integer, default: 0}
  tier: string
states:
  new:
    initial: true
    on_enter:
      - schedule: {trigger: check, after: 1h}
  checked: {final: true}
  dropped: {final: true}
transitions:
  - {trigger: note, from: new, actions: [{set: {notes: {expr: notes + 1}}}]}
  - {trigger: drop, from: new, to: dropped}
  - trigger: check
    from: new
    to: checked
    actions:
      - call: {action: crm_check, with: {customer: {expr: customer}}}
"""


class Meddler:
    """A CRM check during which another process fires the next of ``triggers`` on the same
    case, one for each check while any are left (and with ``then_fail``, fails after that);
    the customer "bob" is checked in peace; with ``broken``, a check of "broken" fails."""

    def __init__(
        self, triggers: tuple[str, ...] = ("note",), broken: bool = False, then_fail: bool = False
    ) -> None:
        self.other: Engine | None = None
        self.triggers, self.broken, self.then_fail = triggers, broken, then_fail
        self.calls: list[int] = []

    @hookimpl
    def svcflow_workflow_actions(self) -> Mapping[str, Any]:
        return {"crm_check": self.check}

    def check(self, call: ActionCall) -> Mapping[str, Any]:
        if self.broken and call.arguments["customer"] == "broken":
            raise TimeoutError("CRM did not answer")
        self.calls.append(int(call.data["notes"]))
        if call.arguments["customer"] == "bob":  # bob is left alone
            return {"tier": "gold"}
        if self.other is not None and self.triggers:
            trigger, self.triggers = self.triggers[0], self.triggers[1:]
            self.other.fire(call.case_id, trigger)
        elif self.then_fail:
            raise TimeoutError("CRM did not answer")
        return {"tier": "gold"}


def test_a_timer_whose_case_changed_while_it_fired_fires_once_on_the_case_as_it_is_now(
    svcflow_engine: EngineFactory, svcflow_clock: ManualClock, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    meddler = Meddler()
    engine = svcflow_engine(CHECKED, store=url, plugins=[("crm", meddler)])
    meddler.other = svcflow_engine(CHECKED, store=url, plugins=[("crm", Meddler())])
    case = engine.start("checked", {"customer": "ann"})
    svcflow_clock.advance("1h")

    report = engine.advance()

    assert [firing.entry.case_id for firing in report] == [case.id]
    assert (report.retrying, report.failed) == ([], [])
    assert meddler.calls == [0, 1]  # tried on the case as read, then again after the note
    fired = engine.get(case.id)
    assert (fired.state, fired.data["notes"], fired.data["tier"]) == ("checked", 1, "gold")
    kinds = [entry.kind for entry in engine.history(case.id)]
    assert kinds == ["started", "transition", "timer"]
    assert engine.timers(case.id) == []


def test_a_timer_whose_case_changes_again_while_it_is_fired_again_still_fires_once(
    svcflow_engine: EngineFactory, svcflow_clock: ManualClock, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    meddler = Meddler(triggers=("note", "note"))
    engine = svcflow_engine(CHECKED, store=url, plugins=[("crm", meddler)])
    meddler.other = svcflow_engine(CHECKED, store=url, plugins=[("crm", Meddler())])
    case = engine.start("checked", {"customer": "ann"})
    svcflow_clock.advance("1h")
    assert [firing.entry.case_id for firing in engine.advance()] == [case.id]
    assert meddler.calls == [0, 1, 2]
    assert (engine.get(case.id).state, engine.get(case.id).data["notes"]) == ("checked", 2)


TWO_CHECKS = CHECKED.replace(
    "      - schedule: {trigger: check, after: 1h}\n",
    "      - schedule: {trigger: note, after: 30m}\n"
    "      - schedule: {trigger: check, after: 1h}\n",
)


def test_two_due_timers_of_one_case_in_one_batch_each_run_their_actions_once(
    svcflow_engine: EngineFactory, svcflow_clock: ManualClock
) -> None:
    meddler = Meddler()
    engine = svcflow_engine(TWO_CHECKS, plugins=[("crm", meddler)])
    case = engine.start("checked", {"customer": "ann"})
    svcflow_clock.advance("2h")
    report = engine.advance()
    assert [firing.entry.trigger for firing in report] == ["note", "check"]
    assert meddler.calls == [1]  # the check saw the note of the same batch, and ran once
    assert engine.get(case.id).data["notes"] == 1


CHAINED = """\
workflow: chained
version: 1
title: Two steps, each a timer
data:
  customer: {type: string, required: true}
states:
  new:
    initial: true
    on_enter:
      - schedule: {trigger: first, after: 1h}
  between:
    on_enter:
      - schedule: {trigger: second, after: 10m}
  done: {final: true}
transitions:
  - {trigger: first, from: new, to: between}
  - {trigger: second, from: between, to: done}
"""


def test_after_downtime_a_timer_a_firing_schedules_fires_before_later_ones_of_other_cases(
    svcflow_engine: EngineFactory, svcflow_clock: ManualClock
) -> None:
    engine = svcflow_engine(CHAINED)
    chained = engine.start("chained", {"customer": "ann"})
    svcflow_clock.advance("15m")
    later = engine.start("chained", {"customer": "bob"})  # its first is due at 1h15m
    svcflow_clock.advance("5h")
    report = engine.advance()
    assert [(f.entry.case_id, f.entry.trigger) for f in report] == [
        (chained.id, "first"),
        (chained.id, "second"),
        (later.id, "first"),
        (later.id, "second"),
    ]
    assert [f.entry.at - report[0].entry.at for f in report] == [
        timedelta(0),
        timedelta(minutes=10),
        timedelta(minutes=15),
        timedelta(minutes=25),
    ]


def test_a_timer_a_firing_schedules_fires_before_the_next_of_the_batch_not_the_previous(
    svcflow_engine: EngineFactory, svcflow_clock: ManualClock
) -> None:
    engine = svcflow_engine(CHAINED)
    early = engine.fire(engine.start("chained", {"customer": "ann"}).id, "first")
    svcflow_clock.advance("5m")
    chained = engine.start("chained", {"customer": "bob"})  # first at 1h05m, second 1h15m
    svcflow_clock.advance("15m")
    later = engine.start("chained", {"customer": "cy"})  # its first is due at 1h20m
    svcflow_clock.advance("5h")
    report = engine.advance()
    assert [(f.entry.case_id, f.entry.trigger) for f in report] == [
        (early.id, "second"),
        (chained.id, "first"),
        (chained.id, "second"),
        (later.id, "first"),
        (later.id, "second"),
    ]


def test_advance_with_a_limit_counts_the_timers_of_a_batch_that_ended_early(
    svcflow_engine: EngineFactory, svcflow_clock: ManualClock
) -> None:
    engine = svcflow_engine(CHAINED)
    chained = engine.start("chained", {"customer": "ann"})
    svcflow_clock.advance("15m")
    later = engine.start("chained", {"customer": "bob"})  # its first is due at 1h15m
    svcflow_clock.advance("5m")
    last = engine.start("chained", {"customer": "cy"})  # its first is due at 1h20m
    svcflow_clock.advance("5h")
    # ann's first ends the first claim (her second is due before bob's first)
    report = engine.advance(limit=3)
    assert [(f.entry.case_id, f.entry.trigger) for f in report] == [
        (chained.id, "first"),
        (chained.id, "second"),
        (later.id, "first"),
    ]
    assert [timer.trigger for timer in engine.timers(last.id)] == ["first"]


def test_a_claim_full_of_failing_timers_does_not_stop_advance_before_the_next_claim(
    svcflow_engine: EngineFactory, svcflow_clock: ManualClock
) -> None:
    broken = Meddler(broken=True)
    engine = svcflow_engine(CHECKED, plugins=[("crm", broken)])
    for _ in range(TIMER_BATCH):
        engine.start("checked", {"customer": "broken"})
    svcflow_clock.advance("1m")
    fine = engine.start("checked", {"customer": "fine"})
    svcflow_clock.advance("1h")
    report = engine.advance()
    assert len(report.retrying) == TIMER_BATCH
    assert [firing.entry.case_id for firing in report] == [fine.id]


def _shared(
    svcflow_engine: EngineFactory, tmp_path: Path, meddler: Meddler
) -> tuple[Engine, Engine]:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    engine = svcflow_engine(CHECKED, store=url, plugins=[("crm", meddler)])
    other = svcflow_engine(CHECKED, store=url, plugins=[("crm", Meddler())])
    meddler.other = other
    return engine, other


def test_a_timer_that_fails_when_fired_again_after_a_conflict_is_retried_with_backoff(
    svcflow_engine: EngineFactory, svcflow_clock: ManualClock, tmp_path: Path
) -> None:
    meddler = Meddler(then_fail=True)  # meddles on the first check, fails on the next
    engine, _ = _shared(svcflow_engine, tmp_path, meddler)
    case = engine.start("checked", {"customer": "ann"})
    svcflow_clock.advance("1h")
    report = engine.advance()
    assert list(report) == []
    [retrying] = report.retrying
    assert (retrying.case_id, retrying.attempts) == (case.id, 1)
    assert retrying.retry_at == svcflow_clock.now() + timedelta(minutes=1)
    assert engine.get(case.id).data["notes"] == 1  # the other process's note is kept


def test_a_timer_another_process_cancelled_while_it_fired_is_gone_and_the_batch_goes_on(
    svcflow_engine: EngineFactory, svcflow_clock: ManualClock, tmp_path: Path
) -> None:
    meddler = Meddler(triggers=("drop",))  # the other process closes the case meanwhile
    engine, _ = _shared(svcflow_engine, tmp_path, meddler)
    dropped = engine.start("checked", {"customer": "ann"})
    svcflow_clock.advance("1m")
    later = engine.start("checked", {"customer": "bob"})
    svcflow_clock.advance("1h")
    report = engine.advance()
    assert [firing.entry.case_id for firing in report] == [later.id]
    assert (report.retrying, report.failed) == ([], [])
    assert engine.get(dropped.id).state == "dropped"
    assert [entry.kind for entry in engine.history(dropped.id)] == ["started", "transition"]
    assert engine.get(later.id).state == "checked"


def test_timers_a_runner_has_claimed_are_left_alone_by_another_while_it_fires_them(
    svcflow_engine: EngineFactory, svcflow_clock: ManualClock, tmp_path: Path
) -> None:
    seen: list[list[str]] = []

    class Peeker(Meddler):
        def check(self, call: ActionCall) -> Mapping[str, Any]:
            if self.other is not None and not seen:
                seen.append([f.entry.case_id for f in self.other.advance()])
            return {"tier": "gold"}

    engine, _ = _shared(svcflow_engine, tmp_path, Peeker())
    cases = [engine.start("checked", {"customer": name}).id for name in ("ann", "bob")]
    svcflow_clock.advance("1h")
    assert [firing.entry.case_id for firing in engine.advance()] == cases
    assert seen == [[]]


DAILY_NUDGED = """\
workflow: daily_nudged
version: 1
title: A daily check-in, and a nudge an hour after opening
states:
  open:
    initial: true
    on_enter:
      - schedule: {trigger: nudge, after: 1h}
  closed: {final: true}
transitions:
  - {trigger: check_in, from: open}
  - {trigger: nudge, from: open}
  - {trigger: close, from: open, to: closed}
schedules:
  check_in: {every: 1 day, trigger: check_in}
"""


def test_a_plain_timer_of_a_case_with_a_recurring_schedule_fires_and_keeps_the_schedule(
    svcflow_engine: EngineFactory, svcflow_clock: ManualClock
) -> None:
    engine = svcflow_engine(DAILY_NUDGED)
    case = engine.start("daily_nudged", {})
    [schedule] = [timer for timer in engine.timers(case.id) if timer.trigger != "nudge"]
    svcflow_clock.advance("2h")
    report = engine.advance()
    assert [(f.entry.kind, f.entry.trigger) for f in report] == [("timer", "nudge")]
    assert (report.retrying, report.failed) == ([], [])
    assert [(t.trigger, t.due_at) for t in engine.timers(case.id)] == [
        (schedule.trigger, schedule.due_at)
    ]


def test_recomputing_deadlines_counts_no_case_of_a_workflow_without_clocks(
    svcflow_engine: EngineFactory,
) -> None:
    quiet = WATCHED.replace(
        "call: {action: page_on_call, with: {customer: {expr: customer}}}", "set: {notes: 5}"
    )
    engine = svcflow_engine(
        [load_workflow_text(quiet, "watched.yaml"), load_workflow_text(CHAINED, "chained.yaml")]
    )
    engine.start("chained", {"customer": "ann"})
    assert engine.recompute_deadlines() == 0
    watched = engine.start("watched", {"customer": "bob"})
    assert engine.recompute_deadlines() == 0  # the calendar did not change: nothing moves
    assert [entry.kind for entry in engine.history(watched.id)] == ["started"]


def test_advance_with_a_limit_fires_that_many_earliest_first_and_leaves_the_rest(
    svcflow_engine: EngineFactory, svcflow_clock: ManualClock
) -> None:
    engine = svcflow_engine(CHECKED, plugins=[("crm", Meddler())])
    cases = []
    for name in ("ann", "bob", "cy"):
        cases.append(engine.start("checked", {"customer": name}).id)
        svcflow_clock.advance("1m")
    svcflow_clock.advance("1h")
    first, second = engine.advance(limit=2)
    assert [first.entry.case_id, second.entry.case_id] == cases[:2]
    assert (first.entry.actor, first.entry.kind, first.entry.trigger) == ("timer", "timer", "check")
    assert (first.entry.from_state, first.entry.to_state) == ("new", "checked")
    assert [timer.trigger for timer in engine.timers(cases[2])] == ["check"]
    assert [firing.entry.case_id for firing in engine.advance(limit=2)] == cases[2:]


def test_a_timer_cancelled_while_it_is_fired_again_after_a_conflict_lets_the_batch_go_on(
    svcflow_engine: EngineFactory, svcflow_clock: ManualClock, tmp_path: Path
) -> None:
    meddler = Meddler(triggers=("note", "drop"))
    engine, _ = _shared(svcflow_engine, tmp_path, meddler)
    dropped = engine.start("checked", {"customer": "ann"})
    svcflow_clock.advance("1m")
    later = engine.start("checked", {"customer": "bob"})
    svcflow_clock.advance("1h")
    report = engine.advance()
    assert [firing.entry.case_id for firing in report] == [later.id]
    assert (report.retrying, report.failed) == ([], [])
    assert meddler.calls == [0, 0, 1]  # ann, bob, then ann again after the note
    assert engine.get(dropped.id).state == "dropped"
    assert engine.timers(dropped.id) == []
