"""The PostgreSQL store: many processes on many machines share one database.

It keeps the SQLite store's tables and queries (see :mod:`.connection`) and changes what a
server database does differently:

- **Connections** come from a psycopg pool (``pool_size`` per store, default 10); a write holds
  one connection for its transaction, a read borrows one per statement.
- **Isolation**: every transaction runs at PostgreSQL's default, ``READ COMMITTED``. A case
  write is ``UPDATE ... WHERE id = ? AND revision = ?``: a second writer of the same case waits
  for the first's row lock, then re-checks the revision on the committed row and matches
  nothing, so it gets :class:`~svcflow.errors.ConcurrencyConflict` (optimistic per-case
  revisions; no lost update without needing ``SERIALIZABLE`` retries). Two writers inserting
  the same idempotency key or message id meet the unique index instead: the loser's
  transaction is rolled back and it gets the same refusal the first check would have given.
- **Claims**: due timers and outbox deliveries are claimed in one statement, ``SELECT ... FOR
  UPDATE SKIP LOCKED`` under an ``UPDATE``: concurrent workers each take different rows and
  never wait for each other; a claim is a lease, so rows of a worker that died are claimed
  again once the lease runs out.
- **Migrations** run under an advisory lock (:mod:`.schema`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import errors
from psycopg_pool import ConnectionPool, PoolTimeout

from svcflow.errors import StoreBusy, StoreError, StoreFault, StoreFull
from svcflow.records import OutboxEntry, Timer
from svcflow.store.base import (
    CaseChange,
    DataCodec,
    DuplicateMessage,
    IdempotentReplay,
    ScopeTaken,
)
from svcflow.store.postgres.connection import Reader, Row, Transaction
from svcflow.store.postgres.schema import migrate, schema_version
from svcflow.store.sqlite.case_rows import BY_ID
from svcflow.store.sqlite.outbox_keys import PLAIN
from svcflow.store.sqlite.rows import outbox_entry_of, timer_of, ts
from svcflow.store.sqlite.schema import OUTBOX_COLUMNS, TIMER_COLUMNS
from svcflow.store.sqlite.shared import SharedTexts
from svcflow.store.sqlite.store import _READY, SqliteStore, _Known
from svcflow.store.sqlite.writes import TimerKey

__all__ = ["DEFAULT_POOL_SIZE", "PostgresStore", "open_postgres", "read_fault", "store_fault"]

DEFAULT_POOL_SIZE = 10
WAKE_CHANNEL = "svcflow_work"
"""The ``NOTIFY`` channel a commit that schedules work due soon signals on."""
WAKE_HORIZON = timedelta(minutes=1)
"""Work due later than this after its commit wakes nobody: workers poll more often."""
CONNECT_TIMEOUT = 30.0

_CLAIM_TIMERS = (
    f"WITH picked AS (SELECT id FROM timers WHERE due_at <= ? AND {_READY} AND (lease_until "
    "IS NULL OR lease_until <= ? OR claimed_by = ?) AND NOT EXISTS (SELECT 1 FROM timers AS held "
    "WHERE held.case_id = timers.case_id AND held.lease_until > ? AND held.claimed_by <> ? "
    "AND (held.due_at < timers.due_at OR (held.due_at = timers.due_at AND held.id < "
    "timers.id))) ORDER BY due_at, id LIMIT ? FOR UPDATE SKIP LOCKED) "
    "UPDATE timers SET claimed_by = ?, lease_until = ? FROM picked WHERE timers.id = picked.id "
    f"RETURNING {', '.join('timers.' + c for c in TIMER_COLUMNS.split(', '))}"
)
_CLAIM_DELIVERIES = (
    "WITH picked AS (SELECT id FROM deliveries WHERE status = 'pending' AND "
    "next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ? OR claimed_by = ?) "
    "ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED) "
    "UPDATE deliveries SET claimed_by = ?, lease_until = ? FROM picked "
    "WHERE deliveries.id = picked.id "
    f"RETURNING {', '.join('deliveries.' + c for c in OUTBOX_COLUMNS.split(', '))}, "
    "(SELECT text FROM shared_texts WHERE shared_texts.id = deliveries.reason)"
)


_BUSY = {
    "40001": "serialization failure",
    "40P01": "deadlock",
    "55P03": "lock not available",
    "57014": "statement cancelled (statement_timeout)",
}


def store_fault(where: str, error: psycopg.Error) -> StoreFault:
    """A PostgreSQL error of a write as the documented svcflow error: ``StoreFull`` for a full
    disk (SQLSTATE 53100), ``StoreBusy`` for a lock or serialization conflict or a timeout
    (40001, 40P01, 55P03, 57014), ``StoreFault`` for anything else, a lost connection too."""
    state = error.sqlstate or ""
    reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
    if state == "53100":
        return StoreFull(where, f"disk full (SQLSTATE 53100): {reason}")
    if state in _BUSY:
        return StoreBusy(where, f"{_BUSY[state]} (SQLSTATE {state}): {reason}")
    if isinstance(error, psycopg.OperationalError) and (not state or state[:2] in ("08", "57")):
        what = f"SQLSTATE {state}: {reason}" if state else reason
        return StoreFault(where, f"connection lost ({what})", "retry; the pool reconnects")
    return StoreFault(where, f"{type(error).__name__} (SQLSTATE {state or '?'}): {reason}")


def read_fault(where: str, error: psycopg.Error) -> StoreError | None:
    """A read that failed for want of the server (a lost connection, ``statement_timeout``) as
    a ``StoreError`` saying to retry, ``StoreBusy`` when no pooled connection was free within
    ``CONNECT_TIMEOUT``; None for any other error (raised as it is)."""
    if isinstance(error, PoolTimeout):  # an OperationalError, but no connection was lost
        return StoreBusy(where, f"no free connection within {CONNECT_TIMEOUT:g} s", reading=True)
    state = error.sqlstate or ""
    reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
    if state == "57014":
        return StoreError(f"the store {where} could not read: {reason} (SQLSTATE 57014); retry")
    if isinstance(error, psycopg.OperationalError) and (not state or state[:2] in ("08", "57")):
        what = f"SQLSTATE {state}: {reason}" if state else reason
        return StoreError(
            f"the store {where} could not read: connection lost ({what}); retry: the pool "
            "reconnects"
        )
    return None


def _configure(connection: psycopg.Connection[Row]) -> None:
    connection.execute("SET TIME ZONE 'UTC'")


def describe(url: str) -> str:
    """``url`` without its password and query, fit for an error message or a log line."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"


class PostgresStore(SqliteStore):
    """A PostgreSQL database as a store; safe for any number of threads, processes and machines.

    Shares the SQLite store's queries (written in the SQL both databases speak) and overrides
    connections, transactions, claims and migrations. ``url`` is a libpq URL; its query may
    carry libpq options (``sslmode``, ``options``...)."""

    def __init__(self, url: str, pool_size: int = DEFAULT_POOL_SIZE) -> None:
        self.url = url
        self.where = describe(url)
        self._codec: DataCodec | None = None
        self._decoded: dict[str, _Known] = {}
        self._owners: dict[str, str | None] = {}
        self._timer_keys: dict[str, tuple[int, tuple[TimerKey, ...] | None]] = {}
        self._shared = SharedTexts()
        self._views = False
        self._values_only = False
        self._deliveries = PLAIN
        self._rows = BY_ID
        self._by_ref = False
        self._refs = {}
        self._moment = ts
        # History details stay JSON text: PostgreSQL compresses large values itself (TOAST), and
        # its JSON operators keep reading them. SLA state is kept as in SQLite (the compact form).
        self._pack = bytes.decode
        self._listener: psycopg.Connection[Row] | None = None
        self._pool: ConnectionPool[psycopg.Connection[Row]] = ConnectionPool(
            url,
            min_size=1,
            max_size=max(1, pool_size),
            # a server that accepts connections but never answers holds no pool worker for ever
            kwargs={"autocommit": True, "connect_timeout": int(CONNECT_TIMEOUT)},
            configure=_configure,
            open=False,
            name=f"svcflow {self.where}",
        )
        self._migrate()
        try:
            self._pool.open(wait=True, timeout=CONNECT_TIMEOUT)
        except PoolTimeout:
            self._pool.close()
            raise StoreError(
                f"cannot connect to the PostgreSQL store {self.where} within "
                f"{CONNECT_TIMEOUT:g} s: check that the server runs and accepts this user"
            ) from None
        self._reader = Reader(
            self._pool, lambda error: read_fault(self.where, error), CONNECT_TIMEOUT
        )

    # -- connections and schema --

    def _connection(self) -> Reader:  # type: ignore[override]
        return self._reader

    @contextmanager
    def _write(self) -> Iterator[Transaction]:  # type: ignore[override]
        """One transaction on a pooled connection; a database error other than a unique
        violation (which ``commit`` turns into its refusal) becomes ``StoreFull``,
        ``StoreBusy`` or ``StoreFault``, as the SQLite store's do."""
        self._shared.begin()
        try:
            with (
                self._pool.connection(timeout=CONNECT_TIMEOUT) as connection,
                connection.transaction(),
            ):
                yield Transaction(connection)
        except errors.UniqueViolation:
            raise
        except PoolTimeout as error:  # a psycopg.OperationalError, but no connection was lost
            raise StoreBusy(
                self.where, f"no free connection within {CONNECT_TIMEOUT:g} s"
            ) from error
        except psycopg.Error as error:
            raise store_fault(self.where, error) from error

    def _migrate(self) -> None:
        """Bring the schema up to date on a connection of its own, before the pool opens: a
        server that cannot be reached fails here at once, with libpq's reason."""
        try:
            with psycopg.connect(
                self.url, autocommit=True, connect_timeout=int(CONNECT_TIMEOUT)
            ) as connection:
                migrate(connection, self.where)
        except psycopg.OperationalError as error:
            reason = str(error).strip().splitlines()[0]
            raise StoreError(
                f"cannot open the PostgreSQL store {self.where}: {reason}; check the URL "
                "(postgresql://user@host:port/database) and that the server accepts this user"
            ) from None

    def schema_version(self) -> int:
        with self._pool.connection() as connection:
            return schema_version(connection)

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        self._pool.close()

    # -- writing --

    def commit(self, change: CaseChange) -> None:
        try:
            super().commit(change)
        except errors.UniqueViolation as violation:
            refusal = self._refusal(change, violation)
            if refusal is violation:
                raise store_fault(self.where, violation) from violation
            raise refusal from None
        self._announce(change)

    def commit_many(self, changes: Sequence[CaseChange]) -> list[Exception | None]:
        outcomes = super().commit_many(changes)
        self._announce(*(c for c, o in zip(changes, outcomes, strict=True) if o is None))
        return outcomes

    _FATAL = (psycopg.OperationalError,)

    @contextmanager
    def _savepoint(self, db: Transaction) -> Iterator[None]:
        with db.connection.transaction():  # nested: a savepoint
            yield

    def _refusal_of(self, change: CaseChange, error: Exception) -> Exception:
        if isinstance(error, errors.UniqueViolation):
            return self._refusal(change, error)
        return error

    def _announce(self, *changes: CaseChange) -> None:
        """Wake idle workers (``NOTIFY``, once) when the changes scheduled work due within
        :data:`WAKE_HORIZON`; work due later is found by their polling."""
        soon: list[datetime] = []
        for change in changes:
            due = [t.due_at for t in change.timers]
            due += [d.next_attempt_at for d in change.deliveries if d.status == "pending"]
            if due and min(due) - change.case.updated_at < WAKE_HORIZON:
                soon.append(min(due))
        if soon:
            self._reader.execute("SELECT pg_notify(?, ?)", (WAKE_CHANNEL, min(soon).isoformat()))

    def wait_for_work(self, timeout: float) -> datetime | None:
        """Wait up to ``timeout`` seconds for a commit that scheduled work due soon (``LISTEN``
        on a connection of its own, opened on first use); the moment it is due, or None."""
        if self._listener is None:
            self._listener = psycopg.connect(self.url, autocommit=True)
            self._listener.execute(f"LISTEN {WAKE_CHANNEL}".encode())
        for note in self._listener.notifies(timeout=timeout, stop_after=1):
            try:
                return datetime.fromisoformat(note.payload)
            except ValueError:
                return datetime.now(UTC)  # a NOTIFY of someone else's: look now
        return None

    def _refusal(self, change: CaseChange, violation: errors.UniqueViolation) -> Exception:
        """The refusal a racing writer gets when a unique index, not the first check, stopped
        it (the other writer committed in between)."""
        constraint = violation.diag.constraint_name
        if constraint == "idempotency_pkey" and change.idempotency_key is not None:
            record = self.idempotency(change.idempotency_key)
            if record is not None:
                return IdempotentReplay(record)
        if constraint == "cases_open_scope" and change.open_scope is not None:
            holder = self.open_scope_case(change.open_scope)
            if holder is not None:
                return ScopeTaken(holder)
        if constraint == "messages_pkey":
            for message in change.messages:
                earlier = self.message_case(message.channel, message.message_id)
                if earlier is not None:
                    return DuplicateMessage(earlier)
        return violation

    def add_dead_letter(
        self, channel: str, raw: str, encoding: str, error: str, at: datetime, status: str = "open"
    ) -> int:
        with self._write() as db:
            row = db.execute(
                "INSERT INTO dead_letters (channel, raw, encoding, error, received_at, status) "
                "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (channel, raw, encoding, error, ts(at), status),
            ).fetchone()
        return int(row[0]) if row else 0

    # -- claims --

    def claim_due_timers(
        self, now: datetime, limit: int, owner: str, lease_until: datetime
    ) -> list[Timer]:
        stamp, until = ts(now), ts(lease_until)
        with self._write() as db:
            rows = db.execute(
                _CLAIM_TIMERS, (stamp, stamp, stamp, owner, stamp, owner, limit, owner, until)
            ).fetchall()
        return sorted((timer_of(row) for row in rows), key=lambda t: (t.due_at, t.id))

    def claim_deliveries(
        self, now: datetime, limit: int, owner: str, lease_until: datetime
    ) -> list[OutboxEntry]:
        stamp = ts(now)
        with self._write() as db:
            rows = db.execute(
                _CLAIM_DELIVERIES, (stamp, stamp, owner, limit, owner, ts(lease_until))
            ).fetchall()
        return sorted(
            (outbox_entry_of(row) for row in rows), key=lambda e: (e.next_attempt_at, e.id)
        )


_OPTIONS = {"pool_size": int}


def open_postgres(url: str) -> PostgresStore:
    """``postgresql://user@host:port/database`` (or ``postgres://``), with libpq's query
    options and svcflow's own: ``pool_size`` (connections per store, default 10)."""
    parts = urlsplit(url)
    ours: dict[str, Any] = {}
    theirs: list[tuple[str, str]] = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key in _OPTIONS:
            try:
                ours[key] = _OPTIONS[key](value)
            except ValueError:
                raise StoreError(
                    f"invalid {key}={value!r} in the PostgreSQL store URL {describe(url)}: "
                    "use a whole number, for example pool_size=10"
                ) from None
        else:
            theirs.append((key, value))
    query = urlencode(theirs, quote_via=quote)  # libpq reads "+" as a plus, not a space
    libpq = urlunsplit(parts._replace(scheme="postgresql", query=query))
    return PostgresStore(libpq, **ours)
