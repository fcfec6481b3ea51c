"""The default store: one SQLite file in WAL mode, migrated automatically.

Each :class:`~svcflow.store.base.CaseChange` is one ``BEGIN IMMEDIATE`` transaction, so a crash
at any point leaves either all of an event or none of it. Concurrent writers (threads or
processes) are told apart by the case revision: the ``UPDATE ... WHERE revision = ?`` of a stale
writer matches no row and it gets :class:`~svcflow.errors.ConcurrencyConflict`. Due timers are
read through an index on ``(due_at, id)``. Timestamps are stored as fixed-width UTC ISO-8601
text, so text order is time order.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from svcflow.errors import ConcurrencyConflict, StoreError, WorkflowVersionConflict
from svcflow.records import (
    NO_DETAILS,
    Case,
    DeadLetter,
    HistoryEntry,
    Notification,
    OutboxEntry,
    Timer,
)
from svcflow.store.base import (
    CaseChange,
    CaseHistory,
    DataCodec,
    DuplicateMessage,
    IdempotencyRecord,
    IdempotentReplay,
    TimerGone,
)

__all__ = ["SCHEMA_VERSION", "SqliteStore"]

_MIGRATIONS: list[str] = [
    """
    CREATE TABLE cases (
        id TEXT PRIMARY KEY,
        workflow TEXT NOT NULL,
        version INTEGER NOT NULL,
        state TEXT NOT NULL,
        data TEXT NOT NULL,
        revision INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX cases_by_state ON cases (workflow, state);
    CREATE INDEX cases_by_version ON cases (workflow, version);
    CREATE TABLE history (
        case_id TEXT NOT NULL REFERENCES cases (id),
        seq INTEGER NOT NULL,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        kind TEXT NOT NULL,
        trigger TEXT,
        from_state TEXT,
        to_state TEXT NOT NULL,
        payload TEXT,
        version INTEGER NOT NULL,
        details TEXT NOT NULL,
        PRIMARY KEY (case_id, seq)
    ) WITHOUT ROWID;
    CREATE TABLE timers (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        case_id TEXT NOT NULL REFERENCES cases (id),
        trigger TEXT NOT NULL,
        due_at TEXT NOT NULL,
        owner_state TEXT NOT NULL,
        keep INTEGER NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX timers_by_due ON timers (due_at, id);
    CREATE INDEX timers_by_case ON timers (case_id, owner_state);
    CREATE TABLE notifications (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        case_id TEXT NOT NULL REFERENCES cases (id),
        template TEXT NOT NULL,
        recipients TEXT NOT NULL,
        channel TEXT,
        urgent INTEGER NOT NULL,
        status TEXT NOT NULL,
        context TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX notifications_by_status ON notifications (status, id);
    CREATE TABLE idempotency (
        key TEXT PRIMARY KEY,
        scope TEXT NOT NULL,
        case_id TEXT NOT NULL,
        result TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE workflow_versions (
        workflow TEXT NOT NULL,
        version INTEGER NOT NULL,
        digest TEXT NOT NULL,
        source TEXT NOT NULL,
        file TEXT NOT NULL,
        registered_at TEXT NOT NULL,
        PRIMARY KEY (workflow, version)
    );
    """,
    # 2: leased claims, so several runners share due timers instead of racing for them.
    """
    ALTER TABLE timers ADD COLUMN claimed_by TEXT;
    ALTER TABLE timers ADD COLUMN lease_until TEXT
    """,
    # 3: SLA clocks and escalation chains kept with the case; quiet hours hold notifications.
    """
    ALTER TABLE cases ADD COLUMN sla TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE notifications ADD COLUMN deliver_after TEXT
    """,
    # 4: the outbox of rendered deliveries, inbound messages (dedupe and threading), and the
    # dead letters of inbound payloads that could not be taken.
    """
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        notification_key TEXT NOT NULL,
        case_id TEXT NOT NULL REFERENCES cases (id),
        template TEXT NOT NULL,
        channel TEXT NOT NULL,
        address TEXT NOT NULL,
        name TEXT,
        role TEXT,
        locale TEXT NOT NULL,
        subject TEXT NOT NULL,
        body TEXT NOT NULL,
        urgent INTEGER NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        created_at TEXT NOT NULL,
        last_error TEXT,
        reference TEXT,
        delivered_at TEXT,
        claimed_by TEXT,
        lease_until TEXT
    );
    CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at, id);
    CREATE INDEX deliveries_by_case ON deliveries (case_id, id);
    CREATE INDEX deliveries_by_notification ON deliveries (notification_key);
    CREATE TABLE messages (
        channel TEXT NOT NULL,
        message_id TEXT NOT NULL,
        case_id TEXT NOT NULL REFERENCES cases (id),
        sender TEXT NOT NULL,
        received_at TEXT NOT NULL,
        message TEXT NOT NULL,
        PRIMARY KEY (channel, message_id)
    );
    CREATE INDEX messages_by_sender ON messages (sender, received_at);
    CREATE INDEX messages_by_case ON messages (case_id, received_at);
    CREATE TABLE message_threads (
        thread_key TEXT NOT NULL,
        case_id TEXT NOT NULL,
        received_at TEXT NOT NULL
    );
    CREATE INDEX message_threads_by_key ON message_threads (thread_key, received_at);
    CREATE TABLE dead_letters (
        id INTEGER PRIMARY KEY,
        channel TEXT NOT NULL,
        raw TEXT NOT NULL,
        encoding TEXT NOT NULL,
        error TEXT NOT NULL,
        received_at TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'open',
        case_id TEXT
    )
    """,
]
SCHEMA_VERSION = len(_MIGRATIONS)
_NO_SLA: Mapping[str, Any] = MappingProxyType({})
_WAL_CHECKPOINT_PAGES = 4000
_DECODED_CACHE_SIZE = 10_000

_CASE_COLUMNS = "id, workflow, version, state, data, revision, created_at, updated_at, sla"
_TIMER_COLUMNS = "id, case_id, trigger, due_at, owner_state, keep, created_at"
_HISTORY_COLUMNS = (
    "case_id, seq, at, actor, kind, trigger, from_state, to_state, payload, version, details"
)
_OUTBOX_COLUMNS = (
    "id, key, notification_key, case_id, template, channel, address, name, role, locale, "
    "subject, body, urgent, status, attempts, next_attempt_at, created_at, last_error, "
    "reference, delivered_at"
)
_DEAD_LETTER_COLUMNS = "id, channel, raw, encoding, error, received_at, status, case_id"
_NOTIFICATION_COLUMNS = (
    "id, key, case_id, template, recipients, channel, urgent, status, created_at, context, "
    "deliver_after"
)


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _where(**filters: str | None) -> tuple[str, list[str]]:
    """A WHERE clause matching every filter that is not None (column = value)."""
    given = {column: value for column, value in filters.items() if value is not None}
    if not given:
        return "", []
    return " WHERE " + " AND ".join(f"{column} = ?" for column in given), list(given.values())


_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str).encode


class SqliteStore:
    """A SQLite-file store; safe for several threads and processes on one machine.

    ``synchronous`` is SQLite's durability setting: ``NORMAL`` (default) survives a crash of the
    process at any point; ``FULL`` also survives power loss at the cost of an fsync per event.
    """

    def __init__(self, path: str | Path, synchronous: str = "NORMAL") -> None:
        if synchronous.upper() not in ("NORMAL", "FULL", "EXTRA"):
            raise StoreError(
                f"invalid synchronous={synchronous!r} for the SQLite store; use NORMAL or FULL"
            )
        self.path = Path(path)
        self._synchronous = synchronous.upper()
        self._local = threading.local()
        self._connections: dict[threading.Thread, sqlite3.Connection] = {}
        self._lock = threading.Lock()
        self._codec: DataCodec | None = None
        self._decoded: dict[str, tuple[int, Mapping[str, Any]]] = {}
        try:
            self._migrate()
        except sqlite3.Error as error:
            raise StoreError(f"cannot open the SQLite store {self.path}: {error}") from None

    # -- connections and schema -------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection. Connections of threads that have ended are closed when
        a new one opens, so a host that runs a thread per request does not leak them."""
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is not None:
            return connection
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(f"PRAGMA synchronous={self._synchronous}")
        connection.execute(f"PRAGMA wal_autocheckpoint={_WAL_CHECKPOINT_PAGES}")
        connection.execute("PRAGMA foreign_keys=ON")
        self._local.connection = connection
        with self._lock:
            for thread, other in list(self._connections.items()):
                if not thread.is_alive():
                    other.close()
                    del self._connections[thread]
            self._connections[threading.current_thread()] = connection
        return connection

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise

    def _migrate(self) -> None:
        with self._write() as connection:
            connection.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER)")
            row = connection.execute("SELECT version FROM schema_version").fetchone()
            current = row[0] if row else 0
            if current > SCHEMA_VERSION:
                raise StoreError(
                    f"the store {self.path} has schema version {current}, newer than this "
                    f"svcflow understands ({SCHEMA_VERSION}); upgrade svcflow"
                )
            for script in _MIGRATIONS[current:]:
                for statement in filter(str.strip, script.split(";")):
                    connection.execute(statement)
            if row is None:
                connection.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
            else:
                connection.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))

    def schema_version(self) -> int:
        return int(self._connection().execute("SELECT version FROM schema_version").fetchone()[0])

    def attach_codec(self, codec: DataCodec) -> None:
        self._codec = codec

    def close(self) -> None:
        with self._lock:
            for connection in self._connections.values():
                connection.close()
            self._connections.clear()
        self._local = threading.local()

    # -- writing --

    def commit(self, change: CaseChange) -> None:
        case = change.case
        codec = self._require_codec()
        data = codec.encode(case.workflow, case.version, case.data)
        stamp = _ts(case.updated_at)
        sla = _json(dict(case.sla)) if case.sla else "{}"
        with self._write() as db:
            if change.idempotency_key is not None:
                record = self._idempotency(db, change.idempotency_key)
                if record is not None:
                    raise IdempotentReplay(record)
            if change.consume_timer is not None:
                gone = db.execute("DELETE FROM timers WHERE id = ?", (change.consume_timer,))
                if gone.rowcount == 0:
                    raise TimerGone(change.consume_timer)
            if change.expected_revision is None:
                db.execute(
                    f"INSERT INTO cases ({_CASE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        case.id,
                        case.workflow,
                        case.version,
                        case.state,
                        data,
                        case.revision,
                        _ts(case.created_at),
                        stamp,
                        sla,
                    ),
                )
            else:
                updated = db.execute(
                    "UPDATE cases SET state = ?, data = ?, revision = ?, updated_at = ?, sla = ? "
                    "WHERE id = ? AND revision = ?",
                    (
                        case.state,
                        data,
                        case.revision,
                        stamp,
                        sla,
                        case.id,
                        change.expected_revision,
                    ),
                )
                if updated.rowcount == 0:
                    row = db.execute(
                        "SELECT revision FROM cases WHERE id = ?", (case.id,)
                    ).fetchone()
                    raise ConcurrencyConflict(
                        case.id, change.expected_revision, row[0] if row else None
                    )
            entry = change.history
            db.execute(
                f"INSERT INTO history ({_HISTORY_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    entry.case_id,
                    entry.seq,
                    stamp,
                    entry.actor,
                    entry.kind,
                    entry.trigger,
                    entry.from_state,
                    entry.to_state,
                    None if entry.payload is None else _json(entry.payload),
                    entry.version,
                    _json(dict(entry.details)),  # a mappingproxy would be encoded as its str()
                ),
            )
            if change.cancel_owned_by is not None:
                db.execute(
                    "DELETE FROM timers WHERE case_id = ? AND owner_state = ? AND keep = 0",
                    (case.id, change.cancel_owned_by),
                )
            for trigger in change.cancel_triggers:
                db.execute(
                    "DELETE FROM timers WHERE case_id = ? AND trigger = ?", (case.id, trigger)
                )
            if change.timers:
                db.executemany(
                    "INSERT INTO timers (case_id, trigger, due_at, owner_state, keep, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (
                            case.id,
                            t.trigger,
                            _ts(t.due_at),
                            t.owner_state,
                            int(t.keep),
                            stamp,
                        )
                        for t in change.timers
                    ],
                )
            if change.notifications:
                db.executemany(
                    "INSERT INTO notifications (key, case_id, template, recipients, channel, "
                    "urgent, status, context, created_at, deliver_after) "
                    "VALUES (?,?,?,?,?,?,'pending',?,?,?)",
                    [
                        (
                            n.key,
                            case.id,
                            n.template,
                            _json(list(n.recipients)),
                            n.channel,
                            int(n.urgent),
                            _json(dict(n.context)),
                            stamp,
                            None if n.deliver_after is None else _ts(n.deliver_after),
                        )
                        for n in change.notifications
                    ],
                )
            if change.deliveries:
                db.executemany(
                    f"INSERT INTO deliveries ({_OUTBOX_COLUMNS}) "
                    "VALUES (NULL,?,?,?,?,?,?,?,?,?,?,?,?,?,0,?,?,?,NULL,NULL)",
                    [
                        (
                            d.key,
                            d.notification_key,
                            case.id,
                            d.template,
                            d.channel,
                            d.address,
                            d.name,
                            d.role,
                            d.locale,
                            d.subject,
                            d.body,
                            int(d.urgent),
                            d.status,
                            _ts(d.next_attempt_at),
                            stamp,
                            d.error,
                        )
                        for d in change.deliveries
                    ],
                )
            for message in change.messages:
                earlier = db.execute(
                    "SELECT case_id FROM messages WHERE channel = ? AND message_id = ?",
                    (message.channel, message.message_id),
                ).fetchone()
                if earlier is not None:
                    raise DuplicateMessage(earlier[0])
                received = _ts(message.received_at)
                db.execute(
                    "INSERT INTO messages (channel, message_id, case_id, sender, received_at, "
                    "message) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        message.channel,
                        message.message_id,
                        case.id,
                        message.sender,
                        received,
                        _json(dict(message.message)),
                    ),
                )
                db.executemany(
                    "INSERT INTO message_threads (thread_key, case_id, received_at) "
                    "VALUES (?, ?, ?)",
                    [(key, case.id, received) for key in message.thread_keys],
                )
            if change.idempotency_key is not None:
                db.execute(
                    "INSERT INTO idempotency (key, scope, case_id, result, created_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (
                        change.idempotency_key,
                        change.idempotency_scope or "",
                        case.id,
                        _json(self._case_snapshot(case, data)),
                        stamp,
                    ),
                )
        self._remember(case.id, case.revision, case.data)

    def register_workflow(
        self, workflow: str, version: int, digest: str, source: str, file: str
    ) -> None:
        with self._write() as db:
            row = db.execute(
                "SELECT digest FROM workflow_versions WHERE workflow = ? AND version = ?",
                (workflow, version),
            ).fetchone()
            if row is not None and row[0] == digest:
                return
            if row is not None:
                count = db.execute(
                    "SELECT count(*) FROM cases WHERE workflow = ? AND version = ?",
                    (workflow, version),
                ).fetchone()[0]
                if count:
                    raise WorkflowVersionConflict(workflow, version, file, count)
            db.execute(
                "INSERT OR REPLACE INTO workflow_versions "
                "(workflow, version, digest, source, file, registered_at) VALUES (?,?,?,?,?,?)",
                (workflow, version, digest, source, file, _ts(datetime.now(UTC))),
            )

    # -- reading --

    def workflow_source(self, workflow: str, version: int) -> tuple[str, str] | None:
        row = (
            self._connection()
            .execute(
                "SELECT source, file FROM workflow_versions WHERE workflow = ? AND version = ?",
                (workflow, version),
            )
            .fetchone()
        )
        return (row[0], row[1]) if row else None

    def load_case(self, case_id: str) -> Case | None:
        row = (
            self._connection()
            .execute(f"SELECT {_CASE_COLUMNS} FROM cases WHERE id = ?", (case_id,))
            .fetchone()
        )
        return self._case(row) if row else None

    def find_cases(self, workflow: str | None = None, state: str | None = None) -> list[Case]:
        where, params = _where(workflow=workflow, state=state)
        rows = (
            self._connection()
            .execute(f"SELECT {_CASE_COLUMNS} FROM cases{where} ORDER BY created_at, rowid", params)
            .fetchall()
        )
        return [self._case(row) for row in rows]

    def history(self, case_id: str) -> list[HistoryEntry]:
        rows = (
            self._connection()
            .execute(
                f"SELECT {_HISTORY_COLUMNS} FROM history WHERE case_id = ? ORDER BY seq", (case_id,)
            )
            .fetchall()
        )
        return [_history_entry(r) for r in rows]

    def histories(self) -> Iterator[CaseHistory]:
        connection = self._connection()
        workflows = dict(connection.execute("SELECT id, workflow FROM cases").fetchall())
        rows = connection.execute(
            f"SELECT {_HISTORY_COLUMNS} FROM history ORDER BY case_id, seq"  # the primary key
        )
        case_id: str | None = None
        entries: list[HistoryEntry] = []
        for row in rows:
            if row[0] != case_id:
                if case_id is not None:
                    yield CaseHistory(case_id, workflows[case_id], entries)
                case_id, entries = row[0], []
            entries.append(_history_entry(row))
        if case_id is not None:
            yield CaseHistory(case_id, workflows[case_id], entries)

    def idempotency(self, key: str) -> IdempotencyRecord | None:
        return self._idempotency(self._connection(), key)

    def claim_due_timers(
        self, now: datetime, limit: int, owner: str, lease_until: datetime
    ) -> list[Timer]:
        stamp = _ts(now)
        query = (
            f"SELECT {_TIMER_COLUMNS} FROM timers WHERE due_at <= ? AND (lease_until IS NULL "
            "OR lease_until <= ? OR claimed_by = ?) AND NOT EXISTS (SELECT 1 FROM timers AS held "
            "WHERE held.case_id = timers.case_id AND held.lease_until > ? AND held.claimed_by != ? "
            "AND (held.due_at < timers.due_at OR (held.due_at = timers.due_at AND held.id < "
            "timers.id))) ORDER BY due_at, id LIMIT ?"
        )
        params = (stamp, stamp, owner, stamp, owner, limit)
        if not self._connection().execute(query, params).fetchone():
            return []  # the usual case for a runner's round: nothing due, no write lock taken
        with self._write() as db:
            rows = db.execute(query, params).fetchall()
            db.executemany(
                "UPDATE timers SET claimed_by = ?, lease_until = ? WHERE id = ?",
                [(owner, _ts(lease_until), row[0]) for row in rows],
            )
        return [self._timer(row) for row in rows]

    def due_timers(self, now: datetime, limit: int) -> list[Timer]:
        rows = (
            self._connection()
            .execute(
                f"SELECT {_TIMER_COLUMNS} FROM timers WHERE due_at <= ? "
                "ORDER BY due_at, id LIMIT ?",
                (_ts(now), limit),
            )
            .fetchall()
        )
        return [self._timer(row) for row in rows]

    def timers(self, case_id: str) -> list[Timer]:
        rows = (
            self._connection()
            .execute(
                f"SELECT {_TIMER_COLUMNS} FROM timers WHERE case_id = ? ORDER BY due_at, id",
                (case_id,),
            )
            .fetchall()
        )
        return [self._timer(row) for row in rows]

    def notifications(
        self, case_id: str | None = None, status: str | None = None
    ) -> list[Notification]:
        where, params = _where(case_id=case_id, status=status)
        if case_id is not None:
            # Keys start with "<case id>:", so the unique key index finds a case's rows.
            where += " AND key > ? AND key < ?"
            params += [f"{case_id}:", f"{case_id};"]
        rows = (
            self._connection()
            .execute(
                f"SELECT {_NOTIFICATION_COLUMNS} FROM notifications{where} ORDER BY id", params
            )
            .fetchall()
        )
        return [
            Notification(
                id=r[0],
                key=r[1],
                case_id=r[2],
                template=r[3],
                recipients=tuple(json.loads(r[4])),
                channel=r[5],
                urgent=bool(r[6]),
                status=r[7],
                created_at=_dt(r[8]),
                context=json.loads(r[9]),
                deliver_after=None if r[10] is None else _dt(r[10]),
            )
            for r in rows
        ]

    # -- the outbox --

    def claim_deliveries(
        self, now: datetime, limit: int, owner: str, lease_until: datetime
    ) -> list[OutboxEntry]:
        stamp = _ts(now)
        query = (
            f"SELECT {_OUTBOX_COLUMNS} FROM deliveries WHERE status = 'pending' AND "
            "next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ? OR claimed_by = ?) "
            "ORDER BY next_attempt_at, id LIMIT ?"
        )
        params = (stamp, stamp, owner, limit)
        if not self._connection().execute(query, params).fetchone():
            return []
        with self._write() as db:
            rows = db.execute(query, params).fetchall()
            db.executemany(
                "UPDATE deliveries SET claimed_by = ?, lease_until = ? WHERE id = ?",
                [(owner, _ts(lease_until), row[0]) for row in rows],
            )
        return [_outbox_entry(row) for row in rows]

    def record_attempt(
        self,
        entry_id: int,
        status: str,
        attempts: int,
        at: datetime,
        next_attempt_at: datetime | None = None,
        error: str | None = None,
        reference: str | None = None,
    ) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at = "
                "coalesce(?, next_attempt_at), last_error = ?, reference = ?, delivered_at = ?, "
                "claimed_by = NULL, lease_until = NULL WHERE id = ?",
                (
                    status,
                    attempts,
                    None if next_attempt_at is None else _ts(next_attempt_at),
                    error,
                    reference,
                    _ts(at) if status == "delivered" else None,
                    entry_id,
                ),
            )
            db.execute(
                "UPDATE notifications SET status = (SELECT CASE WHEN sum(status = 'pending') > 0 "
                "THEN 'pending' WHEN sum(status = 'dead') > 0 THEN 'dead' ELSE 'delivered' END "
                "FROM deliveries WHERE notification_key = notifications.key) WHERE key = "
                "(SELECT notification_key FROM deliveries WHERE id = ?)",
                (entry_id,),
            )

    def outbox(self, case_id: str | None = None, status: str | None = None) -> list[OutboxEntry]:
        where, params = _where(case_id=case_id, status=status)
        rows = (
            self._connection()
            .execute(f"SELECT {_OUTBOX_COLUMNS} FROM deliveries{where} ORDER BY id", params)
            .fetchall()
        )
        return [_outbox_entry(row) for row in rows]

    # -- inbound messages --

    def message_case(self, channel: str, message_id: str) -> str | None:
        row = (
            self._connection()
            .execute(
                "SELECT case_id FROM messages WHERE channel = ? AND message_id = ?",
                (channel, message_id),
            )
            .fetchone()
        )
        return None if row is None else str(row[0])

    def thread_case(self, keys: Sequence[str]) -> str | None:
        if not keys:
            return None
        marks = ",".join("?" * len(keys))
        row = (
            self._connection()
            .execute(
                f"SELECT case_id FROM message_threads WHERE thread_key IN ({marks}) "
                "ORDER BY received_at DESC, rowid DESC LIMIT 1",
                list(keys),
            )
            .fetchone()
        )
        return None if row is None else str(row[0])

    def sender_cases(self, sender: str) -> list[str]:
        rows = (
            self._connection()
            .execute(
                "SELECT case_id FROM messages WHERE sender = ? GROUP BY case_id "
                "ORDER BY max(received_at) DESC",
                (sender,),
            )
            .fetchall()
        )
        return [str(row[0]) for row in rows]

    def case_messages(self, case_id: str) -> list[Mapping[str, Any]]:
        rows = (
            self._connection()
            .execute(
                "SELECT message FROM messages WHERE case_id = ? ORDER BY received_at, rowid",
                (case_id,),
            )
            .fetchall()
        )
        return [json.loads(row[0]) for row in rows]

    def add_dead_letter(
        self, channel: str, raw: str, encoding: str, error: str, at: datetime
    ) -> int:
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO dead_letters (channel, raw, encoding, error, received_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (channel, raw, encoding, error, _ts(at)),
            )
            return int(cursor.lastrowid or 0)

    def dead_letters(self, status: str | None = None) -> list[DeadLetter]:
        where, params = _where(status=status)
        rows = (
            self._connection()
            .execute(f"SELECT {_DEAD_LETTER_COLUMNS} FROM dead_letters{where} ORDER BY id", params)
            .fetchall()
        )
        return [DeadLetter(r[0], r[1], r[2], r[3], r[4], _dt(r[5]), r[6], r[7]) for r in rows]

    def close_dead_letter(self, dead_letter_id: int, case_id: str) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE dead_letters SET status = 'replayed', case_id = ? WHERE id = ?",
                (case_id, dead_letter_id),
            )

    # -- helpers --

    def _remember(self, case_id: str, revision: int, data: Mapping[str, Any]) -> None:
        """Keep decoded data by case and revision: a case read again at the same revision
        (the usual read before the next event) skips decoding. Bounded; cleared when full."""
        if len(self._decoded) >= _DECODED_CACHE_SIZE:
            self._decoded.clear()
        self._decoded[case_id] = (revision, data)

    def _require_codec(self) -> DataCodec:
        if self._codec is None:
            raise StoreError("the store has no data codec; open it through svcflow.Engine")
        return self._codec

    def _case(self, row: tuple[Any, ...]) -> Case:
        cached = self._decoded.get(row[0])
        if cached is not None and cached[0] == row[5]:
            data = cached[1]
        else:
            data = MappingProxyType(self._require_codec().decode(row[1], row[2], row[4]))
            self._remember(row[0], row[5], data)
        return Case(
            id=row[0],
            workflow=row[1],
            version=row[2],
            state=row[3],
            data=data,
            revision=row[5],
            created_at=_dt(row[6]),
            updated_at=_dt(row[7]),
            sla=_NO_SLA if row[8] == "{}" else MappingProxyType(json.loads(row[8])),
        )

    @staticmethod
    def _timer(row: tuple[Any, ...]) -> Timer:
        return Timer(
            id=row[0],
            case_id=row[1],
            trigger=row[2],
            due_at=_dt(row[3]),
            owner_state=row[4],
            keep=bool(row[5]),
            created_at=_dt(row[6]),
        )

    @staticmethod
    def _case_snapshot(case: Case, data: str) -> Mapping[str, Any]:
        return {
            "id": case.id,
            "workflow": case.workflow,
            "version": case.version,
            "state": case.state,
            "data": data,
            "revision": case.revision,
            "created_at": _ts(case.created_at),
            "updated_at": _ts(case.updated_at),
            "sla": dict(case.sla),
        }

    def _idempotency(self, db: sqlite3.Connection, key: str) -> IdempotencyRecord | None:
        row = db.execute(
            "SELECT key, scope, result FROM idempotency WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        snap = json.loads(row[2])
        case = self._case(
            (
                snap["id"],
                snap["workflow"],
                snap["version"],
                snap["state"],
                snap["data"],
                snap["revision"],
                snap["created_at"],
                snap["updated_at"],
                _json(snap.get("sla", {})),
            )
        )
        return IdempotencyRecord(row[0], row[1], case)


def _history_entry(r: tuple[Any, ...]) -> HistoryEntry:
    return HistoryEntry(
        case_id=r[0],
        seq=r[1],
        at=_dt(r[2]),
        actor=r[3],
        kind=r[4],
        trigger=r[5],
        from_state=r[6],
        to_state=r[7],
        payload=None if r[8] is None else json.loads(r[8]),
        version=r[9],
        details=_details(r[10]),
    )


def _details(text: str) -> Mapping[str, Any]:
    """Details as stored; older files kept an entry without details as the JSON text "{}"."""
    found = json.loads(text)
    return found if isinstance(found, dict) and found else NO_DETAILS


def _outbox_entry(row: tuple[Any, ...]) -> OutboxEntry:
    return OutboxEntry(
        id=row[0],
        key=row[1],
        notification_key=row[2],
        case_id=row[3],
        template=row[4],
        channel=row[5],
        address=row[6],
        name=row[7],
        role=row[8],
        locale=row[9],
        subject=row[10],
        body=row[11],
        urgent=bool(row[12]),
        status=row[13],
        attempts=row[14],
        next_attempt_at=_dt(row[15]),
        created_at=_dt(row[16]),
        last_error=row[17],
        reference=row[18],
        delivered_at=None if row[19] is None else _dt(row[19]),
    )
