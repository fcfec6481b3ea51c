"""Child process of ``tests/test_postgres_workers.py``: one of several processes racing on one
PostgreSQL store.

Usage: ``python tests/postgres_race_worker.py URL NOW MODE NAME [CASE_ID COUNT]``

It opens an :class:`~svcflow.Engine` on URL with the MINIMAL ticket workflow (no installed
plugins: it delivers nothing, and starts faster) and a
:class:`~svcflow.ManualClock` at NOW, prints ``READY`` and waits for a line on stdin, so the
parent releases every process at the same moment. Then:

* ``events``: fires ``remind`` COUNT times on CASE_ID, each with the idempotency key
  ``NAME:n``, retrying the same event on ``ConcurrencyConflict``; prints ``CONFLICTS <n>``;
* ``timers``: calls ``advance(limit=ROUND)`` until a round fires nothing, as a worker does, and
  prints ``FIRED <timer id>`` for each timer it fired (small rounds make the workers' claims
  interleave instead of the first one taking every timer).

It ends with ``DONE`` and exit status 0. This is not a test module (no ``test_`` prefix).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support.workflows import MINIMAL
from svcflow import ConcurrencyConflict, Engine, ManualClock, load_workflow_text

ROUND = 8


def fire_events(engine: Engine, name: str, case_id: str, count: int) -> None:
    conflicts = 0
    for n in range(count):
        while True:
            try:
                engine.fire(case_id, "remind", idempotency_key=f"{name}:{n}")
                break
            except ConcurrencyConflict:
                conflicts += 1
    print(f"CONFLICTS {conflicts}", flush=True)


def main(url: str, now: str, mode: str, name: str, *rest: str) -> None:
    workflow = load_workflow_text(MINIMAL, "ticket.yaml")
    with Engine([workflow], url, ManualClock(now), load_plugins=False) as engine:
        print("READY", flush=True)
        sys.stdin.readline()
        if mode == "events":
            fire_events(engine, name, rest[0], int(rest[1]))
        else:
            while fired := engine.advance(limit=ROUND):
                for firing in fired:
                    print(f"FIRED {firing.timer.id}", flush=True)
    print("DONE", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
