"""The SQLite store's tables, and the migrations that bring any older file up to date.

Each entry of :data:`MIGRATIONS` is a script run once, in order; the file records how many have
run (``schema_version``), so opening an older file upgrades it and a newer file is refused.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from svcflow.errors import StoreError
from svcflow.store.query import sla_index
from svcflow.store.sqlite.packing import unpack
from svcflow.store.sqlite.rows import from_ts, micros, ts

__all__ = [
    "CASE_COLUMNS",
    "DEAD_LETTER_COLUMNS",
    "HISTORY_COLUMNS",
    "INDEX_COLUMNS",
    "MIGRATIONS",
    "NOTIFICATION_COLUMNS",
    "OUTBOX_COLUMNS",
    "OUTBOX_READ",
    "REFUSAL_COLUMNS",
    "SCHEMA_VERSION",
    "TIMER_COLUMNS",
    "migrate",
]

MIGRATIONS: list[str] = [
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
    # 5: fault isolation: a timer whose firing raised is retried with backoff, then parked as
    # failed with its error until someone releases it.
    """
    ALTER TABLE timers ADD COLUMN status TEXT NOT NULL DEFAULT 'pending';
    ALTER TABLE timers ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE timers ADD COLUMN last_error TEXT;
    ALTER TABLE timers ADD COLUMN retry_at TEXT;
    CREATE INDEX timers_by_status ON timers (status, due_at, id)
    """,
    # 6: events refused for lack of authority (who tried what), kept apart from the history.
    """
    CREATE TABLE refusals (
        id INTEGER PRIMARY KEY,
        case_id TEXT NOT NULL,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        trigger TEXT NOT NULL,
        state TEXT NOT NULL,
        reason TEXT NOT NULL,
        roles TEXT NOT NULL,
        required TEXT NOT NULL
    );
    CREATE INDEX refusals_by_case ON refusals (case_id, id)
    """,
    # 7 (issue 16): history as a rowid table. A WITHOUT ROWID table keeps whole rows in its
    # key's b-tree, which packs rows of several hundred bytes badly (about 60% of each page
    # was empty); a rowid table packs them and finds them through a small (case_id, seq) index.
    """
    CREATE TABLE history_by_rowid (
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
    );
    INSERT INTO history_by_rowid SELECT case_id, seq, at, actor, kind, trigger, from_state,
        to_state, payload, version, details FROM history ORDER BY case_id, seq;
    DROP TABLE history;
    ALTER TABLE history_by_rowid RENAME TO history
    """,
    # 8: customers and their contact points, the customer owning each case; inbound messages
    # deduplicated per sender and thread keys scoped to their channel family (store.base.dedupe_key
    # and thread_key: the two UPDATEs rewrite older rows to those forms).
    """
    CREATE TABLE customers (
        id TEXT PRIMARY KEY,
        name TEXT,
        locale TEXT,
        segment TEXT,
        preferred TEXT
    );
    CREATE TABLE contact_points (
        channel TEXT NOT NULL,
        address TEXT NOT NULL,
        customer_id TEXT NOT NULL REFERENCES customers (id),
        verified INTEGER NOT NULL,
        position INTEGER NOT NULL,
        PRIMARY KEY (channel, address)
    );
    CREATE INDEX contact_points_by_customer ON contact_points (customer_id, position);
    ALTER TABLE cases ADD COLUMN customer_id TEXT;
    CREATE INDEX cases_by_customer ON cases (customer_id);
    UPDATE message_threads SET thread_key = coalesce((
        SELECT CASE
            WHEN m.channel IN ('phone', 'sms') THEN 'sms'
            WHEN m.channel = 'web_form' AND instr(m.sender, '@') > 0 THEN 'email'
            WHEN m.channel = 'web_form' THEN 'sms'
            ELSE m.channel END
        FROM messages m
        WHERE m.case_id = message_threads.case_id AND m.received_at = message_threads.received_at
        LIMIT 1), '') || '|' || thread_key;
    UPDATE messages SET message_id = length(sender) || ':' || sender || ':' || message_id
    """,
    # 9 (issue 15): what hosts find cases by, kept beside each case so that queries read
    # indexes instead of decoding cases (store.query): the assignee and queue fields, the
    # earliest running SLA deadline, whether an active clock breached. Older rows are filled
    # in by the svcflow_* functions migrate() registers.
    """
    ALTER TABLE cases ADD COLUMN assignee TEXT;
    ALTER TABLE cases ADD COLUMN queue TEXT;
    ALTER TABLE cases ADD COLUMN sla_due TEXT;
    ALTER TABLE cases ADD COLUMN sla_breached INTEGER NOT NULL DEFAULT 0;
    UPDATE cases SET assignee = svcflow_field(data, 'assignee'),
        queue = svcflow_field(data, 'queue'), sla_due = svcflow_sla_due(sla),
        sla_breached = svcflow_sla_breached(sla);
    CREATE INDEX cases_by_created_id ON cases (created_at, id);
    CREATE INDEX cases_by_updated ON cases (updated_at);
    CREATE INDEX cases_by_assignee ON cases (assignee, created_at, id);
    CREATE INDEX cases_by_queue ON cases (queue, created_at, id);
    CREATE INDEX cases_by_customer_created ON cases (customer_id, created_at, id);
    CREATE INDEX cases_by_sla_due ON cases (sla_due, id) WHERE sla_due IS NOT NULL;
    CREATE INDEX cases_by_sla_breached ON cases (created_at, id) WHERE sla_breached = 1
    """,
    # 10: large history texts stored once per case (store.history_texts); a history row names
    # the texts taken out of it. Older rows keep their values inline (texts NULL).
    """
    ALTER TABLE history ADD COLUMN texts TEXT;
    CREATE TABLE history_texts (
        case_id TEXT NOT NULL REFERENCES cases (id),
        digest TEXT NOT NULL,
        seq INTEGER NOT NULL,
        length INTEGER NOT NULL,
        base TEXT,
        tail TEXT NOT NULL,
        suffix TEXT,
        PRIMARY KEY (case_id, digest)
    );
    CREATE INDEX history_texts_by_seq ON history_texts (case_id, seq)
    """,
    # 11 (issue 19): proactive care. A recurring schedule's timer keeps the nominal moment of its
    # occurrence; customers have a time zone, a birthday, a customer-since date and the moment
    # they left; an open case of a customer-scoped workflow holds a key no other case may hold.
    """
    ALTER TABLE timers ADD COLUMN nominal TEXT;
    ALTER TABLE customers ADD COLUMN timezone TEXT;
    ALTER TABLE customers ADD COLUMN birthday TEXT;
    ALTER TABLE customers ADD COLUMN since TEXT;
    ALTER TABLE customers ADD COLUMN left_at TEXT;
    ALTER TABLE cases ADD COLUMN open_scope TEXT;
    CREATE UNIQUE INDEX cases_open_scope ON cases (open_scope)
    """,
    # 12 (issue 16): fewer index bytes per case. Columns most cases leave empty are indexed
    # only where they hold a value (queries compare them with =, which such an index serves);
    # the timers and deliveries queries look for by status get indexes of those rows only;
    # cases_by_customer is the prefix of cases_by_customer_created. (History details and SLA
    # state written from now on are packed, store.sqlite.packing; older rows stay as they are.)
    """
    DROP INDEX cases_by_customer;
    DROP INDEX cases_by_assignee;
    DROP INDEX cases_by_queue;
    DROP INDEX cases_by_customer_created;
    CREATE INDEX cases_by_assignee ON cases (assignee, created_at, id) WHERE assignee IS NOT NULL;
    CREATE INDEX cases_by_queue ON cases (queue, created_at, id) WHERE queue IS NOT NULL;
    CREATE INDEX cases_by_customer_created ON cases (customer_id, created_at, id)
        WHERE customer_id IS NOT NULL;
    DROP INDEX timers_by_status;
    CREATE INDEX timers_failed ON timers (due_at, id) WHERE status = 'failed';
    DROP INDEX deliveries_due;
    CREATE INDEX deliveries_pending ON deliveries (next_attempt_at, id) WHERE status = 'pending';
    CREATE INDEX deliveries_dead ON deliveries (id) WHERE status = 'dead'
    """,
    # 13 (issue 13): a case's large data texts (the chat transcript) stored once, in
    # history_texts, and named by the case row, so an event no longer rewrites them whole.
    # Older rows keep their data inline (texts NULL) until their next event.
    """
    ALTER TABLE cases ADD COLUMN texts TEXT
    """,
    # 14 (issue 19): durable signals. A signal an event raises for another workflow is written
    # in the event's transaction and deleted once delivered, so a crash in between loses none.
    """
    CREATE TABLE signals (
        key TEXT PRIMARY KEY,
        workflow TEXT NOT NULL,
        customer_id TEXT,
        start TEXT,
        fire TEXT,
        created_at TEXT NOT NULL
    );
    CREATE INDEX signals_by_age ON signals (created_at, key)
    """,
    # 15 (issue 16): the reason of an outbox row that reached nobody (a NoRecipient text, the
    # same for every case but for the case id) stored once in shared_texts, with "{case}" in
    # place of the id, and named by the row (store.sqlite.shared). Older rows keep last_error.
    """
    CREATE TABLE shared_texts (
        id INTEGER PRIMARY KEY,
        text TEXT NOT NULL UNIQUE
    );
    ALTER TABLE deliveries ADD COLUMN reason INTEGER
    """,
    # 16 (issue 16): fewer bytes per case. A case's and a notification's outbox rows are found
    # by the range of their keys (store.sqlite.outbox_keys); their two indexes keep only rows
    # keyed otherwise. Case data written from now on is values-only (store.sqlite.values),
    # which svcflow before this step cannot read; older rows stay JSON objects.
    """
    DROP INDEX deliveries_by_case;
    DROP INDEX deliveries_by_notification;
    CREATE INDEX deliveries_by_odd_case ON deliveries (case_id, id)
        WHERE substr(key, 1, length(case_id) + 1) <> case_id || ':';
    CREATE INDEX deliveries_by_odd_notification ON deliveries (notification_key)
        WHERE substr(key, 1, length(notification_key) + 1) <> notification_key || ':'
    """,
    # 17 (issue 16): the moments no query compares (history at, the created_at of timers,
    # notifications and deliveries) are written from now on as 8-byte BLOBs of microseconds
    # (store.sqlite.rows.micros), which svcflow before this step cannot read: the step only
    # moves the version. Older rows keep ISO text and read as before.
    "",
    # 18 (issue 16): history, timers, notifications and deliveries name their case by the case
    # row's integer key (cases.ref, the rowid kept through VACUUM) instead of its 32-character
    # id, in every row and index entry (store.sqlite.case_rows); a case's outbox rows are found
    # by their own small index again. The tables are rewritten; their row ids stay.
    """
    PRAGMA defer_foreign_keys = ON;
    CREATE TABLE cases_17 AS SELECT rowid AS ref, * FROM cases;
    DROP TABLE cases;
    CREATE TABLE cases (
        ref INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        workflow TEXT NOT NULL,
        version INTEGER NOT NULL,
        state TEXT NOT NULL,
        data TEXT NOT NULL,
        revision INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        sla TEXT NOT NULL DEFAULT '{}',
        customer_id TEXT,
        assignee TEXT,
        queue TEXT,
        sla_due TEXT,
        sla_breached INTEGER NOT NULL DEFAULT 0,
        open_scope TEXT,
        texts TEXT
    );
    INSERT INTO cases SELECT ref, id, workflow, version, state, data, revision, created_at,
        updated_at, sla, customer_id, assignee, queue, sla_due, sla_breached, open_scope, texts
        FROM cases_17 ORDER BY ref;
    DROP TABLE cases_17;
    CREATE INDEX cases_by_state ON cases (workflow, state);
    CREATE INDEX cases_by_version ON cases (workflow, version);
    CREATE INDEX cases_by_created_id ON cases (created_at, id);
    CREATE INDEX cases_by_updated ON cases (updated_at);
    CREATE INDEX cases_by_sla_due ON cases (sla_due, id) WHERE sla_due IS NOT NULL;
    CREATE INDEX cases_by_sla_breached ON cases (created_at, id) WHERE sla_breached = 1;
    CREATE UNIQUE INDEX cases_open_scope ON cases (open_scope);
    CREATE INDEX cases_by_assignee ON cases (assignee, created_at, id) WHERE assignee IS NOT NULL;
    CREATE INDEX cases_by_queue ON cases (queue, created_at, id) WHERE queue IS NOT NULL;
    CREATE INDEX cases_by_customer_created ON cases (customer_id, created_at, id)
        WHERE customer_id IS NOT NULL;
    CREATE TABLE history_18 (
        case_ref INTEGER NOT NULL REFERENCES cases (ref),
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
        texts TEXT,
        PRIMARY KEY (case_ref, seq)
    );
    INSERT INTO history_18 SELECT cases.ref, seq, at, actor, kind, trigger, from_state,
        to_state, payload, history.version, details, history.texts
        FROM history JOIN cases ON cases.id = history.case_id ORDER BY history.rowid;
    DROP TABLE history;
    ALTER TABLE history_18 RENAME TO history;
    CREATE TABLE timers_18 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        case_ref INTEGER NOT NULL REFERENCES cases (ref),
        trigger TEXT NOT NULL,
        due_at TEXT NOT NULL,
        owner_state TEXT NOT NULL,
        keep INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        claimed_by TEXT,
        lease_until TEXT,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        retry_at TEXT,
        nominal TEXT
    );
    INSERT INTO timers_18 SELECT timers.id, cases.ref, trigger, due_at, owner_state, keep,
        timers.created_at, claimed_by, lease_until, status, attempts, last_error, retry_at,
        nominal FROM timers JOIN cases ON cases.id = timers.case_id ORDER BY timers.id;
    UPDATE sqlite_sequence SET seq = (SELECT seq FROM sqlite_sequence WHERE name = 'timers')
        WHERE name = 'timers_18' AND EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'timers');
    DROP TABLE timers;
    ALTER TABLE timers_18 RENAME TO timers;
    CREATE INDEX timers_by_due ON timers (due_at, id);
    CREATE INDEX timers_by_case ON timers (case_ref);
    CREATE INDEX timers_failed ON timers (due_at, id) WHERE status = 'failed';
    CREATE TABLE notifications_18 (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        case_ref INTEGER NOT NULL REFERENCES cases (ref),
        template TEXT NOT NULL,
        recipients TEXT NOT NULL,
        channel TEXT,
        urgent INTEGER NOT NULL,
        status TEXT NOT NULL,
        context TEXT NOT NULL,
        created_at TEXT NOT NULL,
        deliver_after TEXT
    );
    INSERT INTO notifications_18 SELECT notifications.id, key, cases.ref, template,
        recipients, channel, urgent, status, context, notifications.created_at, deliver_after
        FROM notifications JOIN cases ON cases.id = notifications.case_id
        ORDER BY notifications.id;
    DROP TABLE notifications;
    ALTER TABLE notifications_18 RENAME TO notifications;
    CREATE INDEX notifications_by_status ON notifications (status, id);
    CREATE TABLE deliveries_18 (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        notification_key TEXT NOT NULL,
        case_ref INTEGER NOT NULL REFERENCES cases (ref),
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
        lease_until TEXT,
        reason INTEGER
    );
    INSERT INTO deliveries_18 SELECT deliveries.id, key, notification_key, cases.ref,
        template, channel, address, name, role, locale, subject, body, urgent, status,
        attempts, next_attempt_at, deliveries.created_at, last_error, reference, delivered_at,
        claimed_by, lease_until, reason
        FROM deliveries JOIN cases ON cases.id = deliveries.case_id ORDER BY deliveries.id;
    DROP TABLE deliveries;
    ALTER TABLE deliveries_18 RENAME TO deliveries;
    CREATE INDEX deliveries_pending ON deliveries (next_attempt_at, id) WHERE status = 'pending';
    CREATE INDEX deliveries_dead ON deliveries (id) WHERE status = 'dead';
    CREATE INDEX deliveries_by_case ON deliveries (case_ref, id);
    CREATE INDEX deliveries_by_odd_notification ON deliveries (notification_key)
        WHERE substr(key, 1, length(notification_key) + 1) <> notification_key || ':'
    """,
    # 19 (issue 16): the moments queries compare (a case's created_at, updated_at and sla_due,
    # a timer's due_at, a delivery's next_attempt_at) as 8-byte BLOBs of microseconds too
    # (store.sqlite.rows.micros, whose byte order is time order). SQLite orders every TEXT
    # before every BLOB, so the rows written before are rewritten here, all at once.
    """
    UPDATE cases SET created_at = svcflow_micros(created_at),
        updated_at = svcflow_micros(updated_at), sla_due = svcflow_micros(sla_due);
    UPDATE timers SET due_at = svcflow_micros(due_at);
    UPDATE deliveries SET next_attempt_at = svcflow_micros(next_attempt_at)
    """,
    # 20 (issue 16): cases_by_version goes into cases_by_state (workflow, state, version): a
    # new case writes one index entry instead of two (a page of the WAL, about 20 bytes), and
    # finding cases by workflow, or by workflow and state, reads the merged index as before.
    """
    DROP INDEX cases_by_version;
    DROP INDEX cases_by_state;
    CREATE INDEX cases_by_state ON cases (workflow, state, version)
    """,
    # 21 (issue 16): history keyed by one integer, key = case_ref * 2**32 + seq, its rowid: the
    # table is the only b-tree an entry writes (the (case_ref, seq) key's index goes, a WAL
    # page an event, about 50 bytes a case); case_ref and seq are virtual columns of the key
    # (store.sqlite.history_keys). A case's entries are the key range of its ref. And
    # cases_open_scope keeps only the cases holding a scope (a case without one, most, wrote
    # a NULL entry); `open_scope = ?` reads the partial index as before.
    """
    CREATE TABLE history_21 (
        case_ref INTEGER AS (key >> 32),
        seq INTEGER AS (key & 4294967295),
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        kind TEXT NOT NULL,
        trigger TEXT,
        from_state TEXT,
        to_state TEXT NOT NULL,
        payload TEXT,
        version INTEGER NOT NULL,
        details TEXT NOT NULL,
        texts TEXT,
        key INTEGER PRIMARY KEY
    );
    INSERT INTO history_21 (key, at, actor, kind, trigger, from_state, to_state, payload,
        version, details, texts) SELECT case_ref * 4294967296 + seq, at, actor, kind, trigger,
        from_state, to_state, payload, version, details, texts FROM history
        ORDER BY case_ref, seq;
    DROP TABLE history;
    ALTER TABLE history_21 RENAME TO history;
    DROP INDEX cases_open_scope;
    CREATE UNIQUE INDEX cases_open_scope ON cases (open_scope) WHERE open_scope IS NOT NULL
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)

CASE_COLUMNS = "id, workflow, version, state, data, revision, created_at, updated_at, sla, texts"
INDEX_COLUMNS = "assignee, queue, sla_due, sla_breached"
"""The columns kept beside a case for queries (:func:`svcflow.store.query.case_index`)."""
TIMER_COLUMNS = (
    "id, case_id, trigger, due_at, owner_state, keep, created_at, status, attempts, last_error, "
    "retry_at, nominal"
)
HISTORY_COLUMNS = (
    "case_id, seq, at, actor, kind, trigger, from_state, to_state, payload, version, details, texts"
)
OUTBOX_COLUMNS = (
    "id, key, notification_key, case_id, template, channel, address, name, role, locale, "
    "subject, body, urgent, status, attempts, next_attempt_at, created_at, last_error, "
    "reference, delivered_at"
)
OUTBOX_READ = (
    f"{OUTBOX_COLUMNS}, (SELECT text FROM shared_texts WHERE shared_texts.id = deliveries.reason)"
)
"""What reading a delivery selects: its columns and the shared text its reason names
(:func:`svcflow.store.sqlite.shared.reason_text`)."""
DEAD_LETTER_COLUMNS = "id, channel, raw, encoding, error, received_at, status, case_id"
REFUSAL_COLUMNS = "case_id, at, actor, trigger, state, reason, roles, required"
NOTIFICATION_COLUMNS = (
    "id, key, case_id, template, recipients, channel, urgent, status, created_at, context, "
    "deliver_after"
)


OLDEST_SQLITE = (3, 31, 0)
"""The oldest SQLite the schema works with: ``history``'s virtual columns (step 21) are SQLite's
generated columns, new in 3.31. Older libraries cannot read such a file at all, so the store
says so at open instead of failing on the first statement."""


def migrate(connection: sqlite3.Connection, path: Path) -> None:
    """Run the migrations the file at ``path`` has not had, inside the caller's transaction."""
    connection.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER)")
    row = connection.execute("SELECT version FROM schema_version").fetchone()
    current = row[0] if row else 0
    if sqlite3.sqlite_version_info < OLDEST_SQLITE:
        raise StoreError(
            f"the store {path} needs SQLite {'.'.join(map(str, OLDEST_SQLITE))} or later "
            f"(generated columns, schema step 21), and this Python's sqlite3 module has "
            f"{sqlite3.sqlite_version}; use a Python built with a newer SQLite"
        )
    if current > SCHEMA_VERSION:
        raise StoreError(
            f"the store {path} has schema version {current}, newer than this "
            f"svcflow understands ({SCHEMA_VERSION}); upgrade svcflow"
        )
    _register_functions(connection)
    for script in MIGRATIONS[current:]:
        for statement in filter(str.strip, script.split(";")):
            connection.execute(statement)
    if row is None:
        connection.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
    else:
        connection.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))


def _register_functions(connection: sqlite3.Connection) -> None:
    """The functions migrations call to fill columns derived from a case's JSON."""

    def field(data: str, name: str) -> str | None:
        found = json.loads(data).get(name)
        return found if isinstance(found, str) else None

    def sla_due(sla: str | bytes) -> str | None:
        due = sla_index(json.loads(unpack(sla)))[0]
        return None if due is None else ts(due)

    def sla_breached(sla: str | bytes) -> int:
        return int(sla_index(json.loads(unpack(sla)))[1])

    def as_micros(moment: str | bytes | None) -> bytes | None:
        return None if moment is None else micros(from_ts(moment))

    connection.create_function("svcflow_field", 2, field, deterministic=True)
    connection.create_function("svcflow_micros", 1, as_micros, deterministic=True)
    connection.create_function("svcflow_sla_due", 1, sla_due, deterministic=True)
    connection.create_function("svcflow_sla_breached", 1, sla_breached, deterministic=True)
