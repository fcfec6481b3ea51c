"""One helper per table for committing a :class:`~svcflow.store.base.CaseChange`.

:meth:`SqliteStore.commit <svcflow.store.sqlite.store.SqliteStore.commit>` calls them in order
inside one ``BEGIN IMMEDIATE`` transaction, so a crash at any point leaves either all of an
event or none of it. Each takes the open connection and the parts of the change its table
needs; a refusal (a stale revision, a timer already fired, a message already taken) raises
before anything is committed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache
from typing import NamedTuple, NoReturn

from svcflow.errors import ConcurrencyConflict
from svcflow.records import Case, HistoryEntry, plain
from svcflow.store.base import (
    CaseChange,
    DuplicateMessage,
    NewDelivery,
    NewMessage,
    NewNotification,
    ScopeTaken,
    TimerGone,
)
from svcflow.store.history_texts import TextPlace
from svcflow.store.query import data_index, sla_index
from svcflow.store.sqlite.case_rows import BY_KNOWN_REF, CaseRows
from svcflow.store.sqlite.rows import (
    MomentForm,
    StoredMoment,
    plain_json,
    plain_json_utf8,
    to_json,
    ts,
)
from svcflow.store.sqlite.schema import (
    CASE_COLUMNS,
    INDEX_COLUMNS,
    OUTBOX_COLUMNS,
)
from svcflow.store.sqlite.shared import SharedTexts
from svcflow.store.sqlite.texts import keep_texts, store_texts

__all__ = [
    "SAME_DATA_INDEX",
    "SAME_VERSION",
    "Packer",
    "StoredData",
    "TimerKey",
    "case_snapshot",
    "conflict",
    "consume_timer",
    "write_case",
    "write_deliveries",
    "write_history",
    "write_idempotency",
    "write_messages",
    "write_notifications",
    "write_signals",
    "write_timers",
]


Packer = Callable[[bytes], str | bytes | bytearray]
"""How a store keeps a JSON text it repeats a lot, given as its UTF-8 bytes (what the JSON
writer gives): :func:`.packing.pack_utf8` in SQLite."""


class StoredData(NamedTuple):
    """A case's data as its row keeps it: ``text``, the encoded data with its large texts taken
    out; ``texts``, the row's ``texts`` column naming them; ``taken``, the texts themselves
    (stored once per case, usually already by the history entry that set them)."""

    text: str
    texts: str | None
    taken: Sequence[tuple[TextPlace, str]]

    def keep(self, db: sqlite3.Connection, case_id: str, seq: int) -> None:
        """Store the texts the case does not have yet (``seq``: the event's history entry)."""
        if self.taken:
            keep_texts(db, case_id, seq, self.taken)


def consume_timer(db: sqlite3.Connection, timer_id: int) -> None:
    """Delete the timer a firing consumes; ``TimerGone`` when another runner fired it."""
    gone = db.execute("DELETE FROM timers WHERE id = ?", (timer_id,))
    if gone.rowcount == 0:
        raise TimerGone(timer_id)


def write_case(
    db: sqlite3.Connection,
    change: CaseChange,
    data: StoredData | None,
    sla: str | bytes | None,
    stamp: StoredMoment,
    form: MomentForm,
    same: int = 0,
    want_ref: bool = False,
    ref: int | None = None,
) -> int | None:
    """Insert a new case, or update it if it is still at ``expected_revision``
    (``ConcurrencyConflict`` otherwise); with ``want_ref``, give back the case row's integer
    key (:data:`.case_rows.BY_KNOWN_REF`) when it is known for sure: a new row's, or ``ref``,
    the key remembered for the case, when the row updated is found by it (by its id
    otherwise, and None given back). ``data`` or ``sla`` None: unchanged, not written.
    ``stamp`` is the case's ``updated_at`` and ``form`` how its other moments are stored
    (:mod:`.rows`). ``same`` (:data:`SAME_VERSION`, :data:`SAME_DATA_INDEX`) names the
    indexed columns the row at ``expected_revision`` already holds as the change has them: not
    written, so their indexes are not touched (SQLite rewrites an index entry whenever an
    ``UPDATE`` sets one of its columns, to the same value too: a page of the WAL, issue 16).
    The data's texts are not stored here: the caller does it after the history entry's
    (:meth:`StoredData.keep`), so a text both set is stored as the entry's texts."""
    case = change.case
    if change.expected_revision is None:
        assert data is not None  # a new case always has its data encoded
        inserted = db.execute(
            f"INSERT INTO cases ({CASE_COLUMNS}, {INDEX_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (
                case.id,
                case.workflow,
                case.version,
                case.state,
                data.text,
                case.revision,
                form(case.created_at),
                stamp,
                sla,
                data.texts,
                *data_index(case.data),
                *_sla_columns(case, form),
            ),
        )
        if inserted.rowcount == 0:
            conflict(db, case.id, 0)
        ref = inserted.lastrowid if want_ref else None  # (before _own's statements)
        if change.customer_id is not None or change.open_scope is not None:
            _own(db, change)
        return ref
    known = ref if want_ref else None
    return _update(db, change, change.expected_revision, data, sla, stamp, form, same, known)


def _update(
    db: sqlite3.Connection,
    change: CaseChange,
    expected: int,
    data: StoredData | None,
    sla: str | bytes | None,
    stamp: StoredMoment,
    form: MomentForm,
    same: int,
    ref: int | None,
) -> int | None:
    """``write_case`` of a case already stored (at revision ``expected``), found by ``ref``
    too when given (see ``write_case``)."""
    case = change.case
    new_data = 0 if data is None else _DATA_INDEX if same & SAME_DATA_INDEX else _DATA
    written = same & SAME_VERSION | new_data | (0 if sla is None else _SLA)
    values = (
        *(() if same & SAME_VERSION else (case.version,)),
        case.state,
        case.revision,
        stamp,
        *(() if data is None else (data.text, data.texts)),
        *(() if new_data != _DATA else data_index(case.data)),
        *(() if sla is None else (sla, *_sla_columns(case, form))),
    )
    if ref is not None:
        if db.execute(_update_case(written | _REF), (*values, ref, case.id, expected)).rowcount:
            if change.release_scope:
                db.execute("UPDATE cases SET open_scope = NULL WHERE id = ?", (case.id,))
            return ref
        ref = None  # (not that row, or not at that revision: as if not known)
    if db.execute(_update_case(written), (*values, case.id, expected)).rowcount == 0:
        conflict(db, case.id, expected)
    if change.release_scope:
        db.execute("UPDATE cases SET open_scope = NULL WHERE id = ?", (case.id,))
    return ref


def _own(db: sqlite3.Connection, change: CaseChange) -> None:
    """The owner of a new case, and the customer-scoped key it holds while open
    (``ScopeTaken`` when another open case holds it)."""
    if change.open_scope is not None:
        holder = db.execute(
            "SELECT id FROM cases WHERE open_scope = ?", (change.open_scope,)
        ).fetchone()
        if holder is not None:
            raise ScopeTaken(str(holder[0]))
    db.execute(
        "UPDATE cases SET customer_id = ?, open_scope = ? WHERE id = ?",
        (change.customer_id, change.open_scope, change.case.id),
    )


def _sla_columns(case: Case, form: MomentForm) -> tuple[StoredMoment | None, int]:
    """The case's earliest running SLA deadline (as stored) and whether a clock breached."""
    due, breached = sla_index(case.sla)
    return (None if due is None else form(due)), int(breached)


def conflict(db: sqlite3.Connection, case_id: str, expected: int) -> NoReturn:
    row = db.execute("SELECT revision FROM cases WHERE id = ?", (case_id,)).fetchone()
    raise ConcurrencyConflict(case_id, expected, row[0] if row else None)


SAME_VERSION = 1
"""``write_case``: the stored row has the change's workflow version."""
SAME_DATA_INDEX = 2
"""``write_case``: the stored row's ``assignee`` and ``queue`` are the changed data's."""
_DATA, _DATA_INDEX, _SLA = 4, 8, 16  # what is written of the data and the SLA state
_REF = 32  # the row found by its key (and its id)


@cache
def _update_case(written: int) -> str:
    """The statement of a case update that writes what ``written`` names (bits above)."""
    sets = [] if written & SAME_VERSION else ["version = ?"]
    sets += ["state = ?", "revision = ?", "updated_at = ?"]
    if written & (_DATA | _DATA_INDEX):
        sets += ["data = ?", "texts = ?"] + (["assignee = ?", "queue = ?"] * (written & _DATA > 0))
    if written & _SLA:
        sets += ["sla = ?", "sla_due = ?", "sla_breached = ?"]
    where = "ref = ? AND id = ?" if written & _REF else "id = ?"
    return f"UPDATE cases SET {', '.join(sets)} WHERE {where} AND revision = ?"


def write_history(
    db: sqlite3.Connection,
    entry: HistoryEntry,
    stamp: StoredMoment,
    pack: Packer,
    rows: CaseRows,
    replace: bool = False,
    ref: int | None = None,
) -> None:
    """Write the entry at ``stamp`` (the moment as the store keeps it, :mod:`.rows`), its
    large texts stored once (:mod:`.texts`), its details as ``pack`` keeps them, its case
    named as ``rows`` says (by ``ref``, the case row's key, when given: ``write_case``);
    ``replace`` overwrites the actor, payload and details of an entry already stored (an
    erasure)."""
    bare, texts = store_texts(db, entry)
    if ref is not None and rows.history.insert_ref is not None:
        db.execute(rows.history.insert_ref, _history_row(bare, ref, stamp, texts, pack))
        return
    row = _history_row(bare, entry.case_id, stamp, texts, pack)
    db.execute(rows.history.upsert if replace else rows.history.insert, row)


def _history_row(
    entry: HistoryEntry, case: str | int, stamp: StoredMoment, texts: str | None, pack: Packer
) -> tuple[object, ...]:
    _, seq, _, actor, kind, trigger, from_state, to_state, payload, version, details = entry
    return (
        case,
        seq,
        stamp,
        actor,
        kind,
        trigger,
        from_state,
        to_state,
        None if payload is None else plain_json(payload),
        version,
        pack(plain_json_utf8(dict(details))),  # a mappingproxy is no JSON object to either
        texts,
    )


TimerKey = tuple[int, str, str, int]
"""A case's timer as a commit needs to know it: id, trigger, owner state, keep (0 or 1)."""

_TIMER_INSERTED = "case_id, trigger, due_at, owner_state, keep, created_at, nominal"
_TIMER_BY_REF = BY_KNOWN_REF.insert("timers", _TIMER_INSERTED)


def write_timers(
    db: sqlite3.Connection,
    change: CaseChange,
    stamp: StoredMoment,
    known: Sequence[TimerKey] | None,
    rows: CaseRows,
    form: MomentForm,
    ref: int | None = None,
) -> tuple[TimerKey, ...] | None:
    """Cancel the timers the change ends (the state left, named triggers), add the new ones
    (created at ``stamp``, their case named by ``ref`` when given, as ``write_history``'s),
    and return the case's timers after the change (None: not known).

    ``known`` are the case's timers at the revision the change expects, when the store
    remembers them from its own last commit of the case: only commits of a case add or delete
    its timers, and each moves its revision, so they are exact once ``write_case`` has found
    the case at that revision. Then nothing is read, and a change that ends no timer deletes
    nothing; with ``known`` None they are read first, unless the change can end none and adds
    none (a due timer fired in its state: nothing to read, and they stay unknown)."""
    timers = change.timers
    if known is None:
        if not (timers or change.cancel_triggers or change.cancel_owned_by):
            return None
        known = db.execute(
            f"SELECT id, trigger, owner_state, keep FROM timers WHERE {rows.of_case}",
            (change.case.id,),
        ).fetchall()
    after: list[TimerKey] = []
    if known:
        after, gone = _ended(change, known)
        if gone:
            _delete_timers(db, gone)
    if not timers:
        return tuple(after)
    case = change.case.id if ref is None else ref
    added = [
        (
            case,
            trigger,
            form(due),
            owner,
            int(keep),
            stamp,
            None if nominal is None else ts(nominal),
        )
        for trigger, due, owner, keep, nominal in timers
    ]
    insert = _TIMER_BY_REF if ref is not None else rows.insert("timers", _TIMER_INSERTED)
    ids = _insert_timers(db, added, insert)
    after += [(i, row[1], row[3], row[4]) for i, row in zip(ids, added, strict=True)]
    return tuple(after)


_DELETE_TIMER = "DELETE FROM timers WHERE id = ?"


def _delete_timers(db: sqlite3.Connection, ids: list[int]) -> None:
    """Delete the timers of ``ids``: one statement stepped once an id (SQLite runs ``id IN
    (?, ?)`` through an ephemeral table it builds for the list: about 20,000 instructions a
    statement more, issue 16)."""
    if len(ids) == 1:
        db.execute(_DELETE_TIMER, ids)
    else:
        db.executemany(_DELETE_TIMER, [(i,) for i in ids])


_TIMERS_PER_STATEMENT = 100
_SQLITE = (sqlite3.Connection, sqlite3.Cursor)
"""What a SQLite store's helpers are given: the connection, or the cursor a commit runs on."""


def _insert_timers(
    db: sqlite3.Connection, rows: Sequence[tuple[object, ...]], insert: str
) -> list[int]:
    """Insert the timer rows with the statement ``insert``; the ids in the order of ``rows``
    (each row gets a larger id than the rows before it). Statements of up to
    :data:`_TIMERS_PER_STATEMENT` rows. In SQLite ``INSERT ... VALUES (...), (...)`` without
    ``RETURNING`` (which costs more there: the returned rows go through an ephemeral table,
    about 5,000 instructions a row, issue 16): an ``AUTOINCREMENT`` table gives a statement's
    rows consecutive ids, each one more than the largest ever used, so they end at
    ``lastrowid``; a start's five timers in one statement cost about 50 kIr less than one
    statement each (issue 16). Another database returns them."""
    sqlite = isinstance(db, _SQLITE)
    if sqlite and len(rows) == 1:  # (most steps: the statement as it is)
        return [db.execute(insert, rows[0]).lastrowid or 0]
    ids: list[int] = []
    for start in range(0, len(rows), _TIMERS_PER_STATEMENT):
        chunk = rows[start : start + _TIMERS_PER_STATEMENT]
        values = [v for r in chunk for v in r]
        if sqlite:
            last = db.execute(_rows(insert, len(chunk)), values).lastrowid or 0
            ids += range(last - len(chunk) + 1, last + 1)
        else:
            ids += sorted(int(row[0]) for row in db.execute(_returning(insert, len(chunk)), values))
    return ids


@cache
def _rows(insert: str, count: int) -> str:
    """``insert`` for ``count`` rows at once."""
    head, _, values = insert.partition(" VALUES ")
    return f"{head} VALUES {', '.join([values] * count)}"


@cache
def _returning(insert: str, count: int) -> str:
    """``insert`` for ``count`` rows at once, returning their ids."""
    return f"{_rows(insert, count)} RETURNING id"


def _ended(change: CaseChange, known: Sequence[TimerKey]) -> tuple[list[TimerKey], list[int]]:
    """The case's timers the change leaves, and the ids of those it ends: owned by the state
    it leaves (unless kept), or with a trigger it cancels (the timer it fired is neither:
    ``consume_timer`` deleted it already)."""
    consumed, triggers, owner = change.consume_timer, change.cancel_triggers, change.cancel_owned_by
    left: list[TimerKey] = []
    gone: list[int] = []
    for timer in known:
        if timer[0] == consumed:
            continue
        if timer[1] in triggers or (timer[2] == owner and not timer[3]):
            gone.append(timer[0])
        else:
            left.append(timer)
    return left, gone


def write_notifications(
    db: sqlite3.Connection,
    case_id: str,
    notifications: Sequence[NewNotification],
    stamp: StoredMoment,
    rows: CaseRows,
    ref: int | None = None,
) -> None:
    """Insert the notifications' rows (their case named by ``ref`` when given, as
    ``write_history``'s)."""
    if not notifications:
        return
    if ref is None:
        case: str | int = case_id
        insert = rows.insert("notifications", _NOTIFICATION_INSERTED)
    else:
        case, insert = ref, _NOTIFICATION_BY_REF
    db.executemany(
        insert,
        [
            (
                key,
                case,
                template,
                _recipients(recipients),
                channel,
                int(urgent),
                status,
                "{}" if not context else to_json(dict(context)),
                stamp,
                None if after is None else ts(after),
            )
            for key, template, recipients, channel, urgent, context, after, status in notifications
        ],
    )


def _recipients(recipients: Sequence[str]) -> str:
    """A notification's ``recipients`` column: their JSON list, the same few roles for most
    notifications, so each tuple's text is kept (:data:`_RECIPIENTS_KEPT` at most)."""
    try:
        text = _RECIPIENTS.get(recipients)
    except TypeError:  # a list, or an item that is no role name
        return plain_json(list(recipients))
    if text is None:
        text = plain_json(list(recipients))
        if len(_RECIPIENTS) < _RECIPIENTS_KEPT:
            _RECIPIENTS[recipients] = text
    return text


_RECIPIENTS: dict[Sequence[str], str] = {}
_RECIPIENTS_KEPT = 256


def write_deliveries(
    db: sqlite3.Connection,
    case_id: str,
    deliveries: Sequence[NewDelivery],
    stamp: StoredMoment,
    shared: SharedTexts,
    rows: CaseRows,
    form: MomentForm,
    ref: int | None = None,
    at: datetime | None = None,
) -> None:
    """Insert the outbox rows (their case named by ``ref`` when given, as
    ``write_history``'s); the reason of a row that reached nobody is stored once for all cases
    (:mod:`.shared`). ``at`` is the moment ``stamp`` is of (``form`` gave it): a row due then
    (most: a notice is tried at once) binds ``stamp`` itself (issue 16)."""
    if not deliveries:
        return
    if ref is None:
        case: str | int = case_id
        insert = rows.insert("deliveries", _DELIVERY_INSERTED, _DELIVERY_FIXED)
    else:
        case, insert = ref, _DELIVERY_BY_REF
    written = []
    for d in deliveries:
        (key, notice, template, channel, address, name, role, locale, subject, body) = d[:10]
        urgent, due = d[10], d[11]
        written.append(
            (
                key,
                notice,
                case,
                template,
                channel,
                address,
                name,
                role,
                locale,
                subject,
                body,
                int(urgent),
                d.status,
                stamp if due is at else form(due),
                stamp,
                *_reason(db, case_id, d, shared),
            )
        )
    db.executemany(insert, written)


_NOTIFICATION_INSERTED = (
    "key, case_id, template, recipients, channel, urgent, status, context, created_at, "
    "deliver_after"
)
_DELIVERY_INSERTED = f"{OUTBOX_COLUMNS.removeprefix('id, ')}, reason"
_DELIVERY_FIXED = (("attempts", "0"), ("reference", "NULL"), ("delivered_at", "NULL"))
_NOTIFICATION_BY_REF = BY_KNOWN_REF.insert("notifications", _NOTIFICATION_INSERTED)
_DELIVERY_BY_REF = BY_KNOWN_REF.insert("deliveries", _DELIVERY_INSERTED, _DELIVERY_FIXED)


def _reason(
    db: sqlite3.Connection, case_id: str, delivery: NewDelivery, shared: SharedTexts
) -> tuple[str | None, int | None]:
    """The ``last_error`` and ``reason`` columns of a new outbox row."""
    if delivery.status != "undeliverable" or not delivery.error:
        return delivery.error, None
    marked = shared.shared(delivery.error, case_id)
    return (delivery.error, None) if marked is None else (None, shared.id_of(db, marked))


def write_messages(db: sqlite3.Connection, case_id: str, messages: Sequence[NewMessage]) -> None:
    """Record inbound messages and their thread keys; ``DuplicateMessage`` names the case a
    message of the same channel and id already went to."""
    for message in messages:
        earlier = db.execute(
            "SELECT case_id FROM messages WHERE channel = ? AND message_id = ?",
            (message.channel, message.message_id),
        ).fetchone()
        if earlier is not None:
            raise DuplicateMessage(earlier[0])
        received = ts(message.received_at)
        db.execute(
            "INSERT INTO messages (channel, message_id, case_id, sender, received_at, "
            "message) VALUES (?, ?, ?, ?, ?, ?)",
            (
                message.channel,
                message.message_id,
                case_id,
                message.sender,
                received,
                to_json(dict(message.message)),
            ),
        )
        db.executemany(
            "INSERT INTO message_threads (thread_key, case_id, received_at) VALUES (?, ?, ?)",
            [(key, case_id, received) for key in message.thread_keys],
        )


def write_signals(db: sqlite3.Connection, change: CaseChange) -> None:
    """The signals the event raised, kept until delivered (``CaseChange.signals``)."""
    if not change.signals:
        return
    db.executemany(
        "INSERT INTO signals (key, workflow, customer_id, start, fire, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [
            (
                signal.key,
                signal.workflow,
                signal.customer_id,
                None if signal.start is None else to_json(plain(signal.start)),
                signal.fire,
                ts(signal.created_at),
            )
            for signal in change.signals
        ],
    )


def write_idempotency(
    db: sqlite3.Connection, change: CaseChange, data: StoredData, stamp: str
) -> None:
    """Keep the event's result under its idempotency key (a retry is answered with it); the
    snapshot names the data's large texts as the case row does."""
    db.execute(
        "INSERT INTO idempotency (key, scope, case_id, result, created_at) VALUES (?, ?, ?, ?, ?)",
        (
            change.idempotency_key,
            change.idempotency_scope or "",
            change.case.id,
            to_json(
                {
                    **case_snapshot(change.case, data),
                    "fingerprint": dict(change.idempotency_fingerprint or {}) or None,
                }
            ),
            stamp,
        ),
    )


def case_snapshot(case: Case, data: StoredData) -> dict[str, object]:
    """The case as an idempotency record keeps it (data encoded as the cases table has it)."""
    return {
        "id": case.id,
        "workflow": case.workflow,
        "version": case.version,
        "state": case.state,
        "data": data.text,
        "texts": data.texts,
        "revision": case.revision,
        "created_at": ts(case.created_at),
        "updated_at": ts(case.updated_at),
        "sla": dict(case.sla),
    }
