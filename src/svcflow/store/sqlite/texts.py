"""The SQLite and PostgreSQL stores' large texts (:mod:`svcflow.store.history_texts`).

A history row names its taken-out texts in its ``texts`` column (JSON ``[[part, name,
digest], ...]``, NULL when none); so does a case row for the texts of its data, and an
idempotency record for the data of its case snapshot. The texts live in ``history_texts``, one
row per distinct text of a case, as a base digest and a tail. Writing an entry or a case
stores each of its texts unless the case has it already; reading a case's history reads the
case's texts once and rebuilds them.
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
    remember,
    take_out,
)
from svcflow.store.sqlite.case_rows import CaseRows

__all__ = [
    "data_texts",
    "keep_texts",
    "places_column",
    "prune_texts",
    "store_texts",
    "with_texts",
]

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
    keep_texts(db, entry.case_id, entry.seq, taken)
    return bare, places_column(taken)


def keep_texts(
    db: sqlite3.Connection, case_id: str, seq: int, taken: Sequence[tuple[TextPlace, str]]
) -> None:
    """Store each taken-out text the case does not have yet (``seq``: the history entry of the
    event that writes it)."""
    for n, (place, text) in enumerate(taken):
        known = db.execute(
            "SELECT 1 FROM history_texts WHERE case_id = ? AND digest = ?",
            (case_id, place.digest),
        ).fetchone()
        if known is None:
            rows = db.execute(_LATEST, (case_id, BASE_CANDIDATES)).fetchall()
            latest = [(str(row[0]), int(row[1])) for row in rows]
            stored = new_text(text, latest, beside=[other for _, other in taken[:n]])
            db.execute(_INSERT, (case_id, seq, *stored))


def places_column(taken: Sequence[tuple[TextPlace, str]]) -> str | None:
    """The ``texts`` column naming the places of ``taken`` (NULL when there are none)."""
    return json.dumps([list(place) for place, _ in taken]) if taken else None


def data_texts(db: Any, case_id: str, column: str | None) -> dict[str, str]:
    """The texts a case row's (or a snapshot's) ``texts`` column names, by data field."""
    if column is None:
        return {}
    places = _places(column)
    texts = rebuild(_stored(db, case_id), [place.digest for place in places])
    for place in places:  # the next event's texts extend these: compared, not hashed again
        remember(place.digest, texts[place.digest])
    return {place.name: texts[place.digest] for place in places}


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


def prune_texts(db: sqlite3.Connection, case_id: str, rows: CaseRows) -> None:
    """Delete the case's texts nothing needs any more (after its entries and data were
    rewritten, as an erasure does): a text needed is one a history row (naming its case as
    ``rows`` says), the case row or an idempotency record names, or the base of one."""
    naming = (
        f"SELECT texts FROM history WHERE {rows.history.of_case} AND texts IS NOT NULL "
        "UNION ALL SELECT texts FROM cases WHERE id = ? AND texts IS NOT NULL "
        "UNION ALL SELECT result FROM idempotency WHERE case_id = ?"
    )
    named: set[str] = set()
    for (column,) in db.execute(naming, (case_id, case_id, case_id)).fetchall():
        if column.startswith("{"):  # an idempotency record: the snapshot's texts
            column = json.loads(column).get("texts")
        if column is not None:
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
