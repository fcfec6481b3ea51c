"""A signal survives its process: SIGKILLed between committing an event and delivering the
signal it raised, nothing is lost and nothing is done twice.

A real child process (``tests/signal_crash_worker.py``) on a SQLite file or a PostgreSQL
database fires ``answer`` (NPS 3) on a survey case owned by a customer; a listener plugin kills
it with SIGKILL right after the commit, before the engine delivers the retention signal. The
answer is in the store with its signal pending and no retention case yet. The next ``advance``,
once the signal is older than ``SIGNAL_GRACE``, starts the retention case for the same customer,
once: a second ``advance`` and a second delivery of the same signal change nothing.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from svcflow.engine.care import SIGNAL_GRACE

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from signal_crash_worker import engine_for  # noqa: E402

LATER = "2026-03-02T09:01:01+00:00"  # SIGNAL_GRACE (a minute) and a second after the answer


@pytest.fixture(params=["sqlite", "postgres"])
def shared_store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store two processes share: a SQLite file, or a PostgreSQL database."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("postgres_schema_url")
        return url
    return f"sqlite:///{tmp_path / 'cases.db'}"


def run_worker(store: str, case_id: str, *flags: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(HERE / "signal_crash_worker.py"), store, case_id, *flags]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.slow
def test_a_process_killed_after_the_commit_leaves_the_signal_for_the_runner(
    shared_store: str,
) -> None:
    assert SIGNAL_GRACE.total_seconds() == 60
    with engine_for(shared_store) as engine:
        mei = engine.customers.add("Mei Lin", email="mei.lin@example.com")
        survey = engine.start("survey", customer=mei)
    done = run_worker(shared_store, survey.id)
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert done.stdout == "COMMITTED\n"
    with engine_for(shared_store, now=LATER) as engine:
        assert engine.get(survey.id).state == "answered"  # the event committed
        [pending] = engine.store.pending_signals(10)
        assert pending.key == f"signal:{survey.id}:2:retention:0"
        assert (pending.workflow, pending.customer_id) == ("retention", mei.id)
        assert pending.start == {"nps": 3, "source_case": survey.id}
        assert engine.find(workflow="retention") == []  # ... and its signal did not act
        engine.advance(now=engine.clock.now() - SIGNAL_GRACE)  # too soon: its process's own
        assert engine.find(workflow="retention") == []
        assert engine.advance() == []  # no timer fired; the signal was delivered
        [retention] = engine.find(workflow="retention")
        assert retention.data == {"nps": 3, "source_case": survey.id}
        assert engine.customers.of_case(retention.id) == mei
        assert engine.store.pending_signals(10) == []
        engine.advance()
        engine._journeys.deliver(pending)  # delivered twice (two runners): acts once
        assert [c.id for c in engine.find(workflow="retention")] == [retention.id]
        assert engine.store.pending_signals(10) == []


@pytest.mark.slow
def test_a_process_that_lives_delivers_its_own_signals_at_once(shared_store: str) -> None:
    with engine_for(shared_store) as engine:
        mei = engine.customers.add("Mei Lin", email="mei.lin@example.com")
        survey = engine.start("survey", customer=mei)
    done = run_worker(shared_store, survey.id, "--no-kill")
    assert (done.returncode, done.stdout) == (0, "DONE\n"), done.stderr
    with engine_for(shared_store) as engine:
        [retention] = engine.find(workflow="retention")
        assert engine.customers.of_case(retention.id) == mei
        assert engine.store.pending_signals(10) == []
