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

from support.workflows import WORKFLOWS
from svcflow import ConcurrencyConflict, Engine, ManualClock
from svcflow.store.sqlite.rows import ts
from svcflow.store.sqlite.view import ConnectionView

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
