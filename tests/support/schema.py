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
    "undo_case_refs",
    "undo_case_texts",
    "undo_compared_moments",
    "undo_history_key",
    "undo_history_texts",
    "undo_keyed_outbox",
    "undo_shared_texts",
    "undo_signals",
    "undo_slim_indexes",
    "undo_state_index",
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


CASES_17 = (
    "id TEXT PRIMARY KEY, workflow TEXT NOT NULL, version INTEGER NOT NULL, state TEXT NOT NULL, "
    "data TEXT NOT NULL, revision INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT "
    "NOT NULL, sla TEXT NOT NULL DEFAULT '{}', customer_id TEXT, assignee TEXT, queue TEXT, "
    "sla_due TEXT, sla_breached INTEGER NOT NULL DEFAULT 0, open_scope TEXT, texts TEXT"
)
CASE_ROWS_17 = {
    "history": "case_id TEXT NOT NULL REFERENCES cases (id), seq INTEGER NOT NULL, at TEXT NOT "
    "NULL, actor TEXT NOT NULL, kind TEXT NOT NULL, trigger TEXT, from_state TEXT, to_state TEXT "
    "NOT NULL, payload TEXT, version INTEGER NOT NULL, details TEXT NOT NULL, texts TEXT, "
    "PRIMARY KEY (case_id, seq)",
    "timers": "id INTEGER PRIMARY KEY AUTOINCREMENT, case_id TEXT NOT NULL REFERENCES cases (id), "
    "trigger TEXT NOT NULL, due_at TEXT NOT NULL, owner_state TEXT NOT NULL, keep INTEGER NOT "
    "NULL, created_at TEXT NOT NULL, claimed_by TEXT, lease_until TEXT, status TEXT NOT NULL "
    "DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, retry_at TEXT, "
    "nominal TEXT",
    "notifications": "id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, case_id TEXT NOT NULL "
    "REFERENCES cases (id), template TEXT NOT NULL, recipients TEXT NOT NULL, channel TEXT, "
    "urgent INTEGER NOT NULL, status TEXT NOT NULL, context TEXT NOT NULL, created_at TEXT NOT "
    "NULL, deliver_after TEXT",
    "deliveries": "id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, notification_key TEXT NOT "
    "NULL, case_id TEXT NOT NULL REFERENCES cases (id), template TEXT NOT NULL, channel TEXT NOT "
    "NULL, address TEXT NOT NULL, name TEXT, role TEXT, locale TEXT NOT NULL, subject TEXT NOT "
    "NULL, body TEXT NOT NULL, urgent INTEGER NOT NULL, status TEXT NOT NULL, attempts INTEGER "
    "NOT NULL DEFAULT 0, next_attempt_at TEXT NOT NULL, created_at TEXT NOT NULL, last_error "
    "TEXT, reference TEXT, delivered_at TEXT, claimed_by TEXT, lease_until TEXT, reason INTEGER",
}
"""The tables schema step 18 rewrote, as version 17 had them (columns in the same order)."""
INDEXES_17 = (
    "CREATE INDEX cases_by_state ON cases (workflow, state)",
    "CREATE INDEX cases_by_version ON cases (workflow, version)",
    "CREATE INDEX cases_by_created_id ON cases (created_at, id)",
    "CREATE INDEX cases_by_updated ON cases (updated_at)",
    "CREATE INDEX cases_by_sla_due ON cases (sla_due, id) WHERE sla_due IS NOT NULL",
    "CREATE INDEX cases_by_sla_breached ON cases (created_at, id) WHERE sla_breached = 1",
    "CREATE UNIQUE INDEX cases_open_scope ON cases (open_scope)",
    "CREATE INDEX cases_by_assignee ON cases (assignee, created_at, id) WHERE assignee IS NOT NULL",
    "CREATE INDEX cases_by_queue ON cases (queue, created_at, id) WHERE queue IS NOT NULL",
    "CREATE INDEX cases_by_customer_created ON cases (customer_id, created_at, id) "
    "WHERE customer_id IS NOT NULL",
    "CREATE INDEX timers_by_due ON timers (due_at, id)",
    "CREATE INDEX timers_by_case ON timers (case_id, owner_state)",
    "CREATE INDEX timers_failed ON timers (due_at, id) WHERE status = 'failed'",
    "CREATE INDEX notifications_by_status ON notifications (status, id)",
    "CREATE INDEX deliveries_pending ON deliveries (next_attempt_at, id) WHERE status = 'pending'",
    "CREATE INDEX deliveries_dead ON deliveries (id) WHERE status = 'dead'",
    "CREATE INDEX deliveries_by_odd_case ON deliveries (case_id, id) "
    "WHERE substr(key, 1, length(case_id) + 1) <> case_id || ':'",
    "CREATE INDEX deliveries_by_odd_notification ON deliveries (notification_key) "
    "WHERE substr(key, 1, length(notification_key) + 1) <> notification_key || ':'",
)


MOMENTS_19 = (
    ("cases", "created_at"),
    ("cases", "updated_at"),
    ("cases", "sla_due"),
    ("timers", "due_at"),
    ("deliveries", "next_attempt_at"),
)
"""The columns schema step 19 turns into BLOBs of microseconds (store.sqlite.rows.micros)."""


HISTORY_20 = (
    "case_ref INTEGER NOT NULL REFERENCES cases (ref), seq INTEGER NOT NULL, at TEXT NOT NULL, "
    "actor TEXT NOT NULL, kind TEXT NOT NULL, trigger TEXT, from_state TEXT, to_state TEXT NOT "
    "NULL, payload TEXT, version INTEGER NOT NULL, details TEXT NOT NULL, texts TEXT, "
    "PRIMARY KEY (case_ref, seq)"
)
"""``history`` as schema steps 18 to 20 had it (columns in the same order)."""


def undo_history_key(db: sqlite3.Connection) -> None:
    """Remove what schema step 21 (issue 16) did, leaving the file as version 20 made it:
    ``history`` a rowid table with ``case_ref`` and ``seq`` stored and its (case_ref, seq) key
    in an index of its own, rows in the order of their keys; ``cases_open_scope`` of every
    case. A file before version 21 is left as it is."""
    [(version,)] = db.execute("SELECT version FROM schema_version")
    if version < 21:
        return
    names = "at, actor, kind, trigger, from_state, to_state, payload, version, details, texts"
    db.execute(f"CREATE TABLE history_20 ({HISTORY_20})")
    db.execute(
        f"INSERT INTO history_20 (case_ref, seq, {names}) SELECT case_ref, seq, {names} "
        "FROM history ORDER BY key"
    )
    db.execute("DROP TABLE history")
    db.execute("ALTER TABLE history_20 RENAME TO history")
    db.execute("DROP INDEX cases_open_scope")
    db.execute("CREATE UNIQUE INDEX cases_open_scope ON cases (open_scope)")
    db.execute("UPDATE schema_version SET version = 20")


def undo_state_index(db: sqlite3.Connection) -> None:
    """Remove what schema steps 21 and 20 (issue 16) did, leaving the file as version 19 made
    it: ``cases_by_state`` on (workflow, state) and ``cases_by_version`` beside it. A file
    before version 20 is left as it is."""
    undo_history_key(db)
    [(version,)] = db.execute("SELECT version FROM schema_version")
    if version < 20:
        return
    db.execute("DROP INDEX cases_by_state")
    db.execute("CREATE INDEX cases_by_state ON cases (workflow, state)")
    db.execute("CREATE INDEX cases_by_version ON cases (workflow, version)")
    db.execute("UPDATE schema_version SET version = 19")


def undo_compared_moments(db: sqlite3.Connection) -> None:
    """Remove what schema steps 20 and 19 (issue 16) did, leaving the file as version 18 made
    it: the moments queries compare as ISO text. A file before version 19 is left as it is."""
    undo_state_index(db)
    [(version,)] = db.execute("SELECT version FROM schema_version")
    if version < 19:
        return
    db.create_function("iso", 1, lambda moment: None if moment is None else ts(from_ts(moment)))
    for table, column in MOMENTS_19:
        db.execute(f"UPDATE {table} SET {column} = iso({column}) WHERE typeof({column}) = 'blob'")
    db.execute("UPDATE schema_version SET version = 18")


def undo_case_refs(db: sqlite3.Connection) -> None:
    """Remove what schema steps 19 and 18 (issue 16) added, leaving the file as version 17
    made it: the case's id in every row of history, timers, notifications and deliveries, the
    case table without ``ref`` (its rowid the same). A file at version 17 is left as it is."""
    undo_compared_moments(db)
    if "ref" not in [row[1] for row in db.execute("PRAGMA table_info(cases)")]:
        return
    db.execute("PRAGMA defer_foreign_keys = ON")
    for table, columns in CASE_ROWS_17.items():
        names = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
        read = ", ".join("cases.id" if name == "case_ref" else f"{table}.{name}" for name in names)
        db.execute(f"CREATE TABLE {table}_17 ({columns})")
        db.execute(
            f"INSERT INTO {table}_17 SELECT {read} FROM {table} "
            f"JOIN cases ON cases.ref = {table}.case_ref ORDER BY {table}.rowid"
        )
        db.execute(  # (timers: ids keep growing past those deleted, as AUTOINCREMENT promises)
            f"UPDATE sqlite_sequence SET seq = (SELECT seq FROM sqlite_sequence WHERE name = "
            f"'{table}') WHERE name = '{table}_17'"
        )
        db.execute(f"DROP TABLE {table}")
        db.execute(f"ALTER TABLE {table}_17 RENAME TO {table}")
    db.execute("CREATE TABLE cases_18 AS SELECT * FROM cases")
    db.execute("DROP TABLE cases")
    db.execute(f"CREATE TABLE cases ({CASES_17})")
    names = [row[1] for row in db.execute("PRAGMA table_info(cases)")]
    db.execute(
        f"INSERT INTO cases (rowid, {', '.join(names)}) SELECT ref, {', '.join(names)} "
        "FROM cases_18 ORDER BY ref"
    )
    db.execute("DROP TABLE cases_18")
    for index in INDEXES_17:
        db.execute(index)
    db.execute("UPDATE schema_version SET version = 17")


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
    version 9 made it (a file without them is left as it is); step 18 first."""
    undo_case_refs(db)
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
    every moment as ISO text (step 18 first)."""
    undo_case_refs(db)
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
