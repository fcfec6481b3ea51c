"""The statements that write and read ``history``, by how its rows are keyed.

Until schema step 21 a history row was found by its ``PRIMARY KEY (case_ref, seq)``: SQLite
kept that key in an index of its own beside the rowid table, so every entry written changed
two b-trees (a WAL page each: about 1 page of the 12.5 an event wrote, issue 16). Since step 21
the row's rowid is the key itself, ``key = case_ref * 2**32 + seq``: a case's entries are the
rowid range ``[ref * 2**32, (ref + 1) * 2**32)``, in seq order, and the table is the only
b-tree. ``case_ref`` and ``seq`` are virtual columns computed from ``key`` (no bytes stored),
so rows still read as before.

The multiplication (not a shift) makes a case key past ``2**31`` fail loudly (SQLite turns the
overflowing product into a REAL, which an INTEGER PRIMARY KEY refuses) instead of wrapping; a
seq is below ``2**32`` (the entries of one case). A row is written only for a case that exists:
its key is ``'no such case'`` otherwise, which the key refuses (``datatype mismatch``) where a
NULL would have been given the next free rowid. ``history`` has no foreign key since step 21:
on a virtual column it would make deleting a case scan the whole table (no index serves it).

The PostgreSQL store shares the write and read code and keeps its ``(case_id, seq)`` key
(:data:`PLAIN`).
"""

from __future__ import annotations

from typing import NamedTuple

from svcflow.store.sqlite.schema import HISTORY_COLUMNS

__all__ = ["KEYED", "PLAIN", "SPAN", "HistorySql"]

SPAN = 1 << 32
"""Keys a case's history spans: ``key = case_ref * SPAN + seq``."""


class HistorySql(NamedTuple):
    """The statements of ``history`` for one way of keying it. ``insert`` and ``upsert`` take
    a row in :data:`~svcflow.store.sqlite.schema.HISTORY_COLUMNS` order (the case's id first);
    ``insert_ref`` is ``insert`` for a row whose first value is the case's key (``cases.ref``)
    instead of its id, where rows name their case by that key (None otherwise);
    ``of_case`` is a WHERE term for the rows of the case whose id is the first parameter;
    ``select_case`` reads one case's entries in seq order (parameter: its id), ``select_all``
    every entry by case id and seq, each row beginning with the case's id."""

    insert: str
    insert_ref: str | None
    upsert: str
    of_case: str
    select_case: str
    select_all: str


_REDACTED = (
    "SET actor = excluded.actor, payload = excluded.payload, details = excluded.details, "
    "texts = excluded.texts"
)


def _plain() -> HistorySql:
    values = ", ".join("?" * len(HISTORY_COLUMNS.split(", ")))
    insert = f"INSERT INTO history ({HISTORY_COLUMNS}) VALUES ({values})"
    return HistorySql(
        insert=insert,
        insert_ref=None,
        upsert=f"{insert} ON CONFLICT (case_id, seq) DO UPDATE {_REDACTED}",
        of_case="case_id = ?",
        select_case=f"SELECT {HISTORY_COLUMNS} FROM history WHERE case_id = ? ORDER BY seq",
        select_all=f"SELECT {HISTORY_COLUMNS} FROM history ORDER BY case_id, seq",
    )


def _keyed() -> HistorySql:
    stored = HISTORY_COLUMNS.split(", ")[2:]  # after case_id and seq, which the key holds
    values = ", ".join("?" * len(stored))
    into = f"INSERT INTO history (key, {', '.join(stored)}) VALUES "
    insert = (
        f"{into}(coalesce((SELECT ref FROM cases WHERE id = ?) * {SPAN} + ?, 'no such case'), "
        f"{values})"
    )
    read = ", ".join(f"history.{name}" for name in ["seq", *stored])
    join = (
        f"cases JOIN history ON history.key >= cases.ref * {SPAN} "
        f"AND history.key < (cases.ref + 1) * {SPAN}"
    )
    return HistorySql(
        insert=insert,
        insert_ref=f"{into}(coalesce(? * {SPAN} + ?, 'no such case'), {values})",
        upsert=f"{insert} ON CONFLICT (key) DO UPDATE {_REDACTED}",
        of_case=(
            f"key >= (SELECT ref FROM cases WHERE id = ?1) * {SPAN} "
            f"AND key < ((SELECT ref FROM cases WHERE id = ?1) + 1) * {SPAN}"
        ),
        select_case=f"SELECT cases.id, {read} FROM {join} WHERE cases.id = ? ORDER BY history.key",
        select_all=f"SELECT cases.id, {read} FROM {join} ORDER BY cases.id, history.key",
    )


PLAIN = _plain()
"""``history`` keyed by ``(case_id, seq)`` (PostgreSQL)."""

KEYED = _keyed()
"""``history`` keyed by one integer per entry (SQLite since schema step 21)."""
