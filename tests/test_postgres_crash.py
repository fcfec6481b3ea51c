"""Timer workers on PostgreSQL SIGKILLed mid-claim and mid-batch lose and repeat nothing.

A child (``tests/postgres_crash_worker.py``) claims every due timer of the store and is killed
where it parks: holding the leases of its claim, or inside the transaction of its first batch
of firings (some written, none committed). PostgreSQL rolls that transaction back when the
connection dies. Another worker then fires none of the dead worker's timers while its leases
live, and every one of them, exactly once, once they have run out.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from support.workflows import MINIMAL
from svcflow import Engine, ManualClock, load_workflow_text

HERE = Path(__file__).resolve().parent
CHILD = HERE / "postgres_crash_worker.py"
NOW = "2026-03-02T09:00:00+00:00"
CASES = 80
LEASE = timedelta(minutes=10)


def _engine(url: str, clock: ManualClock) -> Engine:
    return Engine([load_workflow_text(MINIMAL, "ticket.yaml")], url, clock)


def _kill_parked(url: str, now: str, park: str) -> list[str]:
    """Run the child until it parks at ``park``, SIGKILL it; the lines it reported."""
    lines: list[str] = []
    with subprocess.Popen(
        [sys.executable, str(CHILD), url, now, str(LEASE.total_seconds()), park],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        try:
            assert child.stdin is not None and child.stdout is not None
            assert child.stdout.readline() == "READY\n"
            child.stdin.write("go\n")
            child.stdin.flush()
            for line in child.stdout:
                lines.append(line.strip())
                if line == "PARKED\n":
                    break
        finally:
            child.send_signal(signal.SIGKILL)
            assert child.wait(60) == -signal.SIGKILL
    assert lines[-1] == "PARKED", lines
    return lines


@pytest.mark.slow
@pytest.mark.parametrize("park", ["after-claim", "in-batch:30"])
def test_a_killed_worker_loses_nothing_and_its_timers_fire_once_after_its_lease(
    postgres_schema_url: str, park: str
) -> None:
    clock = ManualClock(NOW)
    with _engine(postgres_schema_url, clock) as engine:
        cases = [engine.start("ticket", {"customer": f"c{n}"}).id for n in range(CASES)]
    due = clock.now() + timedelta(hours=1)
    lines = _kill_parked(postgres_schema_url, due.isoformat(), park)
    claimed = {int(t) for line in lines if line.startswith("CLAIMED") for t in line.split()[1:]}
    assert len(claimed) == CASES and not any(line.startswith("FIRED") for line in lines)

    clock.set(due)
    with _engine(postgres_schema_url, clock) as engine:
        assert engine.advance() == []  # every due timer is held by the dead worker's lease
        assert sum(len(engine.timers(case)) for case in cases) == CASES  # none lost
        clock.set(due + LEASE)
        fired = engine.advance()
        assert sorted(f.timer.id for f in fired) == sorted(claimed)
        kinds = Counter(e.kind for case in cases for e in engine.history(case))
        assert kinds == {"started": CASES, "timer": CASES}  # each fired once
        assert all(engine.timers(case) == [] for case in cases)
        assert all(engine.get(case).data["priority"] == "high" for case in cases)
