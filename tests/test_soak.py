"""A soak run in the suite: a SIGKILLed writer, then a seeded stream of valid and invalid
events, poisoned templates, a failing workflow action and a flaky delivery plugin on one
SQLite file, then an audit of every invariant svcflow promises (see ``tests/soak.py``; a
longer run is ``benches/bench_soak.py``)."""

from __future__ import annotations

import random
import signal
from pathlib import Path

from soak import audit, run, soak_engine
from svcflow import ManualClock
from svcflow.testing import START
from test_crash import _run_and_kill

OPERATIONS = 400
SEED = 13


def test_soak_with_a_killed_writer_keeps_every_invariant(tmp_path: Path) -> None:
    database = tmp_path / "soak.db"
    rng = random.Random(SEED)
    status = _run_and_kill(database, tmp_path / "journal", SEED, 10, rng, tmp_path / "worker.log")
    assert status in (-signal.SIGKILL, 0)
    clock = ManualClock(START)
    with soak_engine(tmp_path, f"sqlite:///{database}", clock, rng) as engine:
        ledger = run(engine, clock, rng, OPERATIONS)
        seen = audit(engine, ledger, database)
    assert seen["operations"] == OPERATIONS
    for kind in (
        "cases",
        "events",
        "timers fired",
        "delivered",
        "dead deliveries",
        "dead letters",
        "refused calls",
        "timers failed",
    ):
        assert seen[kind] > 0, (kind, seen)
