"""The SQLite store answers an event's reads of its case and of the case's messages from what
its connection committed or read itself (issue 16: no ``SELECT`` for them on the usual event),
and reads the file again as soon as any other connection committed: another process, another
thread, whatever wrote the file. A stale revision is still refused by the commit."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import svcflow.store.sqlite.store as store_module
import svcflow.store.sqlite.view as view_module
from support.compiled_build import compiled
from support.workflows import WORKFLOWS
from svcflow import ConcurrencyConflict, Engine, ManualClock
from svcflow.store.sqlite.rows import ts
from svcflow.store.sqlite.view import VIEW_SIZE, ConnectionView, forget_older_half

START = {"customer": "C-1042", "channel": "email", "summary": "Late parcel"}

OTHER_PROCESS = """
import sys
from svcflow import Engine, ManualClock
with Engine.from_directory(sys.argv[1], store=sys.argv[2], clock=ManualClock(sys.argv[4])) as e:
    e.fire(sys.argv[3], "investigate", actor="other-process")
"""


def _engine(path: Path, clock: ManualClock) -> Engine:
    return Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock)


def test_a_case_another_process_moved_is_read_as_it_is_now(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "cases.db"
    with _engine(path, clock) as engine:
        case = engine.start("complaint", START)
        seen = engine.fire(case.id, "acknowledge")
        assert engine.get(case.id) == seen  # what this connection committed
        url, moment = f"sqlite:///{path}", clock.now().isoformat()
        command = [sys.executable, "-c", OTHER_PROCESS, str(WORKFLOWS), url, case.id, moment]
        subprocess.run(command, check=True, capture_output=True, timeout=120)
        now = engine.get(case.id)
        assert (now.state, now.revision) == ("investigating", seen.revision + 1)
        assert [entry.actor for entry in engine.history(case.id)][-1] == "other-process"
        with pytest.raises(ConcurrencyConflict):
            engine.fire(case.id, "ask_customer", expected_revision=seen.revision)
        moved = engine.fire(case.id, "ask_customer")
        assert (moved.state, moved.revision) == ("waiting_on_customer", seen.revision + 2)


def test_a_message_another_connection_recorded_addresses_the_next_notice(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "cases.db"
    with _engine(path, clock) as engine:
        case = engine.fire(engine.start("complaint", START).id, "acknowledge")
        assert engine.store.case_messages(case.id) == []  # read, and known from now on
        assert [row.status for row in engine.outbox(case.id)] == ["undeliverable"]
        message = '{"channel":"email","sender":"ada@example.com","text":"any news?"}'
        with sqlite3.connect(path) as other:  # not even a svcflow write: no revision moved
            other.execute(
                "INSERT INTO messages (channel, message_id, case_id, sender, received_at, "
                "message) VALUES ('email', 'm-1', ?, 'ada@example.com', ?, ?)",
                (case.id, ts(clock.now()), message),
            )
        assert engine.store.case_messages(case.id) == [
            {"channel": "email", "sender": "ada@example.com", "text": "any news?"}
        ]
        engine.fire(case.id, "investigate")
        engine.fire(case.id, "ask_customer")
        asked = [row for row in engine.outbox(case.id) if row.template == "waiting_on_customer"]
        assert [(row.address, row.status) for row in asked] == [("ada@example.com", "pending")]


def test_a_case_another_thread_moved_is_read_as_it_is_now(
    tmp_path: Path, clock: ManualClock
) -> None:
    with _engine(tmp_path / "cases.db", clock) as engine:
        case = engine.fire(engine.start("complaint", START).id, "acknowledge")
        assert engine.get(case.id) == case
        other = threading.Thread(target=engine.fire, args=(case.id, "investigate"))
        other.start()
        other.join()
        assert (engine.get(case.id).state, engine.get(case.id).revision) == ("investigating", 3)


def test_a_write_other_than_a_commit_forgets_what_the_connection_knew(
    tmp_path: Path, clock: ManualClock
) -> None:
    with _engine(tmp_path / "cases.db", clock) as engine:
        case = engine.fire(engine.start("complaint", START).id, "acknowledge")
        assert engine.store.case_messages(case.id) == [] and engine.get(case.id) == case
        assert engine.store.purge_cases([case.id]) == 1  # type: ignore[attr-defined]
        assert engine.store.load_case(case.id) is None


@pytest.mark.skipif(
    compiled(view_module), reason="replaces ConnectionView.check: called directly when compiled"
)
def test_a_stale_revision_is_refused_even_when_the_view_missed_a_commit(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "cases.db"
    with _engine(path, clock) as engine, _engine(path, clock) as other:
        case = engine.fire(engine.start("complaint", START).id, "acknowledge")
        assert engine.get(case.id) == case
        moved = other.fire(case.id, "investigate")
        monkeypatch.setattr(ConnectionView, "check", lambda view: True)  # a view gone wrong
        assert engine.get(case.id) == case  # stale: what the broken view still knew
        with pytest.raises(ConcurrencyConflict) as refused:
            engine.fire(case.id, "ask_customer")
        assert (refused.value.expected_revision, refused.value.actual_revision) == (2, 3)
        assert other.get(case.id) == moved and len(other.history(case.id)) == 3
        assert engine.get(case.id) == moved  # the refused commit forgot the case: read again


def test_what_a_store_keeps_of_its_cases_is_bounded(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A view and the store's own entries keep at most ``VIEW_SIZE`` cases (issue 16: every
    case kept stays on the heap); past it they forget the cases that came first, keep the last
    ones, and a case let go is read from the file. The bound made small here: 10,000 cases
    would take the test minutes."""
    assert VIEW_SIZE >= 1_000  # a fire_many round over the open cases stays in the view
    monkeypatch.setattr(view_module, "VIEW_SIZE", 64)
    monkeypatch.setattr(store_module, "_DECODED_CACHE_SIZE", 64)
    with _engine(tmp_path / "cases.db", clock) as engine:
        first = engine.fire(engine.start("complaint", START).id, "acknowledge")
        store = engine.store
        view = store._local.view  # type: ignore[attr-defined]
        kept = [view.cases, view.messages, store._decoded, store._owners, store._timer_keys]  # type: ignore[attr-defined]
        started: list[str] = []
        for _ in range(100):
            started.append(engine.start("complaint", START).id)
            for entries in [*kept, store._refs]:  # type: ignore[attr-defined]
                assert len(entries) <= 64 and set(started[-20:]) <= set(entries)
        assert all(first.id not in entries for entries in [*kept, store._refs])  # type: ignore[attr-defined]
        assert engine.get(first.id) == first
        moved = engine.fire(first.id, "investigate")
        assert (moved.state, moved.revision) == ("investigating", first.revision + 1)


def test_forgetting_the_older_half_keeps_the_keys_that_came_last() -> None:
    entries = {str(n): n for n in range(10)}
    entries["2"] = 20  # put again: keeps its place
    forget_older_half(entries)
    assert entries == {"5": 5, "6": 6, "7": 7, "8": 8, "9": 9}
    forget_older_half(entries)
    assert list(entries) == ["7", "8", "9"]
