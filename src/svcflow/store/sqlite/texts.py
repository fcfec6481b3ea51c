"""The SQLite and PostgreSQL stores' large history texts (:mod:`svcflow.store.history_texts`).

A history row names its taken-out texts in its ``texts`` column (JSON ``[[part, name,
digest], ...]``, NULL when none); the texts live in ``history_texts``, one row per distinct text
of a case, as a base digest and a tail. Writing an entry stores each of its texts unless the
case has it already; reading a case's history reads the case's texts once and rebuilds them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from svcflow.records import HistoryEntry
from svcflow.store.history_texts import (
    BASE_CANDIDATES,
    StoredText,
    TextPlace,
    needed,
    new_text,
    put_back,
    rebuild,
    take_out,
)

__all__ = ["prune_texts", "store_texts", "with_texts"]

_LATEST = (
    "SELECT digest, length FROM history_texts WHERE case_id = ? "
    "ORDER BY seq DESC, length DESC LIMIT ?"
)
_INSERT = (
    "INSERT INTO history_texts (case_id, seq, digest, length, base, tail, suffix) "
    "VALUES (?,?,?,?,?,?,?) "
    "ON CONFLICT (case_id, digest) DO NOTHING"
)


def store_texts(db: sqlite3.Connection, entry: HistoryEntry) -> tuple[HistoryEntry, str | None]:
    """Store the entry's large texts the case does not have yet; return the entry without
    them and the value of its ``texts`` column."""
    bare, taken = take_out(entry)
    if not taken:
        return entry, None
    for n, (place, text) in enumerate(taken):
        known = db.execute(
            "SELECT 1 FROM history_texts WHERE case_id = ? AND digest = ?",
            (entry.case_id, place.digest),
        ).fetchone()
        if known is None:
            rows = db.execute(_LATEST, (entry.case_id, BASE_CANDIDATES)).fetchall()
            latest = [(str(row[0]), int(row[1])) for row in rows]
            stored = new_text(text, latest, beside=[other for _, other in taken[:n]])
            db.execute(_INSERT, (entry.case_id, entry.seq, *stored))
    return bare, json.dumps([list(place) for place, _ in taken])


def with_texts(
    db: Any, case_id: str, entries: Sequence[HistoryEntry], columns: Sequence[str | None]
) -> list[HistoryEntry]:
    """A case's entries as committed: the texts named in each row's ``texts`` column put back
    (``db`` is the store's connection or reader)."""
    places = [None if column is None else _places(column) for column in columns]
    if not any(places):
        return list(entries)
    stored = _stored(db, case_id)
    texts = rebuild(stored, (place.digest for found in places if found for place in found))
    return [
        entry if found is None else put_back(entry, found, texts)
        for entry, found in zip(entries, places, strict=True)
    ]


def prune_texts(db: sqlite3.Connection, case_id: str) -> None:
    """Delete the case's texts no history row needs any more (after its entries were
    rewritten, as an erasure does): a text needed is one a row names, or the base of one."""
    named: set[str] = set()
    for (column,) in db.execute(
        "SELECT texts FROM history WHERE case_id = ? AND texts IS NOT NULL", (case_id,)
    ).fetchall():
        named.update(place.digest for place in _places(column))
    stored = _stored(db, case_id)
    for key in set(stored) - needed(stored, named):
        db.execute("DELETE FROM history_texts WHERE case_id = ? AND digest = ?", (case_id, key))


def _stored(db: Any, case_id: str) -> dict[str, StoredText]:
    rows = db.execute(
        "SELECT digest, length, base, tail, suffix FROM history_texts WHERE case_id = ?",
        (case_id,),
    ).fetchall()
    return {str(row[0]): StoredText(*row) for row in rows}


def _places(column: str) -> list[TextPlace]:
    return [TextPlace(*item) for item in json.loads(column)]
