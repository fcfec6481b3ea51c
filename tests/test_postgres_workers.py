"""Many processes on one PostgreSQL store: races on one case and on one timer table, workers
woken by ``LISTEN/NOTIFY``, and the ``worker``, ``status`` and ``migrate`` commands.

The races use real processes (``tests/postgres_race_worker.py``), released together once each
has its engine open: per-case revisions and ``SKIP LOCKED`` claims, not luck, must keep every
event and every timer exactly once.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from support.workflows import MINIMAL
from svcflow import Engine, ManualClock, load_workflow_text
from svcflow.cli import main
from svcflow.engine.worker import Worker
from svcflow.store.base import CaseChange, NewTimer
from svcflow.store.postgres import SCHEMA_VERSION, PostgresStore

HERE = Path(__file__).resolve().parent
RACER = HERE / "postgres_race_worker.py"
NOW = "2026-03-02T09:00:00+00:00"
PROCESSES = 8
TIMERS = 120  # claimed 8 at a time by each racer (ROUND): their claims interleave


def _engine(url: str, clock: ManualClock | None = None) -> Engine:
    return Engine([load_workflow_text(MINIMAL, "ticket.yaml")], url, clock or ManualClock(NOW))


def _race(url: str, now: str, mode: str, *rest: str) -> list[list[str]]:
    """Start the racers, release them together once all are ready; each one's output lines."""
    racers = [
        subprocess.Popen(
            [sys.executable, str(RACER), url, now, mode, f"p{n}", *rest],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(PROCESSES)
    ]
    try:
        for racer in racers:
            assert racer.stdout is not None and racer.stdout.readline() == "READY\n"
        for racer in racers:
            assert racer.stdin is not None
            racer.stdin.write("go\n")
            racer.stdin.flush()
        outputs = [racer.communicate(timeout=180)[0].splitlines() for racer in racers]
    finally:
        for racer in racers:
            racer.kill()
            racer.wait()
    assert [racer.returncode for racer in racers] == [0] * PROCESSES, outputs
    return outputs


def test_eight_processes_firing_at_one_case_lose_and_repeat_nothing(
    postgres_schema_url: str,
) -> None:
    with _engine(postgres_schema_url) as engine:
        case = engine.start("ticket", {"customer": "Ann"})
    outputs = _race(postgres_schema_url, NOW, "events", case.id, "12")
    with _engine(postgres_schema_url) as engine:
        final = engine.get(case.id)
        history = engine.history(case.id)
        records = [
            engine.store.idempotency(f"p{p}:{n}") for p in range(PROCESSES) for n in range(12)
        ]
    assert final.revision == 1 + PROCESSES * 12
    assert [entry.seq for entry in history] == list(range(1, final.revision + 1))
    assert sorted(r.case.revision for r in records if r is not None) == list(
        range(2, final.revision + 1)
    )
    assert all(lines[-1] == "DONE" for lines in outputs)


def test_eight_workers_on_one_timer_table_fire_each_timer_exactly_once(
    postgres_schema_url: str,
) -> None:
    clock = ManualClock(NOW)
    with _engine(postgres_schema_url, clock) as engine:
        cases = [engine.start("ticket", {"customer": f"c{n}"}).id for n in range(TIMERS)]
        timer_ids = {timer.id for case_id in cases for timer in engine.timers(case_id)}
    later = (clock.now() + timedelta(hours=1)).isoformat()
    outputs = _race(postgres_schema_url, later, "timers")
    fired = Counter(int(line.split()[1]) for lines in outputs for line in lines if "FIRED" in line)
    assert set(fired) == timer_ids and set(fired.values()) == {1}
    with _engine(postgres_schema_url) as engine:
        kinds = Counter(e.kind for case_id in cases for e in engine.history(case_id))
        assert kinds == {"started": TIMERS, "timer": TIMERS}
        assert all(engine.timers(case_id) == [] for case_id in cases)


# -- waking and running workers ------------------------------------------------------------------


@pytest.fixture
def two_engines(postgres_schema_url: str) -> Iterator[tuple[Engine, Engine]]:
    clock = ManualClock(NOW)
    first, second = _engine(postgres_schema_url, clock), _engine(postgres_schema_url, clock)
    yield first, second
    first.close()
    second.close()


def test_a_commit_that_schedules_work_soon_wakes_a_listening_worker(
    two_engines: tuple[Engine, Engine],
) -> None:
    host, worker = two_engines
    store = worker.store
    assert isinstance(store, PostgresStore)
    case = host.start("ticket", {"customer": "Ann"})  # its timer is due in 15 minutes: no wake
    assert store.wait_for_work(0.01) is None  # listening from here on
    soon = host.clock.now() + timedelta(seconds=30)
    moved = case._replace(revision=2)
    entry = host.history(case.id)[0]._replace(seq=2, kind="transition", trigger="remind")
    host.store.commit(
        CaseChange(
            case=moved,
            expected_revision=1,
            history=entry,
            timers=[NewTimer("remind", soon, "new", False)],
        )
    )
    assert store.wait_for_work(30) == soon
    assert store.wait_for_work(0.01) is None


def test_a_worker_round_fires_due_timers_and_delivers_what_is_due(
    two_engines: tuple[Engine, Engine],
) -> None:
    host, engine = two_engines
    for n in range(3):
        host.start("ticket", {"customer": f"c{n}"})
    host.clock.advance("1h")
    worker = Worker(engine, poll=0.01, batch=2)
    first, second, third = worker.round(), worker.round(), worker.round()
    assert (first.fired, second.fired, third.fired) == (2, 1, 0)
    assert (first.busy, second.busy, third.busy) == (True, True, False)
    assert engine.store.workload(host.clock.now()).due_timers == 0


def test_a_stopped_worker_finishes_its_round_and_returns(
    two_engines: tuple[Engine, Engine],
) -> None:
    host, engine = two_engines
    host.start("ticket", {"customer": "Ann"})
    worker = Worker(engine, poll=60)
    thread = threading.Thread(target=worker.run)
    thread.start()
    worker.stop()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert worker.rounds >= 1


def test_svcflow_worker_runs_until_sigterm(postgres_schema_url: str, tmp_path: Path) -> None:
    (tmp_path / "ticket.yaml").write_text(MINIMAL, encoding="utf-8")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "svcflow",
            "worker",
            "--store",
            postgres_schema_url,
            "--workflows",
            str(tmp_path),
            "--poll",
            "0.2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert banner.startswith("svcflow worker engine-")
        assert banner.endswith(
            f"on {postgres_schema_url}: firing timers and delivering every 0.2 s at most; "
            "SIGTERM stops it after this round\n"
        )
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert out.startswith("svcflow worker engine-") and " stopped after " in out


def test_status_shows_lag_depth_failed_timers_and_dead_rows(
    postgres_schema_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with _engine(postgres_schema_url, ManualClock("2020-01-01T09:00:00+00:00")) as engine:
        engine.start("ticket", {"customer": "Ann"})
        engine.store.add_dead_letter("email", "junk", "utf-8", "no sender", engine.clock.now())
    assert main(["status", "--store", postgres_schema_url, "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert {
        k: v
        for k, v in found.items()
        if not k.endswith(("_lag_seconds", "at", "delivery", "timer"))
    } == {
        "due_timers": 1,
        "failed_timers": 0,
        "outbox_pending": 0,
        "outbox_due": 0,
        "dead_deliveries": 0,
        "open_dead_letters": 1,
    }
    assert found["oldest_due_timer"] == "2020-01-01T09:15:00+00:00"
    assert found["timer_lag_seconds"] > 86400


def test_migrate_says_which_schema_version_the_store_is_at(
    postgres_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", "--store", postgres_database_url]) == 0
    assert capsys.readouterr().out == (
        f"{postgres_database_url} is up to date at schema version {SCHEMA_VERSION}\n"
    )
