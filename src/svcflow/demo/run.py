"""A seeded, reproducible week of service traffic through the shipped workflows.

Contacts arrive on every channel (:mod:`svcflow.demo.traffic`); simulated people act on each
case by its workflow's plan (:mod:`svcflow.demo.policy`), and the workflows' own timers (SLA
warnings and breaches, escalation levels, follow-ups, silence) fire at their due times on a
manual clock, as a runner would fire them in production. Every event is committed to the store
and the outbox is dispatched as the week goes on, so the history and the deliveries can be
inspected and reported on afterwards. The simulation is sequential and draws every random
number from one generator seeded with ``seed``: the same seed gives the same store content and
the same report.
"""

from __future__ import annotations

import heapq
import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from svcflow.clock import ManualClock
from svcflow.demo import care, complaint, crisis, escalation, im
from svcflow.demo.policy import Plan, Step
from svcflow.demo.traffic import WEEK_START, week_of_traffic
from svcflow.engine import Engine
from svcflow.errors import ConditionNotMet, TransitionNotAllowed
from svcflow.plugin import hookimpl
from svcflow.records import Case, HistoryEntry
from svcflow.simulate import play_until

__all__ = ["DEMO_PEOPLE", "PLANS", "DemoSummary", "run_demo"]

PLANS: Mapping[str, Plan] = {
    "complaint": complaint.PLAN,
    "escalation": escalation.PLAN,
    "crisis": crisis.PLAN,
    "im_first_response": im.PLAN,
    "care_retention": care.RETENTION_PLAN,
    "care_revisit": care.REVISIT_PLAN,
    "care_vip_review": care.VIP_REVIEW_PLAN,
}
"""The plan of each shipped workflow, by workflow id."""

DEMO_PEOPLE: Mapping[str, tuple[str, ...]] = {
    **{
        f"{role}-{number}": (role,)
        for role in ("team_lead", "service_manager", "director")
        for number in range(1, 6)
    },
    **{role: (role,) for role in ("legal", "pr", "executive", "pr_duty_officer")},
}
"""Who approves in the demo week: complaint approvers (``team_lead-3``...) and the crisis
approval chain; the statement writer and customers hold no roles."""
DISPATCH_EVERY = timedelta(minutes=30)
SETTLE = timedelta(days=8)
"""After the week, timers run on this long so waiting cases close (7 days of silence...)."""

Progress = Callable[[float, datetime, int], None]
"""``progress(share_done, simulated_now, cases_started)``."""


@dataclass
class DemoSummary:
    """What a demo run did: cases started per workflow, events, timers, deliveries."""

    store: str
    seed: int
    cases: Counter[str] = field(default_factory=Counter)
    events: int = 0
    timers_fired: int = 0
    steps_skipped: int = 0
    delivered: int = 0
    undelivered: int = 0
    states: Counter[tuple[str, str]] = field(default_factory=Counter)
    simulated_from: datetime = WEEK_START
    simulated_until: datetime = WEEK_START
    arrivals: int = 0
    """Cases started by the traffic itself (contacts, the crisis, its surge); the rest of
    ``cases`` were opened by the workflows (escalations)."""


@dataclass(order=True)
class _Due:
    at: datetime
    seq: int
    case_id: str | None = field(compare=False)
    state: str | None = field(compare=False)
    step: Step | None = field(compare=False, default=None)
    workflow: str | None = field(compare=False, default=None)
    data: Mapping[str, Any] | None = field(compare=False, default=None)


class _Week:
    """The simulation's agenda: people's steps and new contacts, in time order."""

    def __init__(
        self,
        engine: Engine,
        clock: ManualClock,
        rng: random.Random,
        started: _StartedByWorkflows,
    ) -> None:
        self.engine, self.clock, self.rng = engine, clock, rng
        self.started = started
        self.agenda: list[_Due] = []
        self.state: dict[str, str] = {}
        self.seq = 0

    def add(self, due: _Due) -> None:
        self.seq += 1
        due.seq = self.seq
        heapq.heappush(self.agenda, due)

    def planned(self, case: Case) -> None:
        """Remember ``case``'s state and schedule what people do next in it."""
        self.state[case.id] = case.state
        plan = PLANS.get(case.workflow)
        if plan is None:
            return
        for step in plan(case.state, case.data, self.rng):
            at = self.clock.now() + step.after
            if step.start is not None:
                data = {**(step.data or {}), step.link: case.id}
                self.add(
                    _Due(at=at, seq=0, case_id=None, state=None, workflow=step.start, data=data)
                )
            else:
                self.add(_Due(at=at, seq=0, case_id=case.id, state=case.state, step=step))

    def plan_started(self, summary: DemoSummary) -> None:
        """Plan the cases the workflows started since the last call (journeys, signals)."""
        for case in self.started.cases:
            summary.cases[case.workflow] += 1
            self.planned(case)
        self.started.cases.clear()

    def moved(self, case_id: str, state: str) -> None:
        """A timer moved a case: plan for its new state."""
        if self.state.get(case_id) != state:
            self.planned(self.engine.get(case_id))


class _StartedByWorkflows:
    """Collects the cases the workflows start themselves (``signals:``: revisits after a
    resolved complaint, retention callbacks after an unhappy answer), so their people can act:
    the demo sees them through the public ``svcflow_case_transition`` hook, as a host would."""

    def __init__(self) -> None:
        self.cases: list[Case] = []

    @hookimpl
    def svcflow_case_transition(self, case: Case, entry: HistoryEntry) -> None:
        if entry.kind == "started" and entry.actor == "care":
            self.cases.append(case)


def run_demo(
    workflows: str | Path,
    store: str,
    *,
    contacts: int = 3000,
    days: int = 7,
    seed: int = 7,
    plugins: Iterable[object] = (),
    directory: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> DemoSummary:
    """Simulate ``days`` days of ``contacts`` contacts (plus the crisis) on ``store``.

    ``plugins`` are passed to the engine (the CLI gives the console notifier); installed plugins
    are not loaded, so the demo behaves the same on every machine. ``directory`` maps roles to
    recipients. Returns what happened; the store holds the rest.
    """
    rng = random.Random(seed)
    clock = ManualClock(WEEK_START)
    summary = DemoSummary(store=store, seed=seed)
    arrivals = week_of_traffic(rng, contacts, days)
    summary.arrivals = len(arrivals)
    started = _StartedByWorkflows()
    with Engine.from_directory(
        workflows,
        store=store,
        clock=clock,
        id_factory=_ids(),
        plugins=[*plugins, started],
        load_plugins=False,
        directory=directory,
        roles=DEMO_PEOPLE,
    ) as engine:
        week = _Week(engine, clock, rng, started)
        care.add_care_customers(engine)
        week.plan_started(summary)
        for arrival in arrivals:
            week.add(
                _Due(
                    at=arrival.at,
                    seq=0,
                    case_id=None,
                    state=None,
                    workflow=arrival.workflow,
                    data=arrival.data,
                )
            )
        end = WEEK_START + timedelta(days=days)
        _play_week(engine, clock, week, summary, end, progress)
        summary.simulated_until = clock.now()
        summary.states = Counter((case.workflow, case.state) for case in engine.find())
    return summary


def _play_week(
    engine: Engine,
    clock: ManualClock,
    week: _Week,
    summary: DemoSummary,
    end: datetime,
    progress: Progress | None,
) -> None:
    """Act on the agenda in time order until ``end`` (and the settling time after it),
    advancing timers and dispatching the outbox on the way."""
    next_dispatch = WEEK_START + DISPATCH_EVERY
    while week.agenda:
        due = heapq.heappop(week.agenda)
        if due.at > end + SETTLE:
            break
        while next_dispatch <= due.at:
            _advance(engine, clock, week, summary, next_dispatch)
            _dispatch(engine, summary)
            next_dispatch += DISPATCH_EVERY
        _advance(engine, clock, week, summary, due.at)
        _act(engine, week, summary, due)
        if progress is not None and due.case_id is None:
            progress(min(1.0, (due.at - WEEK_START) / (end - WEEK_START)), due.at, len(week.state))
    _advance(engine, clock, week, summary, end + SETTLE)
    _dispatch(engine, summary)


def _advance(
    engine: Engine, clock: ManualClock, week: _Week, summary: DemoSummary, moment: datetime
) -> None:
    for firing in play_until(engine, clock, moment):
        summary.timers_fired += 1
        summary.events += 1
        week.moved(firing.entry.case_id, firing.entry.to_state)
    week.plan_started(summary)


def _act(engine: Engine, week: _Week, summary: DemoSummary, due: _Due) -> None:
    if due.case_id is None:
        assert due.workflow is not None
        case = engine.start(due.workflow, dict(due.data or {}), actor="intake")
        summary.cases[due.workflow] += 1
    else:
        step = due.step
        assert step is not None and step.trigger is not None
        if not step.anytime and week.state.get(due.case_id) != due.state:
            summary.steps_skipped += 1  # the case moved on (a timer) before the person acted
            return
        try:
            case = engine.fire(due.case_id, step.trigger, step.payload, actor=step.actor)
        except (TransitionNotAllowed, ConditionNotMet):
            summary.steps_skipped += 1
            return
        if case.state == due.state:
            summary.events += 1
            return
    summary.events += 1
    week.planned(case)
    week.plan_started(summary)


def _dispatch(engine: Engine, summary: DemoSummary) -> None:
    report = engine.dispatch()
    summary.delivered += len(report.delivered)
    summary.undelivered += len(report.dead)


def _ids() -> Callable[[], str]:
    counter = iter(range(1, 10**9))
    return lambda: f"SF-{next(counter):06d}"
