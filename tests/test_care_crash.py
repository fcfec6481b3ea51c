"""A recurring schedule's timer and a runner killed with SIGKILL: the occurrence fires once.

Firing a schedule's trigger, consuming its timer and adding the next occurrence's timer are one
unit of work. A runner (``tests/runner_crash_worker.py``, a real process on a SQLite file)
parks inside that transaction, just before its COMMIT, after a three-day outage, and is killed
there: nothing of the firing is kept, and the runner that takes over once the lease runs out
fires the latest missed occurrence once, with the three earlier ones counted as skipped, and
arms the next one. A runner that is not killed leaves nothing for the next runner to fire.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from svcflow import Engine, ManualClock, load_workflow_file
from test_runner_crash import LEASE, Worker

DAILY = """\
workflow: daily_check
version: 1
title: A daily check-in while the case is open
states:
  open: {initial: true}
  closed: {final: true}
transitions:
  - {trigger: check_in, from: open}
  - {trigger: close, from: open, to: closed}
schedules:
  check_in: {every: 1 day, trigger: check_in}
"""

STARTED = datetime(2026, 3, 2, 8, tzinfo=UTC)
BACK = datetime(2026, 3, 6, 12, tzinfo=UTC)  # due 3, 4, 5 and 6 March at 09:00; nobody ran


@pytest.mark.slow
@pytest.mark.parametrize("park", ["in-fire:0", "run"])
def test_a_runner_killed_while_firing_a_schedule_leaves_one_firing(
    tmp_path: Path, park: str
) -> None:
    db, workflow = tmp_path / "cases.db", tmp_path / "daily.yaml"
    workflow.write_text(DAILY)
    with Engine([load_workflow_file(workflow)], f"sqlite:///{db}", ManualClock(STARTED)) as engine:
        case = engine.start("daily_check")
        [timer] = engine.store.timers(case.id)
    assert (timer.trigger, timer.due_at) == ("rec:check_in", datetime(2026, 3, 3, 9, tzinfo=UTC))
    worker = Worker(db, workflow, BACK, park, tmp_path / "worker.log", small_pipe=False)
    try:
        worker.wait_for("READY")
        worker.release()
        if park == "run":
            worker.wait_for("DONE 1")
        else:
            worker.wait_for("PARKED")
            worker.kill()
    finally:
        worker.close()
    later = BACK + LEASE + timedelta(seconds=1)
    with Engine([load_workflow_file(workflow)], f"sqlite:///{db}", ManualClock(later)) as engine:
        again = engine.advance()
        firings = [e for e in engine.history(case.id) if e.trigger == "check_in"]
        [pending] = engine.store.timers(case.id)
    assert len(again) == (0 if park == "run" else 1)
    assert [(e.at, e.details["skipped"]) for e in firings] == [
        (datetime(2026, 3, 6, 9, tzinfo=UTC), 3)
    ]
    assert (pending.trigger, pending.due_at) == (
        "rec:check_in",
        datetime(2026, 3, 7, 9, tzinfo=UTC),
    )
