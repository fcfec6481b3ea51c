"""Exactly once, stated and kept: an idempotency key answers only a retry of the very same
request; ``ingest`` retries conflicts with other writers itself, wraps store faults in
documented svcflow errors and keeps what it finally cannot take as a dead letter."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from svcflow import Engine, IdempotencyKeyReused, hookimpl
from svcflow.errors import MessageRejected, StoreFull
from svcflow.hooks.types import ActionCall
from svcflow.messaging.intake import INGEST_ATTEMPTS
from svcflow.store.sqlite import SqliteStore
from svcflow.testing import EngineFactory
from test_intake import FIRST_EMAIL, INTAKE, reply_email


def test_a_key_reused_with_another_payload_actor_or_data_is_refused(
    svcflow_engine: EngineFactory, store_url: str
) -> None:
    desk = svcflow_engine(INTAKE, store=store_url)
    case = desk.start("complaint_intake", {"customer": "ann"}, "agent-1", "start-1")
    assert desk.start("complaint_intake", {"customer": "ann"}, "agent-1", "start-1") == case
    with pytest.raises(IdempotencyKeyReused) as caught:
        desk.start("complaint_intake", {"customer": "bob"}, "agent-2", "start-1")
    assert str(caught.value) == (
        "idempotency key 'start-1' was first used for starting a 'complaint_intake' case, and "
        "this request's actor and data differ from the first one's; a retry must repeat the "
        "request exactly, so nothing was done: use a new key for a new event"
    )
    asked = desk.fire(case.id, "ask", {"summary": "x"}, "agent-1", "ask-1")
    assert desk.fire(case.id, "ask", {"summary": "x"}, "agent-1", "ask-1") == asked
    with pytest.raises(IdempotencyKeyReused) as caught:
        desk.fire(case.id, "ask", {"summary": "y"}, "agent-1", "ask-1")
    assert caught.value.differs == ("payload",)
    assert [entry.kind for entry in desk.history(case.id)] == ["started", "transition"]
    assert len(desk.find()) == 1


MEDDLING = INTAKE.replace(
    "    actions: [{set: {replies: {expr: replies + 1}}}]\n",
    "    actions: [{set: {replies: {expr: replies + 1}}}, {call: {action: meddle}}]\n",
).replace(
    '  - {trigger: close, from: "*", to: closed}\n',
    '  - {trigger: close, from: "*", to: closed}\n  - {trigger: poke, from: "*"}\n',
)


class Meddler:
    """A workflow action during which another writer changes the same case."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.calls = 0

    @hookimpl
    def svcflow_workflow_actions(self) -> Mapping[str, Any]:
        return {"meddle": self.meddle}

    def meddle(self, call: ActionCall) -> None:
        self.calls += 1
        assert self.engine is not None
        [case] = self.engine.find(state="waiting_on_customer")
        self.engine.fire(case.id, "poke", actor="another writer")


def test_ingest_retries_conflicts_then_keeps_the_message_as_a_dead_letter(
    svcflow_engine: EngineFactory, store_url: str
) -> None:
    meddler = Meddler()
    desk = svcflow_engine(MEDDLING, store=store_url, plugins=[("meddler", meddler)])
    meddler.engine = desk
    case = desk.ingest("email", FIRST_EMAIL).case
    desk.fire(case.id, "ask")
    raw = reply_email("second@example.com", "Any news?")
    with pytest.raises(MessageRejected) as caught:
        desk.ingest("email", raw)
    assert meddler.calls == INGEST_ATTEMPTS
    assert caught.value.reason == (
        f"gave up after {INGEST_ATTEMPTS} attempts: case {case.id} was changed by another "
        f"writer: expected revision {2 + INGEST_ATTEMPTS - 1}, store is at revision "
        f"{2 + INGEST_ATTEMPTS}; "
        "nothing was written, re-read the case and retry"
    )
    [letter] = desk.dead_letters()
    assert letter.raw == raw.decode() and letter.id == caught.value.dead_letter_id
    history = desk.history(case.id)
    assert [entry.trigger for entry in history][2:] == ["poke"] * INGEST_ATTEMPTS
    assert [m["message_id"] for m in desk.store.case_messages(case.id)] == ["first@example.com"]


def test_ingest_on_a_full_store_raises_store_full_and_writes_nothing(
    svcflow_engine: EngineFactory, tmp_path: Path
) -> None:
    path = tmp_path / "full.db"
    desk = svcflow_engine(INTAKE, store=f"sqlite:///{path}")
    first = desk.ingest("email", FIRST_EMAIL).case
    store = desk.store
    assert isinstance(store, SqliteStore)
    db = store._connection()
    [(pages,)] = db.execute("PRAGMA page_count").fetchall()
    db.execute(f"PRAGMA max_page_count = {pages + 2}")  # a disk with two pages left
    large = (
        reply_email("big@example.com", "x" * 200_000)
        .replace(b"In-Reply-To: <first@example.com>\nReferences: <first@example.com>\n", b"")
        .replace(b"Ann Lee <ann@example.com>", b"Bo <bo@example.com>")
    )
    with pytest.raises(StoreFull) as caught:
        desk.ingest("email", large)
    assert str(caught.value) == (
        f"the store sqlite:///{path} could not write: database or disk is full; nothing was "
        "written; free disk space (or raise its size limit) and retry"
    )
    assert [case.id for case in desk.find()] == [first.id]
    assert desk.dead_letters() == []
    assert len(desk.history(first.id)) == 1
    db.execute("PRAGMA max_page_count = 1073741823")  # space freed: the sender offers it again
    assert desk.ingest("email", large).outcome == "started"
    assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
