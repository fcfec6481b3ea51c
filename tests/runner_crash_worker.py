"""Child process of ``tests/test_runner_crash.py``: one timer runner on a SQLite store.

Usage: ``python tests/runner_crash_worker.py DB WORKFLOW_FILE NOW LEASE_SECONDS PARK``

The worker opens an :class:`~svcflow.Engine` on DB with a fixed :class:`~svcflow.ManualClock`
at NOW and ``timer_lease`` LEASE_SECONDS, and calls ``advance()`` once. It reports on stdout,
one flushed line each, what it did, so the parent knows what it holds when it kills it:

* ``RUNNER <runner id>`` and ``READY`` once the engine is open; the worker then waits for a line
  on stdin, so several workers can be released at the same moment;
* ``CLAIMED <timer id> ...`` when a claim of due timers has been committed;
* ``FIRED <timer id> <case id> <trigger>`` when the firing of a timer has been committed;
* ``PARKED`` when it reaches the point PARK names, where it then blocks reading stdin until the
  parent SIGKILLs it (it exits with status 3 if stdin closes instead: the parent is gone);
* ``DONE <fired>`` when ``advance()`` returned; it then exits with status 0.

PARK is ``run`` (never park), ``before-fire:K`` (once at least K firings are committed, before
the next transaction of firings starts: ``advance`` commits firings in batches, so at the first
batch boundary at or after K), ``in-fire:K`` (inside the transaction that commits firing K+1,
just before its COMMIT: the worker dies holding the write lock) or ``in-claim:K`` (likewise
inside the transaction of claim K+1). Parking is what makes the kill points exact without any
sleep: the parent kills a worker that is known to be blocked at the point under test.

This is not a test module (no ``test_`` prefix).
"""

from __future__ import annotations

import os
import sys
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Sequence

    from svcflow.records import Timer
    from svcflow.store.base import CaseChange

PARK_KINDS = ("run", "before-fire", "in-fire", "in-claim")


class Park(NamedTuple):
    """Where the worker blocks: at ``kind`` (one of ``PARK_KINDS``) once ``after`` firings (or
    claims, for ``in-claim``) are committed."""

    kind: str
    after: int

    @classmethod
    def parse(cls, text: str) -> Park:
        kind, _, after = text.partition(":")
        if kind not in PARK_KINDS:
            raise SystemExit(f"unknown park point {text!r}; use one of {PARK_KINDS}")
        return cls(kind, int(after or 0))


def report(line: str) -> None:
    """One whole line on stdout, flushed, so the parent sees it before anything that follows."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def wait_for_parent() -> None:
    """Block until the parent writes a line; exit if it closed our stdin (it is gone)."""
    if not sys.stdin.readline():
        os._exit(3)


def park() -> None:
    """Tell the parent we are at the kill point, then block until it kills us."""
    report("PARKED")
    wait_for_parent()
    os._exit(4)  # the parent never answers a park: it kills


def main(argv: list[str]) -> int:
    db, workflow_file, now, lease, where = argv[1:6]
    from svcflow import Engine, ManualClock, load_workflow_file
    from svcflow.store.sqlite import SqliteStore

    spot = Park.parse(where)

    class ReportingStore(SqliteStore):
        """The real SQLite store, reporting claims and firings and parking where asked."""

        claims = 0
        firings = 0

        def claim_due_timers(
            self, now: datetime, limit: int, owner: str, lease_until: datetime
        ) -> list[Timer]:
            if spot == Park("in-claim", self.claims):
                self._park_at_commit()
            timers = super().claim_due_timers(now, limit, owner, lease_until)
            if timers:  # an empty claim takes no write lock and commits nothing
                self.claims += 1
                report("CLAIMED " + " ".join(str(timer.id) for timer in timers))
            return timers

        def commit(self, change: CaseChange) -> None:
            self._before([change])
            super().commit(change)
            self._fired([change])

        def commit_many(self, changes: Sequence[CaseChange]) -> list[Exception | None]:
            self._before(changes)
            outcomes = super().commit_many(changes)
            self._fired([c for c, o in zip(changes, outcomes, strict=True) if o is None])
            return outcomes

        def _before(self, changes: Sequence[CaseChange]) -> None:
            """Park before the transaction that takes the firings past ``after``, or inside
            the one that commits firing ``after + 1``."""
            count = sum(1 for change in changes if change.consume_timer is not None)
            if count and spot.kind == "before-fire" and self.firings >= spot.after:
                park()
            fires_it = self.firings <= spot.after < self.firings + count
            if spot.kind == "in-fire" and fires_it:
                self._park_at_commit()

        def _fired(self, changes: Sequence[CaseChange]) -> None:
            for change in changes:
                if change.consume_timer is not None:
                    self.firings += 1
                    trigger = change.history.trigger
                    report(f"FIRED {change.consume_timer} {change.case.id} {trigger}")

        def _park_at_commit(self) -> None:
            """Park when this thread's connection starts its next COMMIT: the transaction's
            writes are done but not committed, and the write lock is held."""

            def trace(statement: str) -> None:
                if statement.strip().upper() == "COMMIT":
                    park()

            self._connection().set_trace_callback(trace)

    store = ReportingStore(db)
    engine = Engine(
        [load_workflow_file(workflow_file)],
        store,
        ManualClock(now),
        timer_lease=timedelta(seconds=float(lease)),
    )
    with engine:
        report(f"RUNNER {engine.runner_id}")
        report("READY")
        wait_for_parent()
        fired = engine.advance()
        report(f"DONE {len(fired)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
