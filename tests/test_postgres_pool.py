"""The PostgreSQL store's connections as an operator meets them: ``pool_size`` connections
really in use at once, a time limit instead of a hang when the server accepts connections but
never answers, and moments in UTC whatever time zone the server is set to."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from svcflow.errors import StoreBusy, StoreError
from svcflow.store.base import NewTimer
from svcflow.store.postgres import PostgresStore
from svcflow.store.postgres import store as postgres_store
from svcflow.store.registry import open_store
from test_store_conformance import _case, _change, _delivery, _open

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class SilentServer:
    """A TCP server on 127.0.0.1 that accepts connections and never answers them (a server
    that hangs, or a network that drops its replies), except the first ``answered``, which it
    relays to ``target``. Closing it closes every connection it holds."""

    def __init__(self, target: tuple[str, int] | None = None, answered: int = 0) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)  # so that close() ends the accepting thread at once
        self._closed = threading.Event()
        self.port: int = self._listener.getsockname()[1]
        self._target, self._answered = target, answered
        self._sockets: list[socket.socket] = [self._listener]
        self.accepted = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:  # closed
                return
            client.settimeout(None)
            self._sockets.append(client)
            self.accepted += 1
            if self._target is not None and self.accepted <= self._answered:
                server = socket.create_connection(self._target)
                self._sockets.append(server)
                for source, sink in ((client, server), (server, client)):
                    threading.Thread(target=_relay, args=(source, sink), daemon=True).start()

    def close(self) -> None:
        self._closed.set()
        self._thread.join(5)
        for held in self._sockets:
            held.close()


def _relay(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        return


LONG_BEFORE_ANY_DEFAULT = 20.0
"""Seconds: a refusal after the store's limit (2 s in these tests), not after psycopg's own
connect timeout (130 s) or the pool's default wait (30 s), however busy the machine."""


@pytest.fixture
def short_time_limit(monkeypatch: pytest.MonkeyPatch) -> float:
    """The store's connection time limit at libpq's shortest (2 s) instead of 30 s."""
    monkeypatch.setattr(postgres_store, "CONNECT_TIMEOUT", 2.0)
    return 2.0


def test_a_server_that_accepts_but_never_answers_is_refused_after_the_time_limit(
    short_time_limit: float,
) -> None:
    silent = SilentServer()
    url = f"postgresql://svcflow:secret@127.0.0.1:{silent.port}/cases"
    started = time.monotonic()
    try:
        with pytest.raises(StoreError) as caught:
            open_store(url)
    finally:
        silent.close()
    assert time.monotonic() - started < LONG_BEFORE_ANY_DEFAULT
    assert str(caught.value) == (
        f"cannot open the PostgreSQL store postgresql://svcflow@127.0.0.1:{silent.port}/cases: "
        "connection timeout expired; check the URL (postgresql://user@host:port/database) and "
        "that the server accepts this user"
    )
    assert silent.accepted == 1


def test_a_server_that_stops_answering_after_the_migration_is_refused_after_the_time_limit(
    postgres_schema_url: str, short_time_limit: float
) -> None:
    real = urlsplit(postgres_schema_url)
    silent = SilentServer((real.hostname or "", real.port or 0), answered=1)
    url = postgres_schema_url.replace(f":{real.port}/", f":{silent.port}/", 1)
    started = time.monotonic()
    try:
        with pytest.raises(StoreError) as caught:
            open_store(url)
        assert time.monotonic() - started < LONG_BEFORE_ANY_DEFAULT
        stuck = [t.name for t in threading.enumerate() if t.name.startswith("svcflow post")]
    finally:
        silent.close()
    assert stuck == []  # no pool thread is left waiting for the server
    assert str(caught.value) == (
        f"cannot connect to the PostgreSQL store postgresql://svcflow@127.0.0.1:{silent.port}"
        "/svcflow within 2 s: check that the server runs and accepts this user"
    )
    assert silent.accepted >= 2  # the migration's connection, then the pool's


@contextmanager
def _held_writers(store: PostgresStore, count: int) -> Iterator[None]:
    """``count`` commits of new cases ``w0``, ``w1``... at once, each stopped inside its
    transaction (every row written, not yet committed) until the block ends."""
    inside = threading.Barrier(count + 1)
    release = threading.Event()
    original = store._apply

    def hold(db: Any, change: Any, prepared: Any) -> Any:
        timers = original(db, change, prepared)
        inside.wait(10)
        release.wait(30)
        return timers

    def write(case_id: str) -> None:
        store.commit(_change(_case(case_id), idempotency_key=f"key-{case_id}"))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store, "_apply", hold)
        writers = [threading.Thread(target=write, args=(f"w{n}",)) for n in range(count)]
        for writer in writers:
            writer.start()
        try:
            inside.wait(10)  # broken (an error) unless all of them hold a connection at once
            yield
        finally:
            release.set()
            for writer in writers:
                writer.join(30)


@pytest.mark.parametrize("pool_size", [1, 3])
def test_a_store_uses_pool_size_connections_at_once_and_one_more_write_waits_for_the_limit(
    postgres_schema_url: str, monkeypatch: pytest.MonkeyPatch, pool_size: int
) -> None:
    monkeypatch.setattr(postgres_store, "CONNECT_TIMEOUT", 0.5)
    store = _open(f"{postgres_schema_url}&pool_size={pool_size}")
    assert isinstance(store, PostgresStore)
    try:
        with _held_writers(store, pool_size), pytest.raises(StoreBusy) as caught:
            store.add_dead_letter("sms", "raw", "text", "no sender", T0)
        assert str(caught.value) == (
            f"the store {store.where} could not write: no free connection within 0.5 s; nothing "
            "was written; other writers held it too long; retry"
        )
        assert store.dead_letters() == []
        assert [store.load_case(f"w{n}") is not None for n in range(pool_size)] == [
            True
        ] * pool_size
        store.add_dead_letter("sms", "raw", "text", "no sender", T0)
        assert len(store.dead_letters()) == 1
    finally:
        store.close()


def test_a_read_that_finds_no_free_connection_is_busy_after_the_limit(
    postgres_schema_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16: a read waits ``CONNECT_TIMEOUT`` for a pooled connection (not the pool's 30 s)
    and is then ``StoreBusy``, not "connection lost"."""
    monkeypatch.setattr(postgres_store, "CONNECT_TIMEOUT", 0.5)
    store = _open(f"{postgres_schema_url}&pool_size=1")
    assert isinstance(store, PostgresStore)
    try:
        with _held_writers(store, 1):
            started = time.monotonic()
            with pytest.raises(StoreBusy) as caught:
                store.load_case("w0")
            assert time.monotonic() - started < LONG_BEFORE_ANY_DEFAULT
        assert str(caught.value) == (
            f"the store {store.where} could not read: no free connection within 0.5 s; other "
            "readers and writers held every connection; retry"
        )
        assert store.load_case("w0") is not None  # the writer committed once let go
    finally:
        store.close()


def test_moments_read_back_are_in_utc_whatever_the_servers_time_zone(
    postgres_schema_url: str,
) -> None:
    tokyo = _open(f"{postgres_schema_url}%20-ctimezone%3DAsia%2FTokyo")
    try:
        due = T0 + timedelta(minutes=5)
        tokyo.commit(
            _change(
                _case("c1"),
                timers=[NewTimer("remind", due, "new", False)],
                deliveries=[_delivery("d1", minutes=2)],
            )
        )
        tokyo.add_dead_letter("sms", "raw", "text", "no sender", T0)
        case = tokyo.load_case("c1")
        assert case is not None
        moments = [
            case.created_at,
            tokyo.history("c1")[0].at,
            *(timer.due_at for timer in tokyo.timers("c1")),
            *(entry.next_attempt_at for entry in tokyo.outbox("c1")),
            *(letter.received_at for letter in tokyo.dead_letters()),
        ]
        assert [moment.isoformat() for moment in moments] == [
            "2026-03-02T09:00:00+00:00",
            "2026-03-02T09:00:00+00:00",
            "2026-03-02T09:05:00+00:00",
            "2026-03-02T09:02:00+00:00",
            "2026-03-02T09:00:00+00:00",
        ]
    finally:
        tokyo.close()
