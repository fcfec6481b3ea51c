"""Child process of ``tests/test_postgres_crash.py``: one timer worker on a PostgreSQL store,
SIGKILLed where it parks.

Usage: ``python tests/postgres_crash_worker.py URL NOW LEASE_SECONDS PARK``

It opens an :class:`~svcflow.Engine` on URL with the MINIMAL ticket workflow, a
:class:`~svcflow.ManualClock` at NOW and ``timer_lease`` LEASE_SECONDS, prints ``READY``, waits
for a line on stdin, then calls ``advance()`` once, reporting on stdout, one flushed line each:
``CLAIMED <timer id> ...`` when a claim committed, ``FIRED <timer id>`` for each firing its
batch committed, and ``PARKED`` where PARK says, where it blocks until the parent kills it:

* ``after-claim``: its first claim committed (it holds the leases), nothing fired yet;
* ``in-batch:K``: inside the transaction of its first batch, after K firings were written and
  before the COMMIT (it holds the row locks of K cases and K consumed timers).

This is not a test module (no ``test_`` prefix).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support.workflows import MINIMAL
from svcflow import Engine, ManualClock, load_workflow_text
from svcflow.records import Timer
from svcflow.store.base import CaseChange
from svcflow.store.postgres import PostgresStore


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def park() -> None:
    say("PARKED")
    sys.stdin.readline()
    os._exit(4)  # the parent never answers a park: it kills


class ParkingStore(PostgresStore):
    """The real PostgreSQL store, reporting claims and firings and parking where asked."""

    def __init__(self, url: str, where: str) -> None:
        super().__init__(url)
        self.where, self.applied = where, 0

    def claim_due_timers(
        self, now: datetime, limit: int, owner: str, lease_until: datetime
    ) -> list[Timer]:
        timers = super().claim_due_timers(now, limit, owner, lease_until)
        if timers:
            say("CLAIMED " + " ".join(str(timer.id) for timer in timers))
            if self.where == "after-claim":
                park()
        return timers

    def _apply(self, db: Any, change: CaseChange, prepared: Any) -> Any:
        result = super()._apply(db, change, prepared)  # (raises when the change is refused)
        self.applied += 1
        if self.where == f"in-batch:{self.applied}":
            park()
        return result

    def commit_many(self, changes: Sequence[CaseChange]) -> list[Exception | None]:
        outcomes = super().commit_many(changes)
        for change, outcome in zip(changes, outcomes, strict=True):
            if outcome is None and change.consume_timer is not None:
                say(f"FIRED {change.consume_timer}")
        return outcomes


def main(url: str, now: str, lease: str, where: str) -> None:
    workflow = load_workflow_text(MINIMAL, "ticket.yaml")
    store = ParkingStore(url, where)
    clock = ManualClock(now)
    lease_time = timedelta(seconds=float(lease))
    with Engine([workflow], store, clock, timer_lease=lease_time) as engine:
        say("READY")
        sys.stdin.readline()
        fired = engine.advance()
        say(f"DONE {len(fired)}")


if __name__ == "__main__":
    main(*sys.argv[1:5])
