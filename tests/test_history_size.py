"""History grows with what changed, not with what is there (issue 13, item 4): a chat whose
transcript grows by one message per event stores each message about once, and reading the
history gives back every value exactly as it was committed."""

from __future__ import annotations

import gc
import json
import sqlite3
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from support.workflows import MINIMAL
from svcflow import Engine, ManualClock, load_workflow_text
from svcflow.records import HistoryEntry
from svcflow.report import build_report
from svcflow.store.history_texts import (
    TEXT_THRESHOLD,
    digest,
    forget_recent,
    needed,
    new_text,
    rebuild,
)

WORKFLOWS = Path(__file__).parent.parent / "workflows"
REPLIES, BODY = 100, 10 * 1024


def _chat(store: str, replies: int = REPLIES) -> tuple[Engine, str]:
    """A chat with a person, then ``replies`` customer messages of BODY characters each."""
    engine = Engine.from_directory(
        WORKFLOWS, store=store, clock=ManualClock("2026-03-02T09:00:00+00:00")
    )
    case = engine.start("im_first_response", {"customer": "u1", "question": "q" * BODY})
    engine.fire(case.id, "hand_over", {"agent": "ann"})
    for n in range(replies):
        engine.fire(case.id, "customer_message", {"last_message": f"{n:05d}" + "m" * (BODY - 5)})
    return engine, case.id


def test_a_growing_transcript_grows_the_sqlite_file_linearly(tmp_path: Path) -> None:
    path = tmp_path / "cases.db"
    engine, _ = _chat(f"sqlite:///{path}")
    engine.close()
    bodies = (REPLIES + 1) * BODY
    assert path.stat().st_size < 4 * bodies  # whole transcripts in every entry: ~50 × bodies
    with sqlite3.connect(path) as db:
        [(rows, tails)] = db.execute("SELECT count(*), sum(length(tail)) FROM history_texts")
    assert (rows, tails) == (2 * REPLIES + 1, bodies + REPLIES)  # each message once, plus "\n"


def test_200_replies_of_10_kib_keep_the_sqlite_file_under_5_mib_and_the_case_row_small(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cases.db"
    engine = Engine.from_directory(
        WORKFLOWS, store=f"sqlite:///{path}", clock=ManualClock("2026-03-02T09:00:00+00:00")
    )
    case = engine.start("im_first_response", {"customer": "u1", "question": "q" * BODY})
    engine.fire(case.id, "hand_over", {"agent": "ann"})
    for n in range(200):
        engine.fire(case.id, "customer_message", {"last_message": f"{n:05d}" + "m" * (BODY - 5)})
    transcript = engine.get(case.id).data["transcript"]
    engine.close()
    assert path.stat().st_size < 5 * 2**20  # the case row rewritten whole each event: 6.7 MiB
    with sqlite3.connect(path) as db:
        [(data, texts)] = db.execute("SELECT length(data), texts FROM cases")
        [(free,)] = db.execute("PRAGMA freelist_count")
    assert data < 1024 and free < 16  # the transcript is named, not held: no churn of pages
    assert sorted(name for _, name, _ in json.loads(texts)) == [
        "context",
        "last_message",
        "question",
        "transcript",
    ]
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}") as again:
        assert again.get(case.id).data["transcript"] == transcript  # read afresh, not cached
    assert len(transcript) == 201 * (BODY + 1) - 1


def test_the_memory_store_keeps_each_message_about_once_too() -> None:
    engine, case_id = _chat("memory://", replies=1)
    tracemalloc.start()
    try:
        for n in range(1, REPLIES):
            engine.fire(case_id, "customer_message", {"last_message": f"{n:05d}" + "m" * BODY})
        forget_recent()  # the texts an event digested last, remembered for the next: not kept
        gc.collect()
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held < 4 * REPLIES * BODY  # the transcript, each message once; whole: ~50 ×
    with engine:
        [last] = [e for e in engine.history(case_id) if e.seq == REPLIES + 2]
        assert last.details["set"]["transcript"] == engine.get(case_id).data["transcript"]


def test_history_and_report_read_the_same_from_sqlite_as_from_memory(tmp_path: Path) -> None:
    on_file, case_id = _chat(f"sqlite:///{tmp_path / 'cases.db'}")
    in_memory, memory_id = _chat("memory://")
    with on_file, in_memory:
        read = on_file.history(case_id)
        assert _text(read, case_id) == _text(in_memory.history(memory_id), memory_id)
        transcript = read[-1].details["set"]["transcript"]
        assert transcript == on_file.get(case_id).data["transcript"]
        assert len(transcript) == (REPLIES + 1) * (BODY + 1) - 1
        report = build_report(on_file.store).to_json()
        assert report.replace(case_id, "C") == (
            build_report(in_memory.store).to_json().replace(memory_id, "C")
        )


def _text(entries: list[HistoryEntry], case_id: str) -> str:
    """The entries as JSON, with their case's id (also in notification keys) as C."""
    return json.dumps([entry._asdict() for entry in entries], default=str).replace(case_id, "C")


def test_a_text_is_stored_as_the_earlier_one_it_extends_and_the_message_it_ends_with() -> None:
    first = "a" * TEXT_THRESHOLD
    message = "b" * TEXT_THRESHOLD
    longer = first + "\n" + message
    stored = {digest(first): new_text(first, []), digest(message): new_text(message, [])}
    extended = new_text(
        longer, [(digest(message), len(message)), (digest(first), len(first))], beside=[message]
    )
    assert (extended.base, extended.tail, extended.suffix) == (
        digest(first),
        "\n",
        digest(message),
    )
    stored[extended.digest] = extended
    assert needed(stored, [extended.digest]) == set(stored)
    assert rebuild(stored, [extended.digest]) == {
        digest(first): first,
        digest(message): message,
        extended.digest: longer,
    }
    short = "s" * (TEXT_THRESHOLD - 1)
    assert new_text(short + "x", [(digest(short), len(short))]).base is None  # too short a base


LONG_KIND = "k" * TEXT_THRESHOLD
LONG_TEXTS = MINIMAL.replace(
    "  answer: string\n",
    f"  answer: string\n  kind: {{type: enum, values: [short, {LONG_KIND}]}}\n",
)


def test_a_case_row_keeps_inline_only_data_without_a_large_text(tmp_path: Path) -> None:
    """Issue 16: the SQLite store looks for large texts in case data only when the data's
    encoded text is that long; a text of the threshold's length is taken out whatever its
    neighbours, and data that long without one (several shorter texts) is kept inline."""
    path = tmp_path / "cases.db"
    short, exact = "s" * (TEXT_THRESHOLD - 1), "x" * TEXT_THRESHOLD
    with Engine(
        [load_workflow_text(MINIMAL, "ticket.yaml")],
        f"sqlite:///{path}",
        clock=ManualClock("2026-03-02T09:00:00+00:00"),
    ) as engine:
        ids = [
            engine.start("ticket", {"customer": "c"}).id,
            engine.start("ticket", {"customer": short, "answer": short}).id,
            engine.start("ticket", {"customer": "c", "answer": exact}).id,
        ]
        read = [engine.get(case_id).data for case_id in ids]
    with sqlite3.connect(path) as db:
        rows = [
            db.execute("SELECT data, texts FROM cases WHERE id = ?", (case_id,)).fetchone()
            for case_id in ids
        ]
    assert [texts is None for _, texts in rows] == [True, True, False]
    assert [len(data) > TEXT_THRESHOLD for data, _ in rows] == [False, True, False]
    assert (read[1]["customer"], read[1]["answer"], read[2]["answer"]) == (short, short, exact)


def test_large_case_texts_read_back_the_same_on_every_store_replays_included(
    make_engine: Callable[..., Engine], store_url: str
) -> None:
    engine = make_engine(LONG_TEXTS)
    customer, answer = "c" * 3000, "the parcel was found 数据 " * 200
    case = engine.start("ticket", {"customer": customer, "kind": LONG_KIND})
    engine.fire(case.id, "take")
    answered = engine.fire(case.id, "answer", {"answer": answer}, idempotency_key="a-1")
    again = engine.fire(case.id, "answer", {"answer": answer}, idempotency_key="a-1")
    assert again == answered  # the replay is answered from the snapshot
    engine.fire(case.id, "close")
    if store_url == "memory://":
        return
    with Engine([load_workflow_text(LONG_TEXTS, "ticket.yaml")], store_url) as fresh:
        read = fresh.get(case.id)  # decoded afresh: no handle's cache
        assert (read.data["customer"], read.data["kind"], read.data["answer"]) == (
            customer,
            LONG_KIND,  # an enum: "" would not validate, so the text goes back into the JSON
            answer,
        )
        assert fresh.fire(case.id, "answer", {"answer": answer}, idempotency_key="a-1") == (
            answered
        )
