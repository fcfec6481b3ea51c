"""The SQLite store: connections, transactions and the reads; one SQLite file in WAL mode.

Each :class:`~svcflow.store.base.CaseChange` is one ``BEGIN IMMEDIATE`` transaction, so a crash
at any point leaves either all of an event or none of it. Concurrent writers (threads or
processes) are told apart by the case revision: the ``UPDATE ... WHERE revision = ?`` of a stale
writer matches no row and it gets :class:`~svcflow.errors.ConcurrencyConflict`. Due timers are
read through an index on ``(due_at, id)``. Moments are stored so that their order is time
order (:mod:`.rows`).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, NamedTuple

from svcflow.compiled import mypyc_attr, raised_from
from svcflow.errors import StoreBusy, StoreError, StoreFault, StoreFull, WorkflowVersionConflict
from svcflow.records import (
    Case,
    Customer,
    DeadLetter,
    HistoryEntry,
    Notification,
    OutboxEntry,
    PendingSignal,
    Refusal,
    Timer,
)
from svcflow.store.base import (
    Attempt,
    CaseChange,
    CaseHistory,
    DataCodec,
    IdempotencyRecord,
    IdempotentReplay,
    Workload,
)
from svcflow.store.history_texts import TEXT_THRESHOLD, take_out_data
from svcflow.store.query import CasePage, CaseQuery, data_index, page_of, page_start
from svcflow.store.sqlite.case_rows import BY_REF, CaseRows
from svcflow.store.sqlite.customers import load_customer, owner_of_contact, save_customer
from svcflow.store.sqlite.erasure import (
    erase_case_rows,
    erase_dead_letters,
    forget_contacts,
    forget_signals,
    write_entries,
)
from svcflow.store.sqlite.find import count_sql, page_sql
from svcflow.store.sqlite.outbox_keys import KEYED, DeliveryLookup
from svcflow.store.sqlite.packing import pack_utf8, unpack
from svcflow.store.sqlite.rows import (
    MomentForm,
    dead_letter_of,
    from_ts,
    history_entry_of,
    micros_param,
    notification_of,
    outbox_entry_of,
    refusal_of,
    refusal_row,
    timer_of,
    to_json,
    ts,
    where_clause,
)
from svcflow.store.sqlite.schema import (
    CASE_COLUMNS,
    DEAD_LETTER_COLUMNS,
    NOTIFICATION_COLUMNS,
    OUTBOX_READ,
    REFUSAL_COLUMNS,
    TIMER_COLUMNS,
    migrate,
)
from svcflow.store.sqlite.shared import SharedTexts
from svcflow.store.sqlite.texts import data_texts, places_column, with_texts
from svcflow.store.sqlite.values import (
    Shape,
    decodable,
    shape_of,
    shape_text,
    values_form,
    values_object,
)
from svcflow.store.sqlite.view import VIEW_SIZE, ConnectionView, forget_older_half
from svcflow.store.sqlite.writes import (
    SAME_DATA_INDEX,
    SAME_VERSION,
    Packer,
    StoredData,
    TimerKey,
    consume_timer,
    write_case,
    write_deliveries,
    write_history,
    write_idempotency,
    write_messages,
    write_notifications,
    write_signals,
    write_timers,
)

_CASE_TABLES = (
    "history_texts",
    "messages",
    "message_threads",
    "idempotency",
    "refusals",
)
"""The tables whose rows belong to one case by its id (``case_id``): purged with it."""
_CASE_ROW_TABLES = ("timers", "notifications", "deliveries")
"""The tables whose rows name their case as :mod:`.case_rows` says: purged with it too."""

__all__ = ["SqliteStore"]

_NO_SLA: Mapping[str, Any] = MappingProxyType({})


class _Known(NamedTuple):
    """What the store remembers of a case at a revision it read or committed."""

    revision: int
    version: int
    data: Mapping[str, Any]
    sla: Mapping[str, Any]


class _Refused(Exception):
    """A change of a batch applied without savepoints was refused (``_apply_together``)."""


Timers = tuple[TimerKey, ...] | None
"""A case's timers as a commit left them (``write_timers``; None: not known)."""


class _Prepared(NamedTuple):
    """What a commit works out before the write lock (``SqliteStore._prepare``)."""

    data: StoredData | None
    sla: str | bytes | None
    timers: Timers
    same: int = 0
    """The case row's indexed columns the change leaves as they are (``write_case``)."""


_WAL_CHECKPOINT_PAGES = 4000
PAGE_SIZE = 2048
"""The page size of a new file (an existing file keeps the one it has: SQLite fixes it when the
file is made). An event writes about 12 pages to the WAL, each copied and checksummed whole:
half as many bytes as with SQLite's default of 4,096, for about 3% of an event's instructions
(issue 16), at the cost of about 4% more bytes a case (rows pack a little worse)."""
_DECODED_CACHE_SIZE = VIEW_SIZE
"""How many cases the store's own entries (decoded data, owners, timer keys, row keys) keep
before they forget the older half: as many as a view (:data:`.view.VIEW_SIZE`, whose reasons
hold)."""


_CASE_BY_ID = f"SELECT {CASE_COLUMNS} FROM cases WHERE id = ?"

_READY = "status != 'failed' AND (retry_at IS NULL OR retry_at <= ?)"
"""Timers that may fire: not parked, and past their retry moment when one failed before."""


_FULL = {sqlite3.SQLITE_FULL}
_BUSY = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}


def _store_fault(path: Path, error: sqlite3.Error) -> StoreFault:
    """A SQLite error of a write as the documented svcflow error: full, busy, or a fault."""
    code = getattr(error, "sqlite_errorcode", None)
    primary = None if code is None else code & 0xFF
    where = f"sqlite:///{path}"
    if primary in _FULL:
        return StoreFull(where, str(error))
    if primary in _BUSY:
        return StoreBusy(where, str(error))
    return StoreFault(where, f"{type(error).__name__}: {error}")


def _claim(
    db: sqlite3.Connection,
    table: str,
    rows: Sequence[Sequence[Any]],
    owner: str,
    lease_until: datetime,
) -> None:
    """Lease the rows (their ids first) to ``owner``: one statement for a batch."""
    for start in range(0, len(rows), _IDS_PER_STATEMENT):
        marks, ids = _in_list([row[0] for row in rows[start : start + _IDS_PER_STATEMENT]])
        db.execute(
            f"UPDATE {table} SET claimed_by = ?, lease_until = ? WHERE id IN ({marks})",
            [owner, ts(lease_until), *ids],
        )


def _in_list(values: Sequence[Any]) -> tuple[str, list[Any]]:
    """Placeholders and parameters of ``IN (...)`` for ``values``, padded (repeating the last
    value) to a power of two, so that a few statement texts serve every batch size from the
    connection's statement cache."""
    padded = list(values)
    padded += padded[-1:] * ((1 << (len(padded) - 1).bit_length()) - len(padded))
    return ", ".join("?" * len(padded)), padded


_IDS_PER_STATEMENT = 512
"""At most this many ``?`` in one ``IN`` list (SQLite before 3.32 allows 999 parameters)."""


def _bind_plainly() -> None:
    """Let ``sqlite3`` bind ``None`` and ``bytes`` without asking them to adapt themselves.

    CPython's ``sqlite3`` binds an ``int``, ``float`` or ``str`` parameter as it is; any other
    (``None`` for NULL, ``bytes`` for a packed text) is looked up in its adapter registry and
    then asked for ``__adapt__``, which on Python 3.11 raises and clears an ``AttributeError``:
    about 3,000 instructions a parameter, 7 parameters of an event (issue 16). An adapter that
    gives the value back unchanged ends the look-up first; the values bound are the same.
    Registered for the process, unless the host registered adapters of its own for these types.
    """
    if (type(None), sqlite3.PrepareProtocol) not in sqlite3.adapters:
        none: dict[None, None] = {}
        sqlite3.register_adapter(type(None), none.get)  # none.get(None) is None: C, no frame
    if (bytes, sqlite3.PrepareProtocol) not in sqlite3.adapters:
        sqlite3.register_adapter(bytes, bytes)  # bytes(b) is b


_bind_plainly()


@mypyc_attr(allow_interpreted_subclasses=True)
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
        self._decoded: dict[str, _Known] = {}
        self._owners: dict[str, str | None] = {}
        self._timer_keys: dict[str, tuple[int, Timers]] = {}
        self._shared = SharedTexts()
        self._shapes: dict[Shape, int] = {}
        self._last_shape: tuple[Shape, int] | None = None
        self._shape_names: dict[int, Shape] = {}
        self._values_only = True
        self._views = True
        self._deliveries = KEYED
        self._rows = BY_REF
        self._by_ref = True
        self._refs = {}
        self._moment = micros_param
        self._pack = pack_utf8
        try:
            self._migrate()
        except (sqlite3.Error, StoreFault) as error:
            cause = error.__cause__ or error
            refused = StoreError(f"cannot open the SQLite store {self.path}: {cause}")
            raise raised_from(refused, None)  # noqa: B904 (svcflow.compiled)

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
        connection.execute(f"PRAGMA page_size={PAGE_SIZE}")  # a new file's (see PAGE_SIZE)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(f"PRAGMA synchronous={self._synchronous}")
        connection.execute(f"PRAGMA wal_autocheckpoint={_WAL_CHECKPOINT_PAGES}")
        connection.execute("PRAGMA foreign_keys=ON")
        self._local.connection = connection
        self._local.view = ConnectionView(connection.cursor())
        with self._lock:
            for thread, other in list(self._connections.items()):
                if not thread.is_alive():
                    other.close()
                    del self._connections[thread]
            self._connections[threading.current_thread()] = connection
        return connection

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        """A write transaction. What this connection's view knew is forgotten: a write other
        than a case's commit may change any case or its messages (:mod:`.view`)."""
        return self._transaction(keep_view=False)

    def _write_change(self) -> AbstractContextManager[Any]:
        """The transaction of a commit: the view keeps what it knows, and the commit tells it
        what changed (a store sharing this code for another database: its ``_write``)."""
        return self._transaction(keep_view=True) if self._views else self._write()

    @contextmanager
    def _transaction(self, keep_view: bool) -> Iterator[sqlite3.Connection]:
        connection = self._connection()
        view: ConnectionView = self._local.view
        if not keep_view:
            view.forget()
        self._shared.begin()
        try:
            view.cursor.execute("BEGIN IMMEDIATE")
            try:
                yield connection
                view.cursor.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        except sqlite3.Error as error:
            raise raised_from(_store_fault(self.path, error), error)  # noqa: B904 (svcflow.compiled)

    def _migrate(self) -> None:
        with self._write() as connection:
            migrate(connection, self.path)

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
        prepared = self._prepare(change)
        try:
            timers = self._commit_alone(change, prepared)
        except BaseException:
            self._forget_view(change.case.id)
            raise
        self._remember_committed(change, timers)

    def _commit_alone(self, change: CaseChange, prepared: _Prepared) -> Timers:
        """One change in a transaction of its own; the case's timers after it. In SQLite this
        is ``_transaction(keep_view=True)`` written out, its statements run on the cursor the
        connection keeps: an event's transaction without a context manager's generator, and
        without a cursor made for each statement by ``Connection.execute`` (issue 16)."""
        if not self._views:  # (a store sharing this code for another database)
            with self._write_change() as db:
                return self._apply(db, change, prepared)
        connection = self._connection()
        cursor = self._local.view.cursor
        self._shared.begin()
        try:
            cursor.execute("BEGIN IMMEDIATE")
            try:
                timers = self._apply(cursor, change, prepared)
                cursor.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        except sqlite3.Error as error:
            raise raised_from(_store_fault(self.path, error), error)  # noqa: B904 (svcflow.compiled)
        return timers

    def commit_many(self, changes: Sequence[CaseChange]) -> list[Exception | None]:
        prepared = [self._prepare(change) for change in changes]  # before the write lock
        results = self._apply_together(changes, prepared)
        if results is None:  # one was refused: again, each change under a savepoint of its own
            with self._write_change() as db:
                results = [
                    self._apply_alone(db, change, ready)
                    for change, ready in zip(changes, prepared, strict=True)
                ]
        for change, result in zip(changes, results, strict=True):
            if isinstance(result, Exception):
                self._forget_view(change.case.id)
            else:
                self._remember_committed(change, result)
        return [result if isinstance(result, Exception) else None for result in results]

    # How this database is spoken. Each store's ``__init__`` sets every one of them on the
    # instance, with no default here: the build compiled with mypyc (docs/performance.md) keeps
    # instance attributes in the compiled class's own slots, where a subclass's class-body
    # value would not be seen.

    _views: bool
    """Whether reads may be answered by the connection's view (:mod:`.view`): in SQLite; a
    store sharing this code for another database reads."""

    _values_only: bool
    """Whether case data is written in the values-only form (:mod:`.values`): in SQLite; a
    store sharing this code for another database (PostgreSQL, whose JSON operators read the
    data) keeps the JSON object."""

    _deliveries: DeliveryLookup
    """How a case's or a notification's outbox rows are found (:mod:`.outbox_keys`): by key
    range in SQLite (``KEYED``), by their own indexes elsewhere (``PLAIN``)."""

    _rows: CaseRows
    """How history, timers, notifications and deliveries name their case (:mod:`.case_rows`):
    by the case row's integer key in SQLite (``BY_REF``), by id elsewhere (``BY_ID``)."""

    _by_ref: bool
    """Whether a commit binds the case row's key in the rows naming their case
    (:data:`.case_rows.BY_KNOWN_REF`), the key ``write_case`` made or found the row by
    (``_refs``, the keys of the cases this store wrote): set with ``_rows``."""
    _refs: dict[str, int]  # (set where _by_ref is)

    _moment: MomentForm
    """How the moments of cases, history, timers, notifications and deliveries are written and
    compared (:mod:`.rows`): 8-byte BLOBs of microseconds in SQLite (``micros_param``), as
    ``ts`` gives them elsewhere."""

    _pack: Packer
    """How history details are kept (:mod:`.packing`): packed in SQLite (``pack_utf8``). (SLA
    state is kept in the compact form of ``svcflow.sla.encoding``, unpacked.)"""

    _FATAL: ClassVar[tuple[type[Exception], ...]] = (sqlite3.OperationalError,)
    """Errors of the transaction itself (disk full, I/O, busy): they end a batch."""

    def _apply_together(
        self, changes: Sequence[CaseChange], prepared: Sequence[_Prepared]
    ) -> list[Exception | Timers] | None:
        """Apply the changes in one transaction without savepoints (the usual batch: none is
        refused; a savepoint and its release are two statements a change); None, having
        written nothing, when one was refused."""
        try:
            with self._write_change() as db:
                try:
                    applied: list[Exception | Timers] = [
                        self._apply(db, change, ready)
                        for change, ready in zip(changes, prepared, strict=True)
                    ]
                    return applied
                except self._FATAL:
                    raise
                except Exception as refused:  # rolled back whole by _write
                    raise raised_from(_Refused(), refused)  # noqa: B904 (svcflow.compiled)
        except _Refused:
            return None

    def _apply_alone(self, db: Any, change: CaseChange, prepared: _Prepared) -> Exception | Timers:
        """Apply one change of a batch under a savepoint of its own; what refused it (rolled
        back alone), or the case's timers after it."""
        try:
            with self._savepoint(db):
                return self._apply(db, change, prepared)
        except self._FATAL:
            raise
        except Exception as refused:  # one change's refusal never fails the others
            return self._refusal_of(change, refused)

    @contextmanager
    def _savepoint(self, db: Any) -> Iterator[None]:
        db.execute("SAVEPOINT change")
        try:
            yield
        except BaseException:
            db.execute("ROLLBACK TO change")
            db.execute("RELEASE change")
            raise
        db.execute("RELEASE change")

    def _refusal_of(self, change: CaseChange, error: Exception) -> Exception:
        """The refusal the protocol promises for ``error`` (a database's own error is
        translated by the PostgreSQL store)."""
        return error

    def _apply(self, db: Any, change: CaseChange, prepared: _Prepared) -> Timers:
        """Write everything of one change inside the caller's transaction, or raise; the
        case's timers after it."""
        case, data = change.case, prepared.data
        moment = self._moment(case.updated_at)
        if change.idempotency_key is not None:
            record = self._idempotency(db, change.idempotency_key)
            if record is not None:
                raise IdempotentReplay(record)
        if change.consume_timer is not None:
            consume_timer(db, change.consume_timer)
        known = self._refs.get(case.id) if self._by_ref else None
        ref = write_case(
            db, change, data, prepared.sla, moment, self._moment, prepared.same, self._by_ref, known
        )
        if ref != known:
            self._remember_ref(case.id, ref)
        write_history(db, change.history, moment, self._pack, self._rows, ref=ref)
        snapshot = data
        if change.idempotency_key is not None and snapshot is None:
            snapshot = self._stored_data(case)
        if snapshot is not None:
            snapshot.keep(db, case.id, change.history.seq)
        timers = write_timers(
            db, change, moment, prepared.timers, self._rows, self._moment, ref=ref
        )
        write_notifications(db, case.id, change.notifications, moment, self._rows, ref=ref)
        write_deliveries(
            db,
            case.id,
            change.deliveries,
            moment,
            self._shared,
            self._rows,
            self._moment,
            ref=ref,
            at=case.updated_at,
        )
        write_messages(db, case.id, change.messages)
        write_signals(db, change)
        if change.idempotency_key is not None:
            assert snapshot is not None
            write_idempotency(db, change, snapshot, ts(case.updated_at))
        return timers

    def _remember_ref(self, case_id: str, ref: int | None) -> None:
        """Keep a case row's key, or forget it (None: it found no row of the case). A
        transaction under way may yet roll a new row back: a key remembered is only ever used
        where the row it finds has the case's id too (``write_case``)."""
        if ref is None:
            self._refs.pop(case_id, None)
            return
        if len(self._refs) >= _DECODED_CACHE_SIZE:
            forget_older_half(self._refs)
        self._refs[case_id] = ref

    def _remember_committed(self, change: CaseChange, timers: Timers) -> None:
        case = change.case
        if change.expected_revision is None:
            self._remember_owner(case.id, change.customer_id)
        known = (case.revision, case.version, case.data, case.sla)
        self._remember(case.id, tuple.__new__(_Known, known))
        self._remember_timers(case.id, case.revision, timers)
        if self._views:
            self._local.view.committed(change)

    def _view(self) -> ConnectionView | None:
        """This thread's connection's view when it may answer a read now (:mod:`.view`); None
        inside a transaction, or in a store sharing this code for another database."""
        if not self._views:
            return None
        self._connection()
        view: ConnectionView = self._local.view
        return view if view.check() else None

    def _forget_view(self, case_id: str) -> None:
        """A commit of the case was refused or failed: its view forgets the case."""
        if self._views:
            self._local.view.forget(case_id)

    def _prepare(self, change: CaseChange) -> _Prepared:
        """What a commit works out before the write lock is taken: the case's data and SLA
        state as stored, each None when it is the very object read at the revision the change
        expects (unchanged: the row keeps what it has), and the case's timers at that revision
        when this store committed it (see ``write_timers``)."""
        case = change.case
        if change.expected_revision is None:
            return _Prepared(self._stored_data(case), self._encode_sla(case), ())
        known = self._decoded.get(case.id)
        timers = self._timers_at(case.id, change.expected_revision)
        if known is None or known[:2] != (change.expected_revision, case.version):
            # (data is encoded by its workflow version)
            return _Prepared(self._stored_data(case), self._encode_sla(case), timers)
        same = SAME_VERSION
        data = sla = None
        if known.data is not case.data:
            data = self._stored_data(case)
            if data_index(known.data) == data_index(case.data):
                same |= SAME_DATA_INDEX
        if known.sla is not case.sla:
            sla = self._encode_sla(case)
        return tuple.__new__(_Prepared, (data, sla, timers, same))

    def _encode_sla(self, case: Case) -> str:
        """The case's SLA state as stored: the compact form of ``svcflow.sla.encoding`` (its
        records read, nothing parsed), through the codec the engine attached."""
        return self._require_codec().encode_sla(case.sla) if case.sla else "{}"

    def _decode_sla(self, stored: str | bytes) -> dict[str, Any]:
        """A case row's SLA state: the compact form, JSON text, or JSON packed by schema
        steps 12 to 14 (:mod:`.packing`)."""
        return self._require_codec().decode_sla(unpack(stored))

    def _stored_data(self, case: Case) -> StoredData:
        """The case's data as its row keeps it: encoded, its large texts taken out. Encoded
        first: a text shorter than ``TEXT_THRESHOLD`` characters has no large text in it (the
        codec writes each text of the data whole, in JSON), so the data need not be searched
        for one, about 28 kIr (issue 16); else searched, and encoded again if one was taken."""
        text = self._encoded(case, case.data)
        if len(text) < TEXT_THRESHOLD:
            return tuple.__new__(StoredData, (text, None, ()))
        bare, taken = take_out_data(case.data)
        if taken:
            text = self._encoded(case, bare)
        return tuple.__new__(StoredData, (text, places_column(taken), taken))

    def _encoded(self, case: Case, data: Mapping[str, Any]) -> str:
        """``data``, the case's or with its large texts taken out, as the row keeps it."""
        codec = self._require_codec()
        if self._values_only:
            return values_form(codec.plain(case.workflow, case.version, data), self._shape_id)
        return codec.encode(case.workflow, case.version, data)

    def _shape_id(self, shape: Shape) -> int:
        """The id of the shared text naming these field names (:mod:`.values`), stored when
        new: in the write transaction under way, or else in one of its own, before the case's
        (a shape nobody uses in the end costs one small row)."""
        last = self._last_shape  # the usual case: the fields of the last one, compared
        if last is not None and shape == last[0]:
            return last[1]
        known = self._shapes.get(shape)
        if known is not None:
            self._last_shape = (shape, known)
            return known
        db = self._connection()
        if db.in_transaction:
            return self._shared.id_of(db, shape_text(shape))
        with self._write() as db:
            found = self._shared.id_of(db, shape_text(shape))
        self._shapes[shape] = found  # committed: its id never changes
        return found

    def _shape(self, shape_id: int) -> Shape:
        """The field names a values-only data value names by ``shape_id``."""
        known = self._shape_names.get(shape_id)
        if known is not None:
            return known
        db = self._connection()
        row = db.execute("SELECT text FROM shared_texts WHERE id = ?", (shape_id,)).fetchone()
        if row is None:
            raise StoreError(
                f"the store {self.path} has a case whose data names field list {shape_id}, "
                "which its shared_texts table does not hold: the file was changed outside "
                "svcflow; restore it from a backup"
            )
        shape = shape_of(str(row[0]))
        if not db.in_transaction:  # (one added by a transaction under way could yet go)
            self._shape_names[shape_id] = shape
        return shape

    def _decode_data(self, row: Sequence[Any]) -> dict[str, Any]:
        """A case row's data (``CASE_COLUMNS``; also an idempotency snapshot's), its large
        texts put back."""
        codec = self._require_codec()
        if row[9] is None and row[4].startswith("["):  # values-only, no large texts: parsed once
            return codec.from_plain(row[1], row[2], values_object(row[4], self._shape))
        stored = decodable(row[4], self._shape)
        if row[9] is None:
            return codec.decode(row[1], row[2], stored)
        texts = data_texts(self._connection(), row[0], row[9])
        try:
            return {**codec.decode(row[1], row[2], stored), **texts}
        except ValueError:  # a large text of an enum field: "" is not one of its values
            whole = {**json.loads(stored), **texts}
            return codec.decode(row[1], row[2], json.dumps(whole))

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
                "INSERT INTO workflow_versions (workflow, version, digest, source, file, "
                "registered_at) VALUES (?,?,?,?,?,?) ON CONFLICT (workflow, version) DO UPDATE "
                "SET digest = excluded.digest, source = excluded.source, file = excluded.file, "
                "registered_at = excluded.registered_at",
                (workflow, version, digest, source, file, ts(datetime.now(UTC))),
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
        view = self._view()
        if view is not None:
            known = view.cases.get(case_id)
            if known is not None:
                return known
        reader = self._connection() if view is None else view.cursor
        row = reader.execute(_CASE_BY_ID, (case_id,)).fetchone()
        if row is None:
            return None
        case = self._case(row)
        if view is not None:
            view.read_case(case)
        return case

    def load_cases(self, case_ids: Sequence[str]) -> dict[str, Case]:
        """The cases of these ids; their owners remembered on the way (a claimed batch's
        firings need them for their notices, ``case_customer``), and their row keys where
        rows name their case by key (its writes then bind them, ``write_case``)."""
        wanted = list(dict.fromkeys(case_ids))
        found: dict[str, Case] = {}
        for start in range(0, len(wanted), _IDS_PER_STATEMENT):
            marks, ids = _in_list(wanted[start : start + _IDS_PER_STATEMENT])
            keys = ", ref" if self._by_ref else ""
            query = f"SELECT {CASE_COLUMNS}, customer_id{keys} FROM cases WHERE id IN ({marks})"
            for row in self._connection().execute(query, ids).fetchall():
                found[row[0]] = self._case(row)
                self._remember_owner(row[0], row[10])
                if keys:
                    self._remember_ref(row[0], row[11])
        return found

    def find_cases(self, workflow: str | None = None, state: str | None = None) -> list[Case]:
        where, params = where_clause(workflow=workflow, state=state)
        rows = (
            self._connection()
            .execute(f"SELECT {CASE_COLUMNS} FROM cases{where} ORDER BY created_at, rowid", params)
            .fetchall()
        )
        return [self._case(row) for row in rows]

    def find(
        self, query: CaseQuery, *, after: str | None = None, limit: int | None = None
    ) -> CasePage:
        query, start = page_start(query, after, limit)
        more = None if limit is None else limit + 1
        sql, params = page_sql(query, CASE_COLUMNS, start, more, self._moment)
        rows = self._connection().execute(sql, params).fetchall()
        keyed = [(*row[:-1], from_ts(row[-1])) for row in rows]
        return page_of(query, keyed, limit, self._case)

    def count(self, query: CaseQuery) -> int:
        sql, params = count_sql(query.check(), self._moment)
        row = self._connection().execute(sql, params).fetchone()
        return 0 if row is None else int(row[0])

    def history(self, case_id: str) -> list[HistoryEntry]:
        rows = self._connection().execute(self._rows.history.select_case, (case_id,)).fetchall()
        entries = [history_entry_of(r) for r in rows]
        return with_texts(self._connection(), case_id, entries, [r[11] for r in rows])

    def histories(self) -> Iterator[CaseHistory]:
        connection = self._connection()
        workflows = dict(connection.execute("SELECT id, workflow FROM cases").fetchall())
        rows = connection.execute(self._rows.history.select_all)
        case_id: str | None = None
        entries: list[HistoryEntry] = []
        texts: list[str | None] = []
        for row in rows:
            if row[0] != case_id:
                if case_id is not None:
                    entries = with_texts(connection, case_id, entries, texts)
                    yield CaseHistory(case_id, workflows[case_id], entries)
                case_id, entries, texts = row[0], [], []
            entries.append(history_entry_of(row))
            texts.append(row[11])
        if case_id is not None:
            entries = with_texts(connection, case_id, entries, texts)
            yield CaseHistory(case_id, workflows[case_id], entries)

    def idempotency(self, key: str) -> IdempotencyRecord | None:
        return self._idempotency(self._connection(), key)

    def claim_due_timers(
        self, now: datetime, limit: int, owner: str, lease_until: datetime
    ) -> list[Timer]:
        stamp = ts(now)
        query = (
            f"SELECT {self._timer_columns} FROM timers WHERE due_at <= ? AND {_READY} AND "
            "(lease_until IS NULL OR lease_until <= ? OR claimed_by = ?) AND NOT EXISTS (SELECT 1 "
            f"FROM timers AS held WHERE held.{self._rows.column} = timers.{self._rows.column} "
            "AND held.lease_until > ? AND held.claimed_by != ? "
            "AND (held.due_at < timers.due_at OR (held.due_at = timers.due_at AND held.id < "
            "timers.id))) ORDER BY due_at, id LIMIT ?"
        )
        params = (self._moment(now), stamp, stamp, owner, stamp, owner, limit)
        if not self._connection().execute(query, params).fetchone():
            return []  # the usual case for a runner's round: nothing due, no write lock taken
        with self._write() as db:
            rows = db.execute(query, params).fetchall()
            _claim(db, "timers", rows, owner, lease_until)
        return [timer_of(row) for row in rows]

    def due_timers(self, now: datetime, limit: int) -> list[Timer]:
        rows = (
            self._connection()
            .execute(
                f"SELECT {self._timer_columns} FROM timers WHERE due_at <= ? AND {_READY} "
                "ORDER BY due_at, id LIMIT ?",
                (self._moment(now), ts(now), limit),
            )
            .fetchall()
        )
        return [timer_of(row) for row in rows]

    def workload(self, now: datetime) -> Workload:
        stamp = ts(now)
        db = self._connection()
        timers = db.execute(
            f"SELECT count(*), min(due_at), (SELECT count(*) FROM timers WHERE status = "
            f"'failed') FROM timers WHERE due_at <= ? AND {_READY}",
            (self._moment(now), stamp),
        ).fetchone()
        outbox = db.execute(
            "SELECT count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status "
            "= 'pending' AND next_attempt_at <= ?), min(next_attempt_at) FILTER (WHERE status "
            "= 'pending' AND next_attempt_at <= ?), count(*) FILTER (WHERE status = 'dead'), "
            "(SELECT count(*) FROM dead_letters WHERE status = 'open') FROM deliveries",
            (self._moment(now), self._moment(now)),
        ).fetchone()
        assert timers is not None and outbox is not None  # aggregates return one row
        return Workload(
            due_timers=timers[0],
            oldest_due_timer=None if timers[1] is None else from_ts(timers[1]),
            failed_timers=timers[2],
            outbox_pending=outbox[0],
            outbox_due=outbox[1],
            oldest_due_delivery=None if outbox[2] is None else from_ts(outbox[2]),
            dead_deliveries=outbox[3],
            open_dead_letters=outbox[4],
        )

    def timers(self, case_id: str) -> list[Timer]:
        rows = (
            self._connection()
            .execute(
                f"SELECT {self._timer_columns} FROM timers WHERE {self._rows.of_case} "
                "ORDER BY due_at, id",
                (case_id,),
            )
            .fetchall()
        )
        return [timer_of(row) for row in rows]

    def timer_failed(self, timer_id: int, error: str, retry_at: datetime | None) -> Timer | None:
        with self._write() as db:
            db.execute(
                "UPDATE timers SET attempts = attempts + 1, last_error = ?, retry_at = ?, "
                "status = ?, claimed_by = NULL, lease_until = NULL WHERE id = ?",
                (
                    error,
                    None if retry_at is None else ts(retry_at),
                    "failed" if retry_at is None else "retrying",
                    timer_id,
                ),
            )
            row = db.execute(
                f"SELECT {self._timer_columns} FROM timers WHERE id = ?", (timer_id,)
            ).fetchone()
        return None if row is None else timer_of(row)

    def failed_timers(self) -> list[Timer]:
        rows = (
            self._connection()
            .execute(
                f"SELECT {self._timer_columns} FROM timers WHERE status = 'failed' "
                "ORDER BY due_at, id"
            )
            .fetchall()
        )
        return [timer_of(row) for row in rows]

    def release_timer(self, timer_id: int) -> bool:
        with self._write() as db:
            released = db.execute(
                "UPDATE timers SET status = 'pending', attempts = 0, retry_at = NULL "
                "WHERE id = ? AND status = 'failed'",
                (timer_id,),
            ).rowcount
        return released == 1

    def notifications(
        self, case_id: str | None = None, status: str | None = None
    ) -> list[Notification]:
        where, params = where_clause(status=status)
        if case_id is not None:
            # Keys start with "<case id>:", so the unique key index finds a case's rows.
            where += f"{' AND' if where else ' WHERE'} {self._rows.of_case} AND key > ? AND key < ?"
            params += [case_id, f"{case_id}:", f"{case_id};"]
        columns = self._rows.read(NOTIFICATION_COLUMNS, "notifications")
        rows = (
            self._connection()
            .execute(f"SELECT {columns} FROM notifications{where} ORDER BY id", params)
            .fetchall()
        )
        return [notification_of(r) for r in rows]

    # -- the outbox --

    def claim_deliveries(
        self, now: datetime, limit: int, owner: str, lease_until: datetime
    ) -> list[OutboxEntry]:
        stamp = ts(now)
        query = (
            f"SELECT {self._outbox_read} FROM deliveries WHERE status = 'pending' AND "
            "next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ? OR claimed_by = ?) "
            "ORDER BY next_attempt_at, id LIMIT ?"
        )
        params = (self._moment(now), stamp, owner, limit)
        if not self._connection().execute(query, params).fetchone():
            return []
        with self._write() as db:
            rows = db.execute(query, params).fetchall()
            _claim(db, "deliveries", rows, owner, lease_until)
        return [outbox_entry_of(row) for row in rows]

    def rewrite_delivery(self, entry_id: int, subject: str, body: str, locale: str) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE deliveries SET subject = ?, body = ?, locale = ? WHERE id = ?",
                (subject, body, locale, entry_id),
            )

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
        attempt = Attempt(
            entry_id=entry_id,
            status=status,
            attempts=attempts,
            at=at,
            next_attempt_at=next_attempt_at,
            error=error,
            reference=reference,
        )
        self.record_attempts([attempt])

    def record_attempts(self, attempts: Sequence[Attempt]) -> None:
        if not attempts:
            return
        with self._write() as db:
            db.executemany(
                "UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at = "
                "coalesce(?, next_attempt_at), last_error = ?, reason = NULL, reference = ?, "
                "delivered_at = ?, claimed_by = NULL, lease_until = NULL WHERE id = ?",
                [
                    (
                        a.status,
                        a.attempts,
                        None if a.next_attempt_at is None else self._moment(a.next_attempt_at),
                        a.error,
                        a.reference,
                        ts(a.at) if a.status == "delivered" else None,
                        a.entry_id,
                    )
                    for a in attempts
                ],
            )
            db.executemany(
                "UPDATE notifications SET status = (SELECT CASE WHEN count(*) FILTER (WHERE "
                "status = 'pending') > 0 THEN 'pending' WHEN count(*) FILTER (WHERE status = "
                "'dead') > 0 THEN 'dead' ELSE 'delivered' END "
                f"FROM deliveries WHERE {self._deliveries.of_notification}) WHERE key = "
                "(SELECT notification_key FROM deliveries WHERE id = ?)",
                [(a.entry_id,) for a in attempts],
            )

    def outbox(self, case_id: str | None = None, status: str | None = None) -> list[OutboxEntry]:
        where, params = where_clause(status=status)
        if case_id is not None:
            where = f"{where} AND " if where else " WHERE "
            where += self._rows.of_case
            params.append(case_id)
        rows = (
            self._connection()
            .execute(f"SELECT {self._outbox_read} FROM deliveries{where} ORDER BY id", params)
            .fetchall()
        )
        return [outbox_entry_of(row) for row in rows]

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

    def thread_cases(self, keys: Sequence[str]) -> list[str]:
        if not keys:
            return []
        marks = ",".join("?" * len(keys))
        rows = (
            self._connection()
            .execute(
                f"SELECT case_id FROM message_threads WHERE thread_key IN ({marks}) "
                "GROUP BY case_id ORDER BY max(received_at) DESC, max(rowid) DESC",
                list(keys),
            )
            .fetchall()
        )
        return [str(row[0]) for row in rows]

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
        view = self._view()
        texts = None if view is None else view.messages.get(case_id)
        if texts is None:
            rows = self._connection().execute(
                "SELECT message FROM messages WHERE case_id = ? ORDER BY received_at, rowid",
                (case_id,),
            )
            texts = tuple(row[0] for row in rows)
            if view is not None:
                view.read_messages(case_id, texts)
        return [json.loads(text) for text in texts]

    # -- customers --

    def save_customer(self, customer: Customer) -> None:
        with self._write() as db:
            save_customer(db, customer)

    def load_customer(self, customer_id: str) -> Customer | None:
        return load_customer(self._connection(), customer_id)

    def customer_by_contact(self, channel: str, address: str) -> Customer | None:
        connection = self._connection()
        owner = owner_of_contact(connection, channel, address)
        return None if owner is None else load_customer(connection, owner)

    def open_scope_case(self, scope: str) -> str | None:
        row = (
            self._connection()
            .execute("SELECT id FROM cases WHERE open_scope = ?", (scope,))
            .fetchone()
        )
        return None if row is None else str(row[0])

    def customer_case_counts(self, customer_id: str, since: datetime) -> Mapping[str, int]:
        rows = (
            self._connection()
            .execute(
                "SELECT workflow, count(*) FROM cases WHERE customer_id = ? AND created_at >= ? "
                "GROUP BY workflow",
                (customer_id, self._moment(since)),
            )
            .fetchall()
        )
        return {str(workflow): int(count) for workflow, count in rows}

    def pending_signals(self, limit: int) -> list[PendingSignal]:
        rows = (
            self._connection()
            .execute(
                "SELECT key, workflow, customer_id, start, fire, created_at FROM signals "
                "ORDER BY created_at, key LIMIT ?",
                (limit,),
            )
            .fetchall()
        )
        return [
            PendingSignal(
                key=str(key),
                workflow=str(workflow),
                customer_id=customer,
                start=None if start is None else json.loads(start),
                fire=fire,
                created_at=from_ts(created),
            )
            for key, workflow, customer, start, fire, created in rows
        ]

    def signal_done(self, key: str) -> None:
        with self._write() as db:
            db.execute("DELETE FROM signals WHERE key = ?", (key,))

    def case_customer(self, case_id: str) -> str | None:
        """The case's owner; remembered once read or committed, since a case's owner is set
        when it is started and never changes."""
        if case_id in self._owners:
            return self._owners[case_id]
        row = (
            self._connection()
            .execute("SELECT customer_id FROM cases WHERE id = ?", (case_id,))
            .fetchone()
        )
        if row is None:
            return None  # (not remembered: the case may be started later)
        owner = None if row[0] is None else str(row[0])
        self._remember_owner(case_id, owner)
        return owner

    def _remember_timers(self, case_id: str, revision: int, timers: Timers) -> None:
        """The case's timers at ``revision``, as this store committed or read them: only
        commits of a case add or delete its timers, and each moves its revision."""
        if len(self._timer_keys) >= _DECODED_CACHE_SIZE:
            forget_older_half(self._timer_keys)
        self._timer_keys[case_id] = (revision, timers)

    def _timers_at(self, case_id: str, revision: int) -> Timers:
        known = self._timer_keys.get(case_id)
        return known[1] if known is not None and known[0] == revision else None

    def _remember_owner(self, case_id: str, owner: str | None) -> None:
        if len(self._owners) >= _DECODED_CACHE_SIZE:
            forget_older_half(self._owners)
        self._owners[case_id] = owner

    def add_dead_letter(
        self, channel: str, raw: str, encoding: str, error: str, at: datetime, status: str = "open"
    ) -> int:
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO dead_letters (channel, raw, encoding, error, received_at, status) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (channel, raw, encoding, error, ts(at), status),
            )
            return int(cursor.lastrowid or 0)

    def dead_letters(
        self, status: str | None = None, *, after: int = 0, limit: int | None = None
    ) -> list[DeadLetter]:
        where, params = where_clause(status=status)
        where = f"{where} AND id > ?" if where else " WHERE id > ?"
        page = "" if limit is None else f" LIMIT {int(limit)}"
        rows = (
            self._connection()
            .execute(
                f"SELECT {DEAD_LETTER_COLUMNS} FROM dead_letters{where} ORDER BY id{page}",
                [*params, after],
            )
            .fetchall()
        )
        return [dead_letter_of(row) for row in rows]

    def dead_letter(self, dead_letter_id: int) -> DeadLetter | None:
        row = (
            self._connection()
            .execute(
                f"SELECT {DEAD_LETTER_COLUMNS} FROM dead_letters WHERE id = ?", (dead_letter_id,)
            )
            .fetchone()
        )
        return None if row is None else dead_letter_of(row)

    def purge_dead_letters(self, received_before: datetime) -> int:
        with self._write() as db:
            cursor = db.execute(
                "DELETE FROM dead_letters WHERE received_at < ?", (ts(received_before),)
            )
            return int(cursor.rowcount or 0)

    def purge_cases(self, case_ids: Sequence[str]) -> int:
        deleted = 0
        with self._write() as db:
            for case_id in dict.fromkeys(case_ids):
                self._owners.pop(case_id, None)
                self._timer_keys.pop(case_id, None)
                for table in _CASE_TABLES:
                    db.execute(f"DELETE FROM {table} WHERE case_id = ?", (case_id,))
                db.execute(f"DELETE FROM history WHERE {self._rows.history.of_case}", (case_id,))
                for table in _CASE_ROW_TABLES:
                    db.execute(f"DELETE FROM {table} WHERE {self._rows.of_case}", (case_id,))
                cursor = db.execute("DELETE FROM cases WHERE id = ?", (case_id,))
                deleted += int(cursor.rowcount or 0)
        return deleted

    def customer_cases(self, customer_id: str) -> list[str]:
        rows = (
            self._connection()
            .execute("SELECT id FROM cases WHERE customer_id = ? ORDER BY id", (customer_id,))
            .fetchall()
        )
        return [str(row[0]) for row in rows]

    def erase_customer(
        self,
        customer_id: str,
        cases: Sequence[Case],
        entries: Sequence[HistoryEntry],
        marker: str,
        dead_letters: Sequence[int] = (),
    ) -> int:
        encoded = [(case, self._stored_data(case)) for case in cases]
        deleted = 0
        with self._write() as db:
            for case, data in encoded:
                deleted += erase_case_rows(db, case, data, marker, self._rows)
            write_entries(db, entries, self._pack, self._rows)
            forget_contacts(db, customer_id)
            forget_signals(db, customer_id)
            erase_dead_letters(db, dead_letters, marker)
        return deleted

    def close_dead_letter(self, dead_letter_id: int, case_id: str) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE dead_letters SET status = 'replayed', case_id = ? WHERE id = ?",
                (case_id, dead_letter_id),
            )

    def add_refusal(self, refusal: Refusal) -> None:
        with self._write() as db:
            db.execute(
                f"INSERT INTO refusals ({REFUSAL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                refusal_row(refusal),
            )

    def refusals(self, case_id: str | None = None) -> list[Refusal]:
        where, params = where_clause(case_id=case_id)
        rows = (
            self._connection()
            .execute(f"SELECT {REFUSAL_COLUMNS} FROM refusals{where} ORDER BY id", params)
            .fetchall()
        )
        return [refusal_of(row) for row in rows]

    # -- helpers --

    @property
    def _timer_columns(self) -> str:
        """What reading a timer selects (``timer_of``), its case's id read as it is named."""
        return self._rows.read(TIMER_COLUMNS, "timers")

    @property
    def _outbox_read(self) -> str:
        """What reading a delivery selects (``outbox_entry_of``)."""
        return self._rows.read(OUTBOX_READ, "deliveries")

    def _remember(self, case_id: str, decoded: _Known) -> None:
        """Keep decoded data and SLA state by case and revision: a case read again at the same
        revision (the usual read before the next event) skips decoding, and the next commit
        skips encoding what it did not change. Bounded: past :data:`_DECODED_CACHE_SIZE` cases
        it forgets the older half."""
        if len(self._decoded) >= _DECODED_CACHE_SIZE:
            forget_older_half(self._decoded)
        self._decoded[case_id] = decoded

    def _require_codec(self) -> DataCodec:
        if self._codec is None:
            raise StoreError("the store has no data codec; open it through svcflow.Engine")
        return self._codec

    def _case(self, row: Sequence[Any]) -> Case:
        cached = self._decoded.get(row[0])
        if cached is not None and cached[0] == row[5]:
            data, sla = cached[2], cached[3]
        else:
            data = MappingProxyType(self._decode_data(row))
            sla = _NO_SLA if row[8] == "{}" else MappingProxyType(self._decode_sla(row[8]))
            self._remember(row[0], tuple.__new__(_Known, (row[5], row[2], data, sla)))
        created = from_ts(row[6])  # (a case not changed since its start: one moment, read once)
        updated = created if row[7] == row[6] else from_ts(row[7])
        return tuple.__new__(  # (the named tuple without its keyword __new__: batches read many)
            Case, (row[0], row[1], row[2], row[3], data, row[5], created, updated, sla)
        )

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
                to_json(snap.get("sla", {})),
                snap.get("texts"),
            )
        )
        return IdempotencyRecord(row[0], row[1], case, snap.get("fingerprint"))
