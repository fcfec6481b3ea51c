"""The soak run shared by ``tests/test_soak.py`` (bounded, in the suite) and
``benches/bench_soak.py`` (longer): a seeded stream of valid and invalid events, poisoned
templates, a failing workflow action and a flaky delivery plugin against one SQLite file that a
SIGKILLed process wrote to before, then :func:`audit` of the invariants svcflow promises.

Not a test module (no ``test_`` prefix); it keeps its own ledger of what was committed and
what was refused, and the audit compares the store with it.
"""

from __future__ import annotations

import random
import sqlite3
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from svcflow import Engine, ManualClock, SvcflowError, hookimpl, load_workflow_text
from svcflow.engine import build_plugin_host
from svcflow.errors import DeliveryFailed, MessageRejected
from svcflow.hooks.types import ActionCall
from svcflow.messaging.outbox import RetryPolicy
from svcflow.spec.extensions import using_extensions
from svcflow.testing import START, CapturedDeliveries

WORKFLOW = """\
workflow: soak
version: 1
title: Soak
data:
  customer: {type: string, required: true}
  count: {type: integer, default: 1}
  tier: string
states:
  new:
    initial: true
    on_enter:
      - notify: {template: greet, to: customer}
      - schedule: {trigger: remind, after: 30m}
  open:
    on_enter:
      - schedule: {trigger: expire, after: 2h, keep: true}
  closed: {final: true}
transitions:
  - {trigger: take, from: new, to: open}
  - trigger: remind
    from: new
    actions:
      - call: {action: crm_check, with: {customer: {expr: customer}}}
      - notify: {template: reminder, to: customer}
  - {trigger: note, from: "*", actions: [{set: {count: {expr: count + 1}}}]}
  - {trigger: close, from: open, to: closed}
  - {trigger: expire, from: "*", to: closed}
"""
TRIGGERS = ["take", "remind", "note", "close", "expire", "nonsense"]
TEMPLATES = {
    "greet.j2": "Hello {{ case.data.customer }}",
    "reminder.j2": "Still there? {{ 100 // case.data.count }}",  # poisoned when count is 0
}


class Crm:
    """A workflow action that fails for customers named ``broken...``."""

    @hookimpl
    def svcflow_workflow_actions(self) -> Mapping[str, Any]:
        return {"crm_check": self.check}

    def check(self, call: ActionCall) -> Mapping[str, Any]:
        if str(call.arguments["customer"]).startswith("broken"):
            raise TimeoutError("CRM did not answer")
        return {"tier": "gold"}


class Flaky(CapturedDeliveries):
    """The captured delivery plugin, failing one delivery in ``every``."""

    def __init__(self, rng: random.Random, every: int) -> None:
        super().__init__()
        self.rng, self.every = rng, every

    @hookimpl
    def svcflow_deliver(self, delivery: Any) -> Any:
        if self.rng.randrange(self.every) == 0:
            raise DeliveryFailed("the receiver hung up")
        return CapturedDeliveries.svcflow_deliver(self, delivery)


@dataclass
class Ledger:
    """What the run did, as the caller saw it."""

    events: Counter[str] = field(default_factory=Counter)  # committed events per case
    keys: dict[str, str] = field(default_factory=dict)  # idempotency key -> case id
    fired_timers: list[int] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)
    rejected_messages: int = 0
    operations: int = 0


def soak_engine(folder: Path, store: str, clock: ManualClock, rng: random.Random) -> Engine:
    templates = folder / "templates" / "en"
    templates.mkdir(parents=True, exist_ok=True)
    for name, text in TEMPLATES.items():
        (templates / name).write_text(text)
    host = build_plugin_host(
        [("crm", Crm()), ("flaky", Flaky(rng, every=5))],
        load_plugins=False,
        directory={"customer": "someone@example.com"},
    )
    with using_extensions(host.extensions()):
        workflow = load_workflow_text(WORKFLOW, "soak.yaml")
    return Engine(
        [workflow],
        store,
        clock,
        plugin_host=host,
        templates=folder / "templates",
        retry=RetryPolicy(max_attempts=3, first_delay=timedelta(minutes=1)),
        timer_retry=RetryPolicy(max_attempts=2, first_delay=timedelta(minutes=5)),
    )


def run(engine: Engine, clock: ManualClock, rng: random.Random, operations: int) -> Ledger:
    """``operations`` random calls, each recorded in the ledger with its outcome."""
    ledger = Ledger()
    cases: list[str] = []
    for _ in range(operations):
        roll = rng.random()
        try:
            if roll < 0.25 or not cases:
                _start(engine, rng, cases, ledger)
            elif roll < 0.7:
                _fire(engine, rng, cases, ledger)
            elif roll < 0.8:
                _ingest(engine, rng, ledger)
            else:
                clock.advance(timedelta(minutes=rng.randint(1, 40)))
                ledger.fired_timers.extend(f.timer.id for f in engine.advance())
                engine.dispatch()
        except SvcflowError as error:
            ledger.refused[type(error).__name__] += 1
        ledger.operations += 1
    return ledger


def _ingest(engine: Engine, rng: random.Random, ledger: Ledger) -> None:
    """A payload no workflow takes: refused, and kept as a dead letter."""
    try:
        engine.ingest("email", rng.choice([b"not an e-mail", b"\xff\xfe", b""]))
    except MessageRejected:
        ledger.rejected_messages += 1
        raise


def _start(engine: Engine, rng: random.Random, cases: list[str], ledger: Ledger) -> None:
    customer = rng.choice(["ann", "bo", "broken-1", "cy"])
    data: dict[str, Any] = {"customer": customer, "count": rng.choice([1, 2, 0])}
    if rng.random() < 0.1:
        data["count"] = "many"  # invalid: refused with CaseDataError
    key = f"start-{rng.randrange(40)}" if rng.random() < 0.3 else None
    if key is not None and key in ledger.keys:
        data = {"customer": "replayed", "count": 1} if rng.random() < 0.5 else data
    case = engine.start("soak", data, "soak", key)
    if key is not None and key in ledger.keys:
        return  # answered with the first result (or refused above as a reused key)
    if key is not None:
        ledger.keys[key] = case.id
    ledger.events[case.id] += 1
    cases.append(case.id)


def _fire(engine: Engine, rng: random.Random, cases: list[str], ledger: Ledger) -> None:
    case_id = rng.choice(cases)
    trigger = rng.choice(TRIGGERS)
    key = f"fire-{rng.randrange(60)}" if rng.random() < 0.3 else None
    replay = key is not None and key in ledger.keys
    engine.fire(case_id, trigger, None, "soak", key)
    if replay:
        return
    if key is not None:
        ledger.keys[key] = case_id
    ledger.events[case_id] += 1


def audit(engine: Engine, ledger: Ledger, database: Path) -> dict[str, int]:
    """Check every invariant; return what was seen (for the report)."""
    histories = {h.case_id: h for h in engine.store.histories()}
    soak = {case_id: h for case_id, h in histories.items() if h.workflow == "soak"}
    for history in histories.values():  # every history contiguous, the crashed writer's too
        assert [e.seq for e in history.entries] == list(range(1, len(history.entries) + 1))
    timer_entries = Counter(  # the killed writer's cases have timers that fell due too
        e.case_id for h in histories.values() for e in h.entries if e.actor == "timer"
    )
    for case_id, history in soak.items():
        caller = len([e for e in history.entries if e.actor != "timer"])
        assert caller == ledger.events[case_id], (case_id, caller, ledger.events[case_id])
        assert engine.get(case_id).revision == len(history.entries)
    assert sum(timer_entries.values()) == len(ledger.fired_timers)
    assert len(set(ledger.fired_timers)) == len(ledger.fired_timers), "a timer fired twice"
    remaining = [t for case_id in histories for t in engine.timers(case_id)]
    assert not {t.id for t in remaining} & set(ledger.fired_timers)
    assert {t.status for t in remaining} <= {"pending", "retrying", "failed"}
    outbox = [row for case_id in soak for row in engine.outbox(case_id)]
    assert {row.status for row in outbox} <= {"pending", "delivered", "dead"}
    assert all(row.last_error for row in outbox if row.status == "dead")
    assert len(engine.dead_letters()) == ledger.rejected_messages
    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    statuses = Counter(row.status for row in outbox)
    return {
        "operations": ledger.operations,
        "cases": len(soak),
        "events": sum(ledger.events.values()),
        "timers fired": len(ledger.fired_timers),
        "timers failed": len([t for t in remaining if t.status == "failed"]),
        "delivered": statuses["delivered"],
        "dead deliveries": statuses["dead"],
        "dead letters": ledger.rejected_messages,
        "refused calls": sum(ledger.refused.values()),
    }


__all__ = ["START", "Ledger", "audit", "run", "soak_engine"]
