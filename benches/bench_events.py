"""Events per second for one complaint case run, by svcflow and by two bare state-machine libraries.

Every variant runs the same 8-event life of a complaint (``workflows/complaint.yaml``), case after
case: create the case, ``acknowledge``, ``investigate``, ``ask_customer``, ``customer_replied``,
``resolve`` (payload ``resolution="refund"``, guarded by "resolution is non-empty"),
``follow_up_due`` and ``callback_done`` (payload ``satisfied=True``, guarded by "satisfied is
true"). Each of the 8 operations counts as one event.

  (a) svcflow, ``memory://`` store: the full engine (payload validation with pydantic, CEL guards,
      on_enter actions, timers, outbox, history) without I/O.
  (b) svcflow on a SQLite file (WAL, ``synchronous=NORMAL``): (a) plus one durable transaction
      per event, which is what a production deployment pays.
  (c) bare ``transitions``: ONE shared ``Machine(model=None)``, cases are plain objects with a
      ``state`` attribute, fired through ``machine.events[trigger].trigger(case)``, guards are plain
      Python callables. This is the floor svcflow is built on (svcflow shares one machine per
      workflow version the same way), so (a)/(c) is svcflow's own overhead.
  (d) python-statemachine 3: one ``StateMachine`` instance per case, the usual way to use it.

(c) and (d) validate nothing, record nothing and schedule nothing: they show what the state
machine alone costs. Each variant gets a fresh engine/store per repetition, a warm-up, then the
timed run (``time.perf_counter``); the best of the repetitions is reported. The memory held per
open case for (a) is measured with ``tracemalloc``, after ``start`` and after 3 more events.

Run: ``python benches/bench_events.py [--cases 2000] [--json results.json]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from statemachine import State, StateMachine
from transitions import EventData, Machine

from svcflow import Engine, ManualClock

WORKFLOW_FILE = Path(__file__).resolve().parent.parent / "workflows" / "complaint.yaml"
CLOCK_START = "2026-03-02T09:00:00+00:00"
START_DATA: dict[str, Any] = {"customer": "C-1042", "channel": "email", "summary": "Late parcel"}
STEPS: list[tuple[str, dict[str, Any] | None]] = [
    ("acknowledge", None),
    ("investigate", None),
    ("ask_customer", None),
    ("customer_replied", None),
    ("resolve", {"resolution": "refund"}),
    ("follow_up_due", None),
    ("callback_done", {"satisfied": True}),
]
EVENTS_PER_CASE = 1 + len(STEPS)  # the start counts as an event

Runner = Callable[[int], int]  # runs n cases, returns how many ended "closed"


@dataclass
class Harness:
    run: Runner
    close: Callable[[], None]


@dataclass
class Result:
    variant: str
    description: str
    events_per_s: float
    us_per_event: float
    ratio_vs_c: float = 0.0


# -- (a), (b): svcflow ----------------------------------------------------------------------------


def svcflow_harness(store: str, workflows: Path) -> Harness:
    engine = Engine.from_directory(workflows, store=store, clock=ManualClock(CLOCK_START))

    def run(n: int) -> int:
        start, fire, closed = engine.start, engine.fire, 0
        for _ in range(n):
            case = start("complaint", START_DATA, actor="bench")
            for trigger, payload in STEPS:
                case = fire(case.id, trigger, payload, actor="bench")
            closed += case.state == "closed"
        return closed

    return Harness(run, engine.close)


# -- (c): bare transitions, one shared machine ----------------------------------------------------


class BareCase:
    __slots__ = ("data", "state")

    def __init__(self, data: dict[str, Any]) -> None:
        self.state = "received"
        self.data = data


def _has_resolution(event: EventData) -> bool:
    resolution = event.model.data.get("resolution")
    return resolution is not None and resolution != ""


def _satisfied(event: EventData) -> bool:
    return event.model.data.get("satisfied") is True


def _unsatisfied(event: EventData) -> bool:
    return event.model.data.get("satisfied") is False


def bare_machine() -> Machine:
    names = ["received", "acknowledged", "investigating", "waiting_on_customer", "resolved"]
    machine = Machine(
        model=None,
        states=[*names, "follow_up", {"name": "closed", "final": True}],
        initial="received",
        auto_transitions=False,
        send_event=True,
    )
    add = machine.add_transition
    add("acknowledge", "received", "acknowledged")
    add("investigate", "acknowledged", "investigating")
    add("ask_customer", ["acknowledged", "investigating"], "waiting_on_customer")
    add("customer_replied", "waiting_on_customer", "investigating")
    add("resolve", ["acknowledged", "investigating"], "resolved", conditions=[_has_resolution])
    add("follow_up_due", "resolved", "follow_up")
    add("callback_done", "follow_up", "closed", conditions=[_satisfied])
    add("callback_done", "follow_up", "investigating", conditions=[_unsatisfied])
    return machine


def transitions_harness() -> Harness:
    events = bare_machine().events

    def run(n: int) -> int:
        closed = 0
        for _ in range(n):
            case = BareCase(dict(START_DATA))
            for trigger, payload in STEPS:
                if payload:
                    case.data.update(payload)
                if not events[trigger].trigger(case):
                    raise RuntimeError(f"condition of {trigger!r} not met")
            closed += case.state == "closed"
        return closed

    return Harness(run, lambda: None)


# -- (d): python-statemachine, one instance per case -----------------------------------------------


class ComplaintMachine(StateMachine):
    received = State(initial=True)
    acknowledged = State()
    investigating = State()
    waiting_on_customer = State()
    resolved = State()
    follow_up = State()
    closed = State(final=True)

    acknowledge = received.to(acknowledged)
    investigate = acknowledged.to(investigating)
    ask_customer = acknowledged.to(waiting_on_customer) | investigating.to(waiting_on_customer)
    customer_replied = waiting_on_customer.to(investigating)
    resolve = acknowledged.to(resolved, cond="has_resolution") | investigating.to(
        resolved, cond="has_resolution"
    )
    follow_up_due = resolved.to(follow_up)
    callback_done = follow_up.to(closed, cond="satisfied") | follow_up.to(
        investigating, cond="unsatisfied"
    )

    def has_resolution(self, resolution: str | None = None) -> bool:
        return resolution is not None and resolution != ""

    def satisfied(self, satisfied: bool | None = None) -> bool:
        return satisfied is True

    def unsatisfied(self, satisfied: bool | None = None) -> bool:
        return satisfied is False


def statemachine_harness() -> Harness:
    def run(n: int) -> int:
        closed = 0
        for _ in range(n):
            machine = ComplaintMachine()
            for trigger, payload in STEPS:
                machine.send(trigger, **(payload or {}))
            closed += machine.current_state_value == "closed"
        return closed

    return Harness(run, lambda: None)


# -- measuring ------------------------------------------------------------------------------------


def best_time(make: Callable[[], Harness], cases: int, warmup: int, repeats: int) -> float:
    """Seconds for ``cases`` cases, best of ``repeats`` fresh harnesses (each warmed up first)."""
    best = float("inf")
    for _ in range(repeats):
        harness = make()
        try:
            harness.run(warmup)
            gc.collect()
            began = time.perf_counter()
            closed = harness.run(cases)
            elapsed = time.perf_counter() - began
        finally:
            harness.close()
        if closed != cases:
            raise RuntimeError(f"only {closed} of {cases} cases reached 'closed'")
        best = min(best, elapsed)
    return best


def memory_per_case(workflows: Path, cases: int) -> dict[str, float]:
    """Bytes traced per open case on ``memory://``: after start, and after 3 more events."""
    engine = Engine.from_directory(workflows, store="memory://", clock=ManualClock(CLOCK_START))
    warm = engine.start("complaint", START_DATA)  # warm lazy caches
    for trigger, payload in STEPS[:3]:
        engine.fire(warm.id, trigger, payload)
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    ids = [engine.start("complaint", START_DATA, actor="bench").id for _ in range(cases)]
    gc.collect()
    after_start = tracemalloc.get_traced_memory()[0] - base
    for case_id in ids:
        for trigger, payload in STEPS[:3]:
            engine.fire(case_id, trigger, payload, actor="bench")
    gc.collect()
    after_three = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    engine.close()
    return {"after_start": after_start / cases, "after_3_events": after_three / cases}


def machine_info() -> dict[str, Any]:
    packages = ["transitions", "python-statemachine", "pydantic", "common-expression-language"]
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "packages": {name: version(name) for name in ["svcflow", *packages]},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000, help="cases per timed run")
    parser.add_argument("--warmup", type=int, default=200, help="cases run before timing")
    parser.add_argument("--repeats", type=int, default=3, help="repetitions (best is kept)")
    parser.add_argument("--memory-cases", type=int, default=5000, help="open cases for memory")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="svcflow-bench-"))
    try:
        workflows = tmp / "workflows"
        workflows.mkdir()
        shutil.copy(WORKFLOW_FILE, workflows / "complaint.yaml")
        counter = iter(range(1_000_000))
        variants: list[tuple[str, str, Callable[[], Harness]]] = [
            ("a", "svcflow memory://", lambda: svcflow_harness("memory://", workflows)),
            (
                "b",
                "svcflow sqlite (NORMAL)",
                lambda: svcflow_harness(f"sqlite:///{tmp}/cases-{next(counter)}.db", workflows),
            ),
            ("c", "transitions, 1 shared Machine", transitions_harness),
            ("d", "python-statemachine, 1 per case", statemachine_harness),
        ]
        results: list[Result] = []
        for key, description, make in variants:
            seconds = best_time(make, args.cases, args.warmup, args.repeats)
            events = args.cases * EVENTS_PER_CASE
            results.append(Result(key, description, events / seconds, seconds / events * 1e6))
        memory = memory_per_case(workflows, args.memory_cases)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    by_key = {r.variant: r for r in results}
    for result in results:
        result.ratio_vs_c = result.us_per_event / by_key["c"].us_per_event
    info = machine_info()
    print(f"Python {info['python']} on {info['platform']}, {info['cpus']} CPUs")
    print(
        f"{args.cases} cases x {EVENTS_PER_CASE} events, warm-up {args.warmup} cases, "
        f"best of {args.repeats}\n"
    )
    print(f"{'variant':<38} {'events/s':>10} {'µs/event':>9} {'vs (c)':>7}")
    for r in results:
        name = f"({r.variant}) {r.description}"
        print(f"{name:<38} {r.events_per_s:>10,.0f} {r.us_per_event:>9.2f} {r.ratio_vs_c:>6.1f}x")
    print(
        f"\nmemory per open case on memory:// ({args.memory_cases} cases): "
        f"{memory['after_start']:,.0f} B after start, "
        f"{memory['after_3_events']:,.0f} B after 3 more events"
    )
    worst_memory = max(memory.values())
    targets = {
        "a_within_2x_of_c": by_key["a"].ratio_vs_c <= 2.0,
        "b_at_least_5000_events_per_s": by_key["b"].events_per_s >= 5000,
        "a_memory_under_2kb_per_open_case": worst_memory < 2048,
    }
    print("\ntargets:")
    print(f"  (a) within 2x of (c) per event: {by_key['a'].ratio_vs_c:.1f}x -> ", end="")
    print("met" if targets["a_within_2x_of_c"] else "NOT met")
    print(f"  (b) >= 5,000 events/s: {by_key['b'].events_per_s:,.0f} -> ", end="")
    print("met" if targets["b_at_least_5000_events_per_s"] else "NOT met")
    print(f"  (a) < 2 KB per open case: {worst_memory:,.0f} B -> ", end="")
    print("met" if targets["a_memory_under_2kb_per_open_case"] else "NOT met")

    if args.json:
        report = {
            "machine": info,
            "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "events_per_case": EVENTS_PER_CASE,
            "results": [asdict(r) for r in results],
            "memory_bytes_per_open_case": memory,
            "targets_met": targets,
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
