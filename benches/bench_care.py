"""Proactive care: what a schedule occurrence and a signal cost.

Measures, on ``memory://`` and SQLite, (1) firing recurring schedules: N customer-scoped cases
each with a daily schedule, one ``advance()`` a day later fires N occurrences (each one unit of
work that consumes the timer, fires the trigger and arms the next occurrence); (2) a signal:
N survey answers each opening a retention case for its customer (the answer's commit, the
signal's condition, the start of the other case); (3) the same N answers when no workflow
listens (the baseline a signal adds to). Run: ``python benches/bench_care.py [--cases 500]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from svcflow import Engine, ManualClock, load_workflow_text

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

DAILY = """\
workflow: daily
version: 1
title: Daily check-in
scope: customer
states:
  open: {initial: true}
  closed: {final: true}
transitions:
  - {trigger: check_in, from: open}
  - {trigger: close, from: open, to: closed}
schedules:
  check_in: {every: 1 day, trigger: check_in}
"""

SURVEY = """\
workflow: survey
version: 1
title: Survey
data:
  nps: integer
states:
  sent: {initial: true}
  answered: {final: true}
transitions:
  - {trigger: answer, from: sent, to: answered}
"""

RETENTION = """\
workflow: retention
version: 1
title: Retention
scope: customer
states:
  due: {initial: true}
  done: {final: true}
transitions:
  - {trigger: call, from: due, to: done}
signals:
  - {event: survey.answer, when: 'payload.nps <= 6', start: {}}
"""


def engine(store: str, *texts: str) -> tuple[Engine, ManualClock]:
    clock = ManualClock(START)
    loaded = [load_workflow_text(text, f"w{n}.yaml") for n, text in enumerate(texts)]
    return Engine(loaded, store, clock), clock


def schedules(store: str, cases: int) -> float:
    desk, clock = engine(store, DAILY)
    with desk:
        for n in range(cases):
            desk.start("daily", customer=desk.customers.add(f"c{n}"))
        clock.advance(timedelta(days=1, hours=1))
        began = time.perf_counter()
        fired = desk.advance()
        elapsed = time.perf_counter() - began
    assert len(fired) == cases
    return elapsed


def answers(store: str, cases: int, listening: bool) -> float:
    texts = (SURVEY, RETENTION) if listening else (SURVEY,)
    desk, _ = engine(store, *texts)
    with desk:
        surveys = [desk.start("survey", customer=desk.customers.add(f"c{n}")) for n in range(cases)]
        began = time.perf_counter()
        for survey in surveys:
            desk.fire(survey.id, "answer", {"nps": 3})
        elapsed = time.perf_counter() - began
        assert len(desk.find(workflow="retention")) == (cases if listening else 0)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=500)
    options = parser.parse_args()
    n = options.cases
    with tempfile.TemporaryDirectory() as folder:
        for name, url in (("memory", "memory://"), ("sqlite", f"sqlite:///{folder}/care.db")):
            fire = schedules(url, n)
            (Path(folder) / "care.db").unlink(missing_ok=True)
            bare = answers(url, n, listening=False)
            (Path(folder) / "care.db").unlink(missing_ok=True)
            signalled = answers(url, n, listening=True)
            (Path(folder) / "care.db").unlink(missing_ok=True)
            print(
                f"{name:7} schedule occurrence fired and re-armed: {fire / n * 1e3:.2f} ms; "
                f"survey answer: {bare / n * 1e3:.2f} ms, with a signal starting a retention "
                f"case: {signalled / n * 1e3:.2f} ms"
            )


if __name__ == "__main__":
    main()
