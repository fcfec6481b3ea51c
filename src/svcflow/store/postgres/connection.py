"""The part of Python's DB-API the shared store queries use, spoken to PostgreSQL.

The SQLite store's queries keep to SQL both databases understand, with ``?`` placeholders.
:class:`Transaction` runs them on one psycopg connection inside a transaction (placeholders
become psycopg's ``%s``); :class:`Reader` runs each read on a connection borrowed from the pool
for that one statement, in autocommit (each read sees the latest committed data, like a read
outside a transaction in SQLite's WAL mode). The store's writes and reads can then be written
once (:mod:`svcflow.store.sqlite.writes`) and run against either database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

__all__ = ["Reader", "Result", "Transaction", "postgres_sql"]

Row = tuple[Any, ...]


@lru_cache(maxsize=512)
def postgres_sql(query: str) -> bytes:
    """``query`` with its ``?`` placeholders as psycopg's ``%s`` (the shared queries hold no
    ``?`` or ``%`` in literals)."""
    return query.replace("?", "%s").encode()


class Result:
    """Rows read in full, with the statement's row count: what a read returns once its
    connection is back in the pool."""

    def __init__(self, rows: list[Row], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def fetchone(self) -> Row | None:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[Row]:
        return self._rows

    def __iter__(self) -> Iterator[Row]:
        return iter(self._rows)


class Transaction:
    """Statements on one connection inside one transaction (the caller opens and ends it)."""

    def __init__(self, connection: psycopg.Connection[Row]) -> None:
        self.connection = connection

    def execute(self, query: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Row]:
        return self.connection.execute(postgres_sql(query), params)

    def executemany(self, query: str, params: Iterable[Sequence[Any]]) -> psycopg.Cursor[Row]:
        cursor = self.connection.cursor()
        cursor.executemany(postgres_sql(query), params)
        return cursor


class Reader:
    """Each statement on a pooled connection in autocommit, its rows read before the
    connection goes back."""

    def __init__(
        self,
        pool: ConnectionPool[psycopg.Connection[Row]],
        fault: Callable[[psycopg.Error], Exception | None] = lambda error: None,
        timeout: float | None = None,
    ) -> None:
        self._pool = pool
        self._fault = fault
        self._timeout = timeout

    def execute(self, query: str, params: Sequence[Any] = ()) -> Result:
        """Rows of one statement, on a connection free within ``timeout`` seconds (None: the
        pool's own wait); a database error ``fault`` turns into another (a svcflow error) is
        raised as that, any other as it is (the pool's ``PoolTimeout`` is one of them)."""
        try:
            with self._pool.connection(timeout=self._timeout) as connection:
                cursor = connection.execute(postgres_sql(query), params)
                rows = cursor.fetchall() if cursor.description is not None else []
                return Result(rows, cursor.rowcount)
        except psycopg.Error as error:
            mapped = self._fault(error)
            if mapped is None:
                raise
            raise mapped from error
