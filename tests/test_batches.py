"""Batched commits: ``advance`` commits due timers' firings ``commit_batch`` at a time (a batch
none of whose writes is refused in one go; one that has a refusal again, each firing under a
savepoint of its own), and ``dispatch`` records delivery outcomes ``delivery_record_batch`` at a
time; one case whose write fails never fails the others of its batch."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from support.workflows import MINIMAL
from svcflow import Engine, ManualClock, load_workflow_text
from svcflow.records import Timer
from svcflow.store.base import Attempt, CaseChange, Store
from svcflow.store.postgres import PostgresStore
from svcflow.store.sqlite import SqliteStore
from svcflow.store.sqlite.schema import CASE_COLUMNS
from svcflow.testing import CapturedDeliveries

BROKEN = "broken"


class CountingStore(SqliteStore):
    """A SQLite store counting transactions, whose write of the case BROKEN fails like a damaged
    row would (an integrity error inside the transaction)."""

    commits = 0
    batches: list[int]
    recorded: list[int]

    def commit(self, change: CaseChange) -> None:
        self.commits += 1
        super().commit(change)

    def commit_many(self, changes: Sequence[CaseChange]) -> list[Exception | None]:
        self.batches.append(len(changes))
        return super().commit_many(changes)

    def record_attempts(self, attempts: Sequence[Attempt]) -> None:
        self.recorded.append(len(attempts))
        super().record_attempts(attempts)

    def _apply(self, db: Any, change: CaseChange, prepared: Any) -> Any:
        timers = super()._apply(db, change, prepared)
        if change.case.id == BROKEN and change.consume_timer is not None:
            raise sqlite3.IntegrityError("CHECK constraint failed: a damaged row")
        return timers


class BrokenPostgresStore(PostgresStore):
    def _apply(self, db: Any, change: CaseChange, prepared: Any) -> Any:
        timers = super()._apply(db, change, prepared)
        if change.case.id == BROKEN and change.consume_timer is not None:
            db.execute("SELECT 1 / 0")  # fails inside the savepoint, after the writes
        return timers


def _engine(store: Store, clock: ManualClock, **options: Any) -> Engine:
    ids = iter([BROKEN, *(f"case-{n:02d}" for n in range(20))])
    return Engine(
        [load_workflow_text(MINIMAL, "ticket.yaml")],
        store,
        clock,
        id_factory=lambda: next(ids),
        **options,
    )


@pytest.fixture
def counting(tmp_path: Path) -> CountingStore:
    store = CountingStore(tmp_path / "cases.db")
    store.batches, store.recorded = [], []
    return store


def test_due_timers_are_committed_a_batch_at_a_time(
    counting: CountingStore, clock: ManualClock
) -> None:
    with _engine(counting, clock, commit_batch=4) as engine:
        cases = [engine.start("ticket", {"customer": f"c{n}"}).id for n in range(11)]
        started = counting.commits
        clock.advance("20m")
        fired = engine.advance()
        assert [f.timer.case_id for f in fired] == cases[1:]  # in due order
        assert counting.batches == [4, 4, 3] and counting.commits == started
        assert [t.case_id for t in engine.failed_timers()] == []
        [retrying] = fired.retrying
        assert retrying.case_id == BROKEN and retrying.attempts == 1
        assert retrying.last_error == "IntegrityError: CHECK constraint failed: a damaged row"
        assert [e.kind for e in engine.history(BROKEN)] == ["started"]  # nothing of it written
        assert engine.get(BROKEN).data["priority"] == "normal"
        assert all(engine.get(case).data["priority"] == "high" for case in cases[1:])


def _advance_traced(store: SqliteStore, clock: ManualClock, **options: Any) -> list[str]:
    """Start five tickets, let their reminders fall due and fire them with one ``advance()``
    (each case's priority set); the statements the store ran for that ``advance()``."""
    with _engine(store, clock, **options) as engine:
        cases = [engine.start("ticket", {"customer": f"c{n}"}).id for n in range(5)]
        clock.advance("20m")
        statements: list[str] = []
        store._connection().set_trace_callback(statements.append)
        fired = engine.advance()
        store._connection().set_trace_callback(None)
        assert [f.timer.case_id for f in fired] == cases
        assert all(engine.get(case).data["priority"] == "high" for case in cases)
    return statements


def test_a_batch_none_of_whose_writes_is_refused_takes_no_savepoints(
    tmp_path: Path, clock: ManualClock
) -> None:
    """Issue 16: a savepoint and its release are two statements a firing; a batch takes them
    only after one of its writes was refused (the test above)."""
    statements = _advance_traced(SqliteStore(tmp_path / "cases.db"), clock, commit_batch=8)
    kinds = {statement.split()[0] for statement in statements}
    assert "BEGIN" in kinds and not kinds & {"SAVEPOINT", "RELEASE", "ROLLBACK"}


def test_the_cases_of_a_claimed_batch_are_read_in_one_statement(
    tmp_path: Path, clock: ManualClock
) -> None:
    """Issue 16: one read of the batch's cases, not one per firing."""
    statements = _advance_traced(SqliteStore(tmp_path / "cases.db"), clock)
    reads = [s for s in statements if s.startswith(f"SELECT {CASE_COLUMNS}, customer_id")]
    assert len(reads) == 1 and " IN (" in reads[0]


TWO_TIMERS = """\
workflow: ticket
version: 1
title: Ticket
data:
  customer: {type: string, required: true}
  pings: {type: integer, default: 0}
states:
  new:
    initial: true
    on_enter:
      - schedule: {trigger: first, after: 10m}
      - schedule: {trigger: second, after: 20m}
  closed: {final: true}
transitions:
  - {trigger: close, from: new, to: closed}
  - {trigger: first, from: new, actions: [{set: {pings: {expr: pings + 1}}}]}
  - {trigger: second, from: new, actions: [{set: {pings: {expr: pings + 10}}}]}
"""


def test_a_case_whose_timers_fall_in_two_commits_steps_from_the_stored_case(
    counting: CountingStore, clock: ManualClock
) -> None:
    """A case's second firing in a claimed batch, after the commit of its first, steps from
    the first's change when that was written, and from the stored case (read again) when
    the write failed: no conflict, no firing done again on its own."""
    workflow = load_workflow_text(TWO_TIMERS, "ticket.yaml")
    ids = iter([BROKEN, "case-1", "case-2"])
    with Engine(
        [workflow], counting, clock, commit_batch=1, id_factory=lambda: next(ids)
    ) as engine:
        cases = [engine.start("ticket", {"customer": f"c{n}"}).id for n in range(3)]
        started = counting.commits
        clock.advance("30m")
        fired = engine.advance()
        assert [(f.timer.case_id, f.timer.trigger) for f in fired] == [
            *((case, "first") for case in cases[1:]),
            *((case, "second") for case in cases[1:]),
        ]
        assert counting.commits == started  # every firing committed in a batch, none again
        assert [engine.get(case).data["pings"] for case in cases] == [0, 11, 11]
        assert [len(engine.history(case)) for case in cases] == [1, 3, 3]
        assert [(t.trigger, t.attempts) for t in fired.retrying] == [("first", 1), ("second", 1)]


def test_two_firings_of_one_case_are_committed_together(
    counting: CountingStore, clock: ManualClock
) -> None:
    """Both timers of a case in one commit of the batch: the second steps from the first's
    change, and both are written at that one commit."""
    workflow = load_workflow_text(TWO_TIMERS, "ticket.yaml")
    with Engine([workflow], counting, clock, commit_batch=2) as engine:
        case = engine.start("ticket", {"customer": "ann"}).id
        clock.advance("30m")
        fired = engine.advance()
        assert [f.timer.trigger for f in fired] == ["first", "second"]
        assert counting.batches == [2]
        assert engine.get(case).data["pings"] == 11


class UnreadableStore(SqliteStore):
    """A SQLite store whose row of the case BROKEN cannot be decoded (a damaged row)."""

    def _decode_data(self, row: Any) -> Any:
        if row[0] == BROKEN:
            raise ValueError("a damaged row")
        return super()._decode_data(row)


def test_a_case_that_cannot_be_read_fails_its_own_firing_not_the_batch(
    tmp_path: Path, clock: ManualClock
) -> None:
    store = UnreadableStore(tmp_path / "cases.db")
    with _engine(store, clock) as engine:
        cases = [engine.start("ticket", {"customer": f"c{n}"}).id for n in range(4)]
        store._decoded.clear()  # read the rows again, as another process would
        clock.advance("20m")
        fired = engine.advance()
        assert [f.timer.case_id for f in fired] == cases[1:]
        [retrying] = fired.retrying
        assert (retrying.case_id, retrying.last_error) == (BROKEN, "ValueError: a damaged row")
        assert [t.trigger for t in engine.timers(BROKEN)] == ["remind"]


def test_a_failing_write_in_a_postgres_batch_is_rolled_back_alone(
    postgres_schema_url: str, clock: ManualClock
) -> None:
    with _engine(BrokenPostgresStore(postgres_schema_url), clock) as engine:
        cases = [engine.start("ticket", {"customer": f"c{n}"}).id for n in range(5)]
        clock.advance("20m")
        fired = engine.advance()
        assert [f.timer.case_id for f in fired] == cases[1:]
        [retrying] = fired.retrying
        assert retrying.case_id == BROKEN and retrying.last_error is not None
        assert retrying.last_error.startswith("DivisionByZero: division by zero")
        assert [e.kind for e in engine.history(BROKEN)] == ["started"]
        assert [t.trigger for t in engine.timers(BROKEN)] == ["remind"]
        assert all(engine.timers(case) == [] for case in cases[1:])


def test_delivery_outcomes_are_recorded_a_batch_at_a_time(
    counting: CountingStore, clock: ManualClock
) -> None:
    captured = CapturedDeliveries()
    with _engine(
        counting,
        clock,
        delivery_record_batch=3,
        plugins=[captured],
        load_plugins=False,
        directory={"customer": {"address": "ann@example.org", "channel": "email"}},
    ) as engine:
        for n in range(7):
            engine.start("ticket", {"customer": f"c{n}"})
        report = engine.dispatch()
        assert len(report.delivered) == len(captured.deliveries) == 7
        assert counting.recorded == [3, 3, 1]
        assert {row.status for row in engine.outbox()} == {"delivered"}


LEAVING = """\
workflow: ticket
version: 1
title: Ticket
data:
  customer: {type: string, required: true}
states:
  new:
    initial: true
    on_enter:
      - schedule: {trigger: first, after: 10m}
      - schedule: {trigger: second, after: 20m}
  moved: {}
  closed: {final: true}
transitions:
  - {trigger: close, from: [new, moved], to: closed}
  - {trigger: first, from: new, to: moved}
  - {trigger: second, from: new, to: closed}
"""


def _traced(store: SqliteStore, engine: Engine) -> tuple[list[str], list[Any]]:
    """The statements of one ``advance()`` of ``engine`` on ``store``, and what it fired; the
    store forgets the cases' timers first, as another process that started them would."""
    store._timer_keys.clear()
    statements: list[str] = []
    store._connection().set_trace_callback(statements.append)
    fired = engine.advance()
    store._connection().set_trace_callback(None)
    return statements, fired


def _timer_reads(statements: list[str]) -> list[str]:
    return [s for s in statements if s.startswith("SELECT id, trigger, owner_state, keep")]


def test_a_firing_that_leaves_its_state_reads_the_cases_timers_and_cancels_them(
    tmp_path: Path, clock: ManualClock
) -> None:
    """The firing that leaves the state reads its case's timers (they are not known: another
    process started the case) and cancels the case's other timer, claimed in the same batch:
    gone, not fired (its consumption refused, so the batch is written again under
    savepoints, reading them again)."""
    store = SqliteStore(tmp_path / "cases.db")
    with Engine([load_workflow_text(LEAVING, "ticket.yaml")], store, clock) as engine:
        cases = [engine.start("ticket", {"customer": f"c{n}"}).id for n in range(3)]
        clock.advance("30m")
        statements, fired = _traced(store, engine)
        assert [(f.timer.case_id, f.timer.trigger) for f in fired] == [
            (case, "first") for case in cases
        ]
        for case in cases:
            assert engine.get(case).state == "moved" and engine.timers(case) == []
            assert [e.kind for e in engine.history(case)] == ["started", "timer"]
    assert {s.rsplit("'", 2)[1] for s in _timer_reads(statements)} == set(cases)
    assert not [s for s in statements if "JOIN timers" in s]  # the claim reads no case


def test_a_firing_that_ends_no_timer_reads_none_and_the_next_change_finds_them(
    tmp_path: Path, clock: ManualClock
) -> None:
    """Issue 16: a due timer fired in its state, adding no timer and cancelling none, reads
    none of its case's timers (none can end); they stay unknown, and the next change that
    leaves the state reads them and cancels the other one."""
    store = SqliteStore(tmp_path / "cases.db")
    with Engine([load_workflow_text(TWO_TIMERS, "ticket.yaml")], store, clock) as engine:
        cases = [engine.start("ticket", {"customer": f"c{n}"}).id for n in range(3)]
        clock.advance("15m")
        statements, fired = _traced(store, engine)
        assert [(f.timer.case_id, f.timer.trigger) for f in fired] == [
            (case, "first") for case in cases
        ]
        assert _timer_reads(statements) == []
        for case in cases:
            assert [t.trigger for t in engine.timers(case)] == ["second"]
            engine.fire(case, "close")
            assert engine.timers(case) == [] and engine.get(case).data["pings"] == 1
        clock.advance("10m")
        assert engine.advance() == []


def test_a_claimed_batch_learns_its_cases_keys_and_its_writes_bind_them(
    tmp_path: Path, clock: ManualClock
) -> None:
    """Issue 16: the batch's read of its cases gives their row keys too (another process
    started them: this store knows none), so each firing's writes name the case by its key
    instead of looking it up by id."""
    store = SqliteStore(tmp_path / "cases.db")
    with _engine(store, clock) as engine:
        cases = [engine.start("ticket", {"customer": f"c{n}"}).id for n in range(3)]
        store._refs.clear()
        clock.advance("20m")
        statements, fired = _traced(store, engine)
        assert [f.timer.case_id for f in fired] == cases
        assert [e.kind for e in engine.history(cases[0])] == ["started", "timer"]
    assert [s for s in statements if s.startswith("INSERT INTO history")]
    assert not [s for s in statements if "SELECT ref FROM cases WHERE id" in s]


NOTIFYING = """\
workflow: ticket
version: 1
title: Ticket
data:
  customer: {type: string, required: true}
states:
  new:
    initial: true
    on_enter:
      - schedule: {trigger: remind, after: 10m}
  closed: {final: true}
transitions:
  - {trigger: remind, from: new, actions: [{notify: {template: reminder, to: team_lead}}]}
  - {trigger: close, from: new, to: closed}
"""


def test_a_claimed_batch_learns_its_cases_owners_with_the_cases(
    tmp_path: Path, clock: ManualClock
) -> None:
    """Issue 16: the batch's read of its cases gives their owners too: a firing that notifies
    (its audience is the case's owner) reads no owner of its own."""
    store = SqliteStore(tmp_path / "cases.db")
    with Engine([load_workflow_text(NOTIFYING, "ticket.yaml")], store, clock) as engine:
        li = engine.customers.add("Li Wei", email="li@example.com", customer_id="crm-1")
        cases = [engine.start("ticket", {"customer": f"c{n}"}, customer=li).id for n in range(3)]
        store._owners.clear()  # as another process that started the cases would know
        clock.advance("15m")
        statements, fired = _traced(store, engine)
        assert [f.timer.case_id for f in fired] == cases
        assert all(engine.store.case_customer(case) == "crm-1" for case in cases)
    assert not [s for s in statements if s.startswith("SELECT customer_id FROM cases")]


def test_a_write_sqlite_refuses_in_a_batch_fails_only_its_firing(
    tmp_path: Path, clock: ManualClock
) -> None:
    """A write SQLite itself refuses in a batch (here a trigger of this connection's, as a
    damaged row would), not one the store's code raises, fails its own firing, retried; the
    other firings of the batch are kept."""
    store = SqliteStore(tmp_path / "cases.db")
    with _engine(store, clock, commit_batch=8) as engine:
        cases = [engine.start("ticket", {"customer": f"c{n}"}).id for n in range(5)]
        store._connection().execute(
            f"CREATE TEMP TRIGGER damaged BEFORE UPDATE ON cases WHEN old.id = '{BROKEN}' "
            "BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: a damaged row'); END"
        )
        clock.advance("20m")
        fired = engine.advance()
        assert [f.timer.case_id for f in fired] == cases[1:]
        [retrying] = fired.retrying
        assert retrying.case_id == BROKEN and retrying.attempts == 1
        assert retrying.last_error == "IntegrityError: CHECK constraint failed: a damaged row"
        assert [e.kind for e in engine.history(BROKEN)] == ["started"]
        assert [t.trigger for t in engine.timers(BROKEN)] == ["remind"]
        assert all(engine.get(case).data["priority"] == "high" for case in cases[1:])


class MeddledStore(SqliteStore):
    """A SQLite store before whose first batch another writer fires ``first`` on the case
    ``moved`` (a new revision), or another runner takes the due timer of the case ``taken``."""

    moved = taken = ""

    def commit_many(self, changes: Sequence[CaseChange]) -> list[Exception | None]:
        if self.moved:
            workflow = load_workflow_text(TWO_TIMERS, "ticket.yaml")
            other = SqliteStore(self.path)
            with Engine([workflow], other, ManualClock("2026-03-02T09:05:00+00:00")) as engine:
                engine.fire(self.moved, "first")
        if self.taken:
            with sqlite3.connect(self.path) as db:
                db.execute(
                    "DELETE FROM timers WHERE trigger = 'first' AND case_ref = "
                    "(SELECT ref FROM cases WHERE id = ?)",
                    (self.taken,),
                )
        self.moved = self.taken = ""
        return super().commit_many(changes)


@pytest.mark.parametrize("meddling", ["moved", "taken"])
def test_a_firing_refused_in_a_batch_is_found_and_the_others_kept(
    tmp_path: Path, clock: ManualClock, meddling: str
) -> None:
    """Between the batch's preparation and its commit a case moved on (a stale revision), or
    another runner fired a timer; the batch is written again under savepoints: the moved
    case's firing is worked out again on the case as it now is, the taken timer is gone, the
    other firings are kept."""
    store = MeddledStore(tmp_path / "cases.db")
    ids = iter(["case-0", "case-1", "case-2"])
    workflow = load_workflow_text(TWO_TIMERS, "ticket.yaml")
    with Engine([workflow], store, clock, id_factory=lambda: next(ids)) as engine:
        cases = [engine.start("ticket", {"customer": f"c{n}"}).id for n in range(3)]
        setattr(store, meddling, "case-1")
        clock.advance("15m")
        fired = engine.advance()
        assert not fired.retrying and not fired.failed
        kinds = [e.kind for e in engine.history("case-1")]
        if meddling == "moved":
            assert [f.timer.case_id for f in fired] == cases
            assert [engine.get(case).data["pings"] for case in cases] == [1, 2, 1]
            assert kinds == ["started", "transition", "timer"]
        else:
            assert [f.timer.case_id for f in fired] == ["case-0", "case-2"]
            assert [engine.get(case).data["pings"] for case in cases] == [1, 0, 1]
            assert kinds == ["started"]


class OvertakenStore(SqliteStore):
    """A SQLite store counting single commits, after whose first claim another connection
    fires ``first`` on the case ``overtaken``."""

    overtaken = ""
    commits = 0

    def commit(self, change: CaseChange) -> None:
        self.commits += 1
        super().commit(change)

    def claim_due_timers(
        self, now: datetime, limit: int, owner: str, lease_until: datetime
    ) -> list[Timer]:
        timers = super().claim_due_timers(now, limit, owner, lease_until)
        if self.overtaken:
            workflow = load_workflow_text(TWO_TIMERS, "ticket.yaml")
            other = SqliteStore(self.path)
            with Engine([workflow], other, ManualClock("2026-03-02T09:05:00+00:00")) as engine:
                engine.fire(self.overtaken, "first")
            self.overtaken = ""
        return timers


def test_a_case_written_by_another_connection_after_the_claim_is_read_again(
    tmp_path: Path, clock: ManualClock
) -> None:
    """A case moved on by another connection after the claim is read as it now is, and its
    firing steps from it (no stale revision refused, no firing done again on its own)."""
    store = OvertakenStore(tmp_path / "cases.db")
    workflow = load_workflow_text(TWO_TIMERS, "ticket.yaml")
    with Engine([workflow], store, clock) as engine:
        cases = [engine.start("ticket", {"customer": f"c{n}"}).id for n in range(3)]
        store.overtaken, store.commits = cases[1], 0
        clock.advance("15m")
        fired = engine.advance()
        assert [f.timer.case_id for f in fired] == cases and store.commits == 0
        assert [engine.get(case).data["pings"] for case in cases] == [1, 2, 1]
