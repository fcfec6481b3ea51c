"""Turning a SQLite store file back into an older schema version, to test its migration."""

from __future__ import annotations

import json
import sqlite3

from svcflow.sla.encoding import decode_sla
from svcflow.store.sqlite.rows import from_ts, ts
from svcflow.store.sqlite.values import object_form, shape_of

__all__ = [
    "MOMENTS_17",
    "undo_blob_moments",
    "undo_care",
    "undo_case_index",
    "undo_case_texts",
    "undo_history_texts",
    "undo_keyed_outbox",
    "undo_shared_texts",
    "undo_signals",
    "undo_slim_indexes",
]

MOMENTS_17 = (
    ("history", "at"),
    ("timers", "created_at"),
    ("notifications", "created_at"),
    ("deliveries", "created_at"),
)
"""The columns schema step 17 writes as BLOBs of microseconds (store.sqlite.rows.micros)."""

STEP_9_INDEXES = (
    "cases_by_created_id",
    "cases_by_updated",
    "cases_by_assignee",
    "cases_by_queue",
    "cases_by_customer_created",
    "cases_by_sla_due",
    "cases_by_sla_breached",
)


def undo_case_texts(db: sqlite3.Connection) -> None:
    """Remove what schema step 13 (issue 13) added, leaving the file as version 12 made it
    (only for files whose cases hold no large texts: their data is inline already)."""
    [(named,)] = db.execute("SELECT count(*) FROM cases WHERE texts IS NOT NULL")
    assert named == 0, "a case names stored texts; its data cannot go back inline here"
    db.execute("ALTER TABLE cases DROP COLUMN texts")
    db.execute("UPDATE schema_version SET version = 12")


def undo_care(db: sqlite3.Connection) -> None:
    """Remove what schema steps 14 (issue 19), 13 (issue 13), 12 (issue 16) and 11 (issue 19)
    added, leaving the file as version 10 made it."""
    undo_slim_indexes(db)
    db.execute("DROP INDEX cases_open_scope")
    db.execute("ALTER TABLE cases DROP COLUMN open_scope")
    db.execute("ALTER TABLE timers DROP COLUMN nominal")
    for column in ("timezone", "birthday", "since", "left_at"):
        db.execute(f"ALTER TABLE customers DROP COLUMN {column}")
    db.execute("UPDATE schema_version SET version = 10")


def undo_history_texts(db: sqlite3.Connection) -> None:
    """Remove what schema step 10 added (history texts stored once), leaving the file as
    version 9 made it (a file without them is left as it is)."""
    columns = [row[1] for row in db.execute("PRAGMA table_info(history)")]
    if "texts" in columns:
        db.execute("DROP TABLE history_texts")
        db.execute("ALTER TABLE history DROP COLUMN texts")
        db.execute("UPDATE schema_version SET version = 9")


def undo_case_index(db: sqlite3.Connection) -> None:
    """Remove what schema steps 9 and 10 added (the columns and indexes queries use, history
    texts), leaving the file as version 8 made it."""
    undo_history_texts(db)
    for index in STEP_9_INDEXES:
        db.execute(f"DROP INDEX {index}")
    for column in ("assignee", "queue", "sla_due", "sla_breached"):
        db.execute(f"ALTER TABLE cases DROP COLUMN {column}")
    db.execute("UPDATE schema_version SET version = 8")


def undo_blob_moments(db: sqlite3.Connection) -> None:
    """Remove what schema step 17 (issue 16) added, leaving the file as version 16 made it:
    every moment as ISO text."""
    db.create_function("iso", 1, lambda moment: ts(from_ts(moment)))
    for table, column in MOMENTS_17:
        db.execute(f"UPDATE {table} SET {column} = iso({column}) WHERE typeof({column}) = 'blob'")
    db.execute("UPDATE schema_version SET version = 16")


def undo_keyed_outbox(db: sqlite3.Connection) -> None:
    """Remove what schema steps 17 and 16 (issue 16) added, leaving the file as version 15
    made it: the outbox's case and notification indexes whole, case data as JSON objects
    (idempotency snapshots too)."""
    undo_blob_moments(db)
    shapes = {
        shape_id: shape_of(text)
        for shape_id, text in db.execute("SELECT id, text FROM shared_texts")
        if text.startswith("data fields:")
    }
    cases = db.execute("SELECT id, data FROM cases WHERE data LIKE '[%'").fetchall()
    db.executemany(
        "UPDATE cases SET data = ? WHERE id = ?",
        [(object_form(data, shapes.__getitem__), case) for case, data in cases],
    )
    records = db.execute("SELECT key, result FROM idempotency").fetchall()
    for key, result in records:
        snapshot = json.loads(result)
        snapshot["data"] = object_form(snapshot["data"], shapes.__getitem__)
        db.execute("UPDATE idempotency SET result = ? WHERE key = ?", (json.dumps(snapshot), key))
    db.execute("DELETE FROM shared_texts WHERE text LIKE 'data fields:%'")
    db.execute("DROP INDEX deliveries_by_odd_case")
    db.execute("DROP INDEX deliveries_by_odd_notification")
    db.execute("CREATE INDEX deliveries_by_case ON deliveries (case_id, id)")
    db.execute("CREATE INDEX deliveries_by_notification ON deliveries (notification_key)")
    db.execute("UPDATE schema_version SET version = 15")


def undo_shared_texts(db: sqlite3.Connection) -> None:
    """Remove what schema steps 16 and 15 (issue 16) added, leaving the file as version 14 made
    it: each outbox row's shared reason back in its ``last_error``, SLA states as JSON."""
    undo_keyed_outbox(db)
    db.execute(
        "UPDATE deliveries SET last_error = (SELECT replace(text, '{case}', deliveries.case_id) "
        "FROM shared_texts WHERE shared_texts.id = deliveries.reason) WHERE reason IS NOT NULL"
    )
    db.execute("ALTER TABLE deliveries DROP COLUMN reason")
    db.execute("DROP TABLE shared_texts")
    cases = db.execute("SELECT id, sla FROM cases WHERE sla LIKE '[%'").fetchall()
    db.executemany(  # the SLA state as JSON, as version 14 wrote it (svcflow.sla.encoding)
        "UPDATE cases SET sla = ? WHERE id = ?",
        [(json.dumps(decode_sla(sla), separators=(",", ":")), case) for case, sla in cases],
    )
    db.execute("UPDATE schema_version SET version = 14")


def undo_signals(db: sqlite3.Connection) -> None:
    """Remove what schema steps 15 (issue 16) and 14 (issue 19, the table of pending signals)
    added, leaving the file as version 13 made it."""
    undo_shared_texts(db)
    db.execute("DROP TABLE signals")
    db.execute("UPDATE schema_version SET version = 13")


def undo_slim_indexes(db: sqlite3.Connection) -> None:
    """Put back the indexes schema step 12 (issue 16) replaced, leaving the file as version 11
    made it (packed history details and SLA state written since stay: every version reads
    them), steps 14 and 13 first."""
    undo_signals(db)
    undo_case_texts(db)
    for index in (
        "cases_by_assignee",
        "cases_by_queue",
        "cases_by_customer_created",
        "timers_failed",
        "deliveries_pending",
        "deliveries_dead",
    ):
        db.execute(f"DROP INDEX {index}")
    db.execute("CREATE INDEX cases_by_customer ON cases (customer_id)")
    db.execute("CREATE INDEX cases_by_assignee ON cases (assignee, created_at, id)")
    db.execute("CREATE INDEX cases_by_queue ON cases (queue, created_at, id)")
    db.execute("CREATE INDEX cases_by_customer_created ON cases (customer_id, created_at, id)")
    db.execute("CREATE INDEX timers_by_status ON timers (status, due_at, id)")
    db.execute("CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at, id)")
    db.execute("UPDATE schema_version SET version = 11")
