"""A seeded, reproducible simulation of complaint traffic through the shipped workflow.

Agents and customers are simulated by a small policy per state (how long until an agent
acknowledges, how often a customer goes silent or is unhappy at the follow-up call); the
workflow's own timers (15-minute response, 24-hour resolution, 48-hour follow-up, 7-day silence)
fire through :meth:`Engine.advance` on a manual clock, as the runner would fire them in
production. Everything is committed to the store, so the history can be inspected afterwards.
"""

from __future__ import annotations

import heapq
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from svcflow.clock import ManualClock
from svcflow.engine import Engine
from svcflow.errors import TransitionNotAllowed
from svcflow.simulate import play_until

__all__ = ["DemoSummary", "run_demo"]

CATEGORY_MIX = {
    "product_quality": 30,
    "service_attitude": 24,
    "logistics": 15,
    "after_sales": 12,
    "other": 9,
}
CHANNEL_MIX = {"phone": 30, "email": 15, "chat": 20, "app": 15, "web": 10, "social": 10}
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@dataclass
class DemoSummary:
    """What a demo run did."""

    cases: int
    events: int = 0
    timers_fired: int = 0
    states: Counter[str] = field(default_factory=Counter)
    notifications: int = 0
    store: str = ""
    simulated_until: datetime = START


@dataclass(order=True)
class _Action:
    at: datetime
    seq: int
    case_id: str = field(compare=False)
    trigger: str = field(compare=False)
    payload: dict[str, Any] | None = field(compare=False, default=None)


class _Simulation:
    def __init__(self, engine: Engine, clock: ManualClock, seed: int) -> None:
        self.engine, self.clock = engine, clock
        self.random = random.Random(seed)
        self.queue: list[_Action] = []
        self.seq = 0

    def later(self, case_id: str, trigger: str, minutes: float, payload: Any = None) -> None:
        self.seq += 1
        at = self.clock.now() + timedelta(minutes=max(1.0, minutes))
        heapq.heappush(self.queue, _Action(at, self.seq, case_id, trigger, payload))

    def plan(self, case_id: str, state: str) -> None:
        """Decide what a person does next with a case that just entered ``state``."""
        chance = self.random.random()
        if state == "received":
            self.later(case_id, "acknowledge", self.random.lognormvariate(2.0, 0.7))
        elif state == "acknowledged":
            trigger = "investigate" if chance < 0.7 else "ask_customer"
            self.later(case_id, trigger, self.random.uniform(10, 60))
        elif state == "investigating":
            if chance < 0.1:
                self.later(case_id, "ask_customer", self.random.uniform(30, 240))
            else:
                hours = self.random.uniform(1, 30)
                self.later(case_id, "resolve", hours * 60, {"resolution": "replacement offered"})
        elif state == "waiting_on_customer" and chance < 0.8:
            self.later(case_id, "customer_replied", self.random.uniform(60, 30 * 60))
        elif state == "resolved" and chance < 0.05:
            self.later(case_id, "reopen", self.random.uniform(60, 20 * 60))
        elif state == "follow_up":
            satisfied = self.random.random() < 0.85
            self.later(
                case_id, "callback_done", self.random.uniform(60, 240), {"satisfied": satisfied}
            )


def _weighted(generator: random.Random, mix: dict[str, int]) -> str:
    return generator.choices(list(mix), weights=list(mix.values()))[0]


def run_demo(
    workflows: str | Path,
    store: str,
    *,
    cases: int = 500,
    days: int = 5,
    seed: int = 7,
    progress: Callable[[int, int], None] | None = None,
) -> DemoSummary:
    """Simulate ``cases`` complaints arriving over ``days`` days, then let everything settle."""
    clock = ManualClock(START)
    summary = DemoSummary(cases=cases, store=store)
    with Engine.from_directory(
        workflows, store=store, clock=clock, id_factory=_ids(seed)
    ) as engine:
        sim = _Simulation(engine, clock, seed)
        arrivals = sorted(
            START + timedelta(minutes=sim.random.uniform(0, days * 24 * 60)) for _ in range(cases)
        )
        for index, arrival in enumerate(arrivals):
            sim.seq += 1
            heapq.heappush(sim.queue, _Action(arrival, sim.seq, f"new:{index}", "start"))
        done = 0
        while sim.queue:
            action = heapq.heappop(sim.queue)
            for firing in play_until(engine, clock, action.at):
                summary.timers_fired += 1
                summary.events += 1
                sim.plan(firing.entry.case_id, firing.entry.to_state)
            if action.trigger == "start":
                case = engine.start(
                    "complaint",
                    {
                        "customer": f"customer-{action.case_id[4:]}",
                        "channel": _weighted(sim.random, CHANNEL_MIX),
                        "category": _weighted(sim.random, CATEGORY_MIX),
                    },
                    actor="intake",
                )
                done += 1
                if progress:
                    progress(done, cases)
            else:
                try:
                    case = engine.fire(
                        action.case_id, action.trigger, action.payload, actor="agent"
                    )
                except TransitionNotAllowed:
                    continue
            summary.events += 1
            sim.plan(case.id, case.state)
        for _ in play_until(engine, clock, clock.now() + timedelta(days=8)):
            summary.timers_fired += 1
            summary.events += 1
        summary.simulated_until = clock.now()
        summary.states = Counter(case.state for case in engine.find(workflow="complaint"))
        summary.notifications = len(engine.notifications())
    return summary


def _ids(seed: int) -> Callable[[], str]:
    counter = iter(range(1, 10**9))
    return lambda: f"C{seed:02d}-{next(counter):06d}"
