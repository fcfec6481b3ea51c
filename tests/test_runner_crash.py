"""Timer runners as real processes on one SQLite file: SIGKILL one mid-claim, or run two at once.

The guarantee under test is the one ``svcflow.engine.runner`` documents: several runners may share a
store, none fires a timer twice, and a runner killed while it holds claims loses nothing,
because its leases run out and another runner takes its timers over.

Each child (``tests/runner_crash_worker.py``) runs one ``Engine.advance()`` on a fixed
``ManualClock`` and reports every committed claim and firing on stdout. For the kill tests it
parks at an exact point (holding claims, or inside a write transaction) and is SIGKILLed there;
one kill lands wherever a free-running child happens to be. The parent then reads the file and
checks, with explicit clocks on either side of the dead runner's lease, that

* every firing the child reported is committed, and nothing else (for the free-running kill, at
  most one batch committed but not yet reported: ``advance`` commits firings ``COMMIT_BATCH``
  at a time): a transaction open at the kill is rolled back, its lock released;
* every timer not fired is still in the table, and those of the dead runner's claims carry its
  id and lease: nothing is lost;
* before the lease runs out another runner fires every other due timer but none of those;
  from the moment it runs out it fires all of them;
* in the end every case has the one history a runner that never crashed would have written.

Two runners released at the same moment (on one clock, or the second one's clock past the
first one's leases, so that they take the same timers) fire every timer exactly once between
them. The last test (expected to fail, strict) shows a claim that is still lost: a case's later
timer fires while a dead runner holds its earlier one.

Nothing waits on wall-clock time: children are killed once they say where they are.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import pytest

from svcflow import Engine, ManualClock, load_workflow_text
from svcflow.engine.timers import COMMIT_BATCH

HERE = Path(__file__).resolve().parent
WORKER_PATH = HERE / "runner_crash_worker.py"
WAIT_LIMIT_SECONDS = 30.0
PIPE_BYTES = 4096  # the smallest pipe Linux makes: about 100 reported lines

# Each case's expire timer is due at 10:00; firing it schedules archive, due at 10:01. With more
# cases than one claim takes (256), a runner claims three batches: 256 expires, then the other
# 44 expires and the first 212 archives, then the last 44 archives.
LAPSE = """\
workflow: lapse
version: 1
title: Lapse
states:
  open:
    initial: true
    on_enter:
      - schedule: {trigger: expire, after: 1h}
  expired:
    on_enter:
      - schedule: {trigger: archive, after: 1m}
  archived: {final: true}
transitions:
  - {trigger: expire, from: open, to: expired}
  - {trigger: archive, from: expired, to: archived}
"""
CASES = 300
STARTED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EXPIRE_DUE = STARTED + timedelta(hours=1)
ARCHIVE_DUE = EXPIRE_DUE + timedelta(minutes=1)
RUNNER_NOW = EXPIRE_DUE + timedelta(minutes=5)  # every timer is due for the runners
LEASE = timedelta(minutes=10)
LEASE_UNTIL = RUNNER_NOW + LEASE
TICK = timedelta(microseconds=1)  # the store keeps microseconds: the smallest step of time

# Firing = (case id, trigger): what the history shows and the children report.
Firing = tuple[str, str]
ALL_FIRINGS = {
    (f"case-{n:03d}", trigger) for n in range(CASES) for trigger in ("expire", "archive")
}


class TimerRow(NamedTuple):
    case_id: str
    trigger: str
    claimed_by: str | None
    lease_until: datetime | None


# -- the store ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with CASES open cases (their timers pending, none claimed), built once and copied
    into each test: starting the cases is not what is under test."""
    path = tmp_path_factory.mktemp("template") / "cases.db"
    numbers = itertools.count()
    with Engine(
        [load_workflow_text(LAPSE, "lapse.yaml")],
        f"sqlite:///{path}",
        ManualClock(STARTED),
        id_factory=lambda: f"case-{next(numbers):03d}",
    ) as engine:
        for _ in range(CASES):
            engine.start("lapse")
    assert not Path(f"{path}-wal").exists()  # closing the last connection checkpointed it
    return path


@pytest.fixture
def store(template: Path, tmp_path: Path) -> tuple[Path, Path]:
    """This test's copy of the template store, and the workflow file the children load."""
    db = tmp_path / "cases.db"
    shutil.copyfile(template, db)
    workflow = tmp_path / "lapse.yaml"
    workflow.write_text(LAPSE, encoding="utf-8")
    return db, workflow


def timer_rows(db: Path) -> dict[int, TimerRow]:
    """Every row of the timers table, by id, with its claim, read with plain SQL."""
    with contextlib.closing(sqlite3.connect(db)) as connection:
        rows = connection.execute(
            "SELECT timers.id, cases.id, trigger, claimed_by, lease_until FROM timers "
            "JOIN cases ON cases.ref = timers.case_ref"  # (schema step 18: the case's key)
        ).fetchall()
    return {
        timer: TimerRow(
            case, trigger, owner, None if until is None else datetime.fromisoformat(until)
        )
        for timer, case, trigger, owner, until in rows
    }


def committed_firings(engine: Engine) -> list[Firing]:
    """Every timer firing in the store's history, once per history entry."""
    return [
        (case.id, entry.trigger or "")
        for case in engine.find()
        for entry in engine.history(case.id)
        if entry.kind == "timer"
    ]


def pending_by_history(engine: Engine) -> set[Firing]:
    """The timer each case must still have, by its history: the next one of its chain."""
    following = {None: "expire", "expire": "archive"}
    pending = set()
    for case in engine.find():
        trigger = following.get(engine.history(case.id)[-1].trigger)
        if trigger is not None:
            pending.add((case.id, trigger))
    return pending


def assert_every_case_done_once(engine: Engine, db: Path) -> None:
    """Each case has exactly the history one runner that never crashed would write: started,
    expire at its due time, archive at its due time (seq 1..3, no gap, no repeat), and no timer
    is left."""
    cases = engine.find()
    assert sorted(case.id for case in cases) == sorted({case for case, _ in ALL_FIRINGS})
    expected = [
        (1, "started", None, None, "open", STARTED),
        (2, "timer", "expire", "open", "expired", EXPIRE_DUE),
        (3, "timer", "archive", "expired", "archived", ARCHIVE_DUE),
    ]
    for case in cases:
        history = [
            (e.seq, e.kind, e.trigger, e.from_state, e.to_state, e.at)
            for e in engine.history(case.id)
        ]
        assert history == expected, case.id
        assert (case.state, case.revision) == ("archived", 3), case.id
    assert timer_rows(db) == {}


# -- the children ---------------------------------------------------------------------------------


class Worker:
    """A running ``runner_crash_worker.py`` and every whole line it has reported so far.

    The child's stdout is read only while the parent waits for a line. With ``small_pipe`` the
    pipe is made as small as the system allows, so a child running free gets at most a pipe-full
    ahead of what the parent has seen (it then blocks writing), however slow the parent is. A
    last line without its newline was cut by the kill and is dropped."""

    def __init__(
        self, db: Path, workflow: Path, now: datetime, park: str, log: Path, small_pipe: bool
    ) -> None:
        command = [
            sys.executable,
            str(WORKER_PATH),
            str(db),
            str(workflow),
            now.isoformat(),
            str(LEASE.total_seconds()),
            park,
        ]
        self.log = log
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log
        )
        assert self.proc.stdout is not None
        self._stdout = self.proc.stdout.fileno()
        shrink = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux only; elsewhere 64 KiB
        if small_pipe and shrink is not None:
            fcntl.fcntl(self._stdout, shrink, PIPE_BYTES)
        self.lines: list[str] = []
        self._unseen: list[str] = []
        self._partial = b""
        self._ended = False

    def _read(self, deadline: float) -> bool:
        """Read what the child has written, waiting for it until ``deadline``; False once its
        output has ended, and at the deadline."""
        if self._ended:
            return False
        ready, _, _ = select.select([self._stdout], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return False
        chunk = os.read(self._stdout, PIPE_BYTES)
        if not chunk:
            self._ended = True
            return False
        *whole, self._partial = (self._partial + chunk).split(b"\n")
        self._unseen += [line.decode("utf-8") for line in whole]
        return True

    def wait_until(self, reached: Callable[[], bool], what: str) -> None:
        """Take the child's lines one by one until ``reached()``; fail if it exits or is too
        slow first."""
        deadline = time.monotonic() + WAIT_LIMIT_SECONDS
        while not reached():
            if not self._unseen and not self._read(deadline):
                if not self._ended:
                    pytest.fail(f"worker did not reach {what} in {WAIT_LIMIT_SECONDS}s")
                status, log = self.proc.wait(), self.log.read_text()
                pytest.fail(f"worker exited ({status}) before {what}:\n{log}\n{self.lines}")
            else:
                self.lines.append(self._unseen.pop(0))

    def wait_for(self, expected: str) -> None:
        self.wait_until(lambda: bool(self.lines) and self.lines[-1] == expected, expected)

    def release(self) -> None:
        """Answer the child's READY: it starts advancing."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.flush()

    def kill(self) -> int:
        """SIGKILL the child; return its status once every line it wrote has been read."""
        self.proc.send_signal(signal.SIGKILL)
        return self.finish()

    def finish(self) -> int:
        """Read the rest of what the child writes until it exits; return its status."""
        deadline = time.monotonic() + WAIT_LIMIT_SECONDS
        while self._read(deadline):
            pass
        assert self._ended, f"worker still writing after {WAIT_LIMIT_SECONDS}s"
        self.lines += self._unseen
        self._unseen = []
        return self.proc.wait(timeout=WAIT_LIMIT_SECONDS)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        self._log.close()

    def _fields(self, verb: str) -> list[list[str]]:
        return [line.split()[1:] for line in self.lines if line.split()[0] == verb]

    @property
    def runner_id(self) -> str:
        [[runner]] = self._fields("RUNNER")
        return runner

    @property
    def claimed(self) -> set[int]:
        """Ids of every timer the child reported claiming (a timer may be claimed again)."""
        return {int(timer) for fields in self._fields("CLAIMED") for timer in fields}

    @property
    def fired(self) -> dict[int, Firing]:
        """What the child reported firing, by timer id; each timer at most once."""
        fired = [(int(timer), (case, trigger)) for timer, case, trigger in self._fields("FIRED")]
        assert len({timer for timer, _ in fired}) == len(fired), "a timer fired twice"
        return dict(fired)


@contextlib.contextmanager
def workers(
    db: Path, workflow: Path, log_dir: Path, *runs: tuple[datetime, str], small_pipe: bool = False
) -> Iterator[list[Worker]]:
    """Start one worker per (clock, park point) and wait until every one is READY, so they can
    be released at once; kill whatever is left when the block ends. Leave ``small_pipe`` off
    for workers that run at once: the parent reads one at a time, the others must not block."""
    started: list[Worker] = []
    try:
        for number, (now, park) in enumerate(runs):
            log = log_dir / f"worker-{number}.err"
            started.append(Worker(db, workflow, now, park, log, small_pipe))
        for worker in started:
            worker.wait_for("READY")
        yield started
    finally:
        for worker in started:
            worker.close()


# -- a runner killed mid-claim --------------------------------------------------------------------

FREE_RUN_KILL_AFTER = 150  # reported firings; the kill then lands wherever the child is


@pytest.mark.slow
@pytest.mark.parametrize(
    "park",
    [
        pytest.param("in-claim:0", id="holding-the-write-lock-of-its-first-claim"),
        pytest.param("before-fire:0", id="claimed-256-fired-none"),
        pytest.param("before-fire:1", id="claimed-256-fired-one-batch"),
        pytest.param("in-fire:100", id="holding-the-write-lock-of-the-batch-firing-101"),
        pytest.param("before-fire:270", id="in-its-second-batch"),
        pytest.param("in-claim:2", id="holding-the-write-lock-of-its-third-claim"),
        pytest.param("run", id="free-running"),
    ],
)
def test_a_killed_runner_loses_nothing_and_its_claims_wait_for_their_lease(
    store: tuple[Path, Path], tmp_path: Path, park: str, request: pytest.FixtureRequest
) -> None:
    db, workflow = store
    free_running = park == "run"
    with workers(db, workflow, tmp_path, (RUNNER_NOW, park), small_pipe=free_running) as [dead]:
        dead.release()
        if free_running:
            dead.wait_until(lambda: len(dead.fired) >= FREE_RUN_KILL_AFTER, "enough firings")
        else:
            dead.wait_for("PARKED")
        status = dead.kill()
        assert status == -signal.SIGKILL, dead.log.read_text()
    exact = not free_running  # a parked child reported everything it committed
    reported = dead.fired
    rows = timer_rows(db)
    held = {timer for timer, row in rows.items() if row.claimed_by is not None}

    clock = ManualClock(LEASE_UNTIL - TICK)  # the dead runner's leases are still live
    with Engine([load_workflow_text(LAPSE, "lapse.yaml")], f"sqlite:///{db}", clock) as engine:
        # What the child said it committed is in the store, and nothing else is; each firing
        # is one history entry.
        firings = Counter(committed_firings(engine))
        assert max(firings.values(), default=1) == 1, "a timer fired twice"
        if exact:
            assert set(firings) == set(reported.values())
        else:
            assert set(reported.values()) <= set(firings)
            in_flight = set(firings) - set(reported.values())  # committed, not yet reported
            assert len(in_flight) <= COMMIT_BATCH  # one transaction's batch at most
        assert len(firings) < len(ALL_FIRINGS), "the child finished before it was killed"

        # Nothing is lost: each case still has the timer its history says comes next, and the
        # timers the child claimed and did not fire are held by it until its lease runs out.
        pending = pending_by_history(engine)
        assert {(row.case_id, row.trigger) for row in rows.values()} == pending
        assert len(rows) == len(pending)  # and no timer twice
        assert {rows[timer].claimed_by for timer in held} <= {dead.runner_id}
        assert {rows[timer].lease_until for timer in held} <= {LEASE_UNTIL}
        unfired_claims = dead.claimed - set(reported)
        if exact:
            assert held == unfired_claims
        else:  # its last claim may have committed unreported; its reported ones are held
            assert unfired_claims & set(rows) <= held
        if park.startswith("in-claim"):
            # The claim in flight was rolled back; the ones before it were all fired.
            assert held == set()
        elif park.startswith(("before-fire", "in-fire")):
            assert held, "the child held no claim when it was killed"

        # Until the lease runs out, another runner fires every due timer but the dead runner's.
        before = engine.advance()
        assert {firing.timer.id for firing in before}.isdisjoint(held)
        assert timer_rows(db) == {timer: rows[timer] for timer in held}
        assert pending_by_history(engine) == {(rows[t].case_id, rows[t].trigger) for t in held}

        # From the moment it runs out, it fires them all.
        clock.set(LEASE_UNTIL)
        after = engine.advance()
        assert held <= {firing.timer.id for firing in after}
        assert_every_case_done_once(engine, db)
    request.node.user_properties += [
        ("fired_by_dead_runner", len(firings)),
        ("held_at_death", len(held)),
        ("fired_before_lease_end", len(before)),
        ("fired_after_lease_end", len(after)),
    ]


# -- two runners at once --------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "second_now",
    [
        pytest.param(RUNNER_NOW, id="same-clock"),
        # The second runner's now is past the first one's leases: to it, every claim of the
        # first has run out, so both take the same timers. Only the store's consume-once
        # firing keeps them from firing a timer twice.
        pytest.param(LEASE_UNTIL + timedelta(minutes=1), id="second-clock-past-the-first-lease"),
    ],
)
def test_two_runner_processes_fire_every_timer_exactly_once(
    store: tuple[Path, Path], tmp_path: Path, second_now: datetime, request: pytest.FixtureRequest
) -> None:
    db, workflow = store
    runs = [(RUNNER_NOW, "run"), (second_now, "run")]
    with workers(db, workflow, tmp_path, *runs) as pair:
        for worker in pair:  # both are READY: release them together
            worker.release()
        for worker in pair:
            status = worker.finish()
            assert status == 0, worker.log.read_text()
            assert worker.lines[-1] == f"DONE {len(worker.fired)}"
    if second_now == RUNNER_NOW:  # a live lease is never claimed by another runner
        assert pair[0].claimed.isdisjoint(pair[1].claimed)
    first, second = (set(worker.fired.values()) for worker in pair)
    assert first.isdisjoint(second), f"fired by both runners: {sorted(first & second)[:5]}"
    assert first | second == ALL_FIRINGS
    with Engine(
        [load_workflow_text(LAPSE, "lapse.yaml")], f"sqlite:///{db}", ManualClock(RUNNER_NOW)
    ) as engine:
        assert sorted(committed_firings(engine)) == sorted(ALL_FIRINGS)
        assert_every_case_done_once(engine, db)
    request.node.user_properties += [
        ("fired_by_each", (len(first), len(second))),
        ("claimed_by_both", len(pair[0].claimed & pair[1].claimed)),
    ]


# -- a case's earlier timer held by a dead runner -------------------------------------------------

# Two timers of one case pending at once: remind (10:00) keeps the case waiting, expire (11:00)
# leaves it, which cancels a remind still pending.
REMINDER = """\
workflow: reminder
version: 1
title: Reminder
states:
  waiting:
    initial: true
    on_enter:
      - schedule: {trigger: remind, after: 1h}
      - schedule: {trigger: expire, after: 2h}
  expired: {final: true}
transitions:
  - {trigger: remind, from: waiting, actions: [{note: reminded}]}
  - {trigger: expire, from: waiting, to: expired}
"""


@pytest.mark.slow
def test_a_timer_held_by_a_killed_runner_still_fires_before_the_later_timers_of_its_case(
    tmp_path: Path,
) -> None:
    db, workflow = tmp_path / "cases.db", tmp_path / "reminder.yaml"
    workflow.write_text(REMINDER, encoding="utf-8")
    loaded = load_workflow_text(REMINDER, "reminder.yaml")
    with Engine([loaded], f"sqlite:///{db}", ManualClock(STARTED)) as engine:
        cases = [engine.start("reminder").id for _ in range(20)]
    # A runner catching up late claims the 10:00 reminds at 10:58 and is killed holding them.
    late = STARTED + timedelta(hours=1, minutes=58)
    with workers(db, workflow, tmp_path, (late, "before-fire:0")) as [dead]:
        dead.release()
        dead.wait_for("PARKED")
        assert dead.kill() == -signal.SIGKILL
    assert len(dead.claimed) == len(cases)

    clock = ManualClock(STARTED + timedelta(hours=2, minutes=5))  # expires due, leases live
    with Engine([loaded], f"sqlite:///{db}", clock) as engine:
        engine.advance()
        clock.set(late + LEASE)  # the leases run out
        engine.advance()
        for case in cases:
            history = [(e.kind, e.trigger, e.at) for e in engine.history(case)]
            assert history == [
                ("started", None, STARTED),
                ("timer", "remind", STARTED + timedelta(hours=1)),
                ("timer", "expire", STARTED + timedelta(hours=2)),
            ], case
