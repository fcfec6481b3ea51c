"""The PostgreSQL store as operators meet it: opened by URL, migrated once even when several
workers start together, and refusing bad URLs and unreachable servers with a clear message.
What every store promises is in ``test_store_conformance.py``."""

from __future__ import annotations

import threading

import psycopg
import pytest

from svcflow.errors import StoreError
from svcflow.store.postgres import SCHEMA_VERSION, PostgresStore
from svcflow.store.registry import open_store


def test_a_postgresql_url_opens_the_postgresql_store(postgres_schema_url: str) -> None:
    store = open_store(postgres_schema_url.replace("postgresql://", "postgres://", 1))
    try:
        assert isinstance(store, PostgresStore)
        assert store.schema_version() == SCHEMA_VERSION
    finally:
        store.close()


def test_workers_starting_together_migrate_a_new_database_once(
    postgres_database_url: str,
) -> None:
    barrier = threading.Barrier(6)
    opened: list[PostgresStore] = []
    failures: list[BaseException] = []

    def start() -> None:
        barrier.wait(timeout=30)
        try:
            opened.append(PostgresStore(postgres_database_url, pool_size=1))
        except BaseException as failure:
            failures.append(failure)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in opened:
        store.close()
    assert failures == []
    assert len(opened) == 6
    with psycopg.connect(postgres_database_url) as db:
        assert db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        assert db.execute("SELECT count(*) FROM cases").fetchone() == (0,)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "postgresql://svcflow:secret@127.0.0.1:1/cases",
            "cannot open the PostgreSQL store postgresql://svcflow@127.0.0.1:1/cases: connection "
            'failed: connection to server at "127.0.0.1", port 1 failed: Connection refused; '
            "check the URL (postgresql://user@host:port/database) and that the server accepts "
            "this user",
        ),
        (
            "postgresql://svcflow@127.0.0.1:1/cases?pool_size=many",
            "invalid pool_size='many' in the PostgreSQL store URL "
            "postgresql://svcflow@127.0.0.1:1/cases: use a whole number, for example pool_size=10",
        ),
    ],
)
def test_bad_postgresql_urls_say_what_is_wrong_without_the_password(url: str, message: str) -> None:
    with pytest.raises(StoreError) as caught:
        open_store(url)
    assert str(caught.value) == message
