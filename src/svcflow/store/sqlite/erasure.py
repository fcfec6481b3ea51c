"""The SQLite store's erasure of one customer (see ``Store.erase_customer``): functions over the
connection of the store's write transaction, so the store module keeps to wiring."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from svcflow.records import Case, HistoryEntry
from svcflow.store.base import ERASED_DELIVERY, ERASED_LETTER
from svcflow.store.query import data_index
from svcflow.store.sqlite.case_rows import CaseRows
from svcflow.store.sqlite.rows import ts
from svcflow.store.sqlite.texts import prune_texts
from svcflow.store.sqlite.writes import Packer, StoredData, conflict, write_history

__all__ = [
    "erase_case_rows",
    "erase_dead_letters",
    "forget_contacts",
    "forget_signals",
    "write_entries",
]

_ERASE_DELIVERIES = (
    "UPDATE deliveries SET subject = ?, body = ?, "
    "address = CASE WHEN role = 'customer' THEN ? ELSE address END, "
    "name = CASE WHEN role = 'customer' THEN NULL ELSE name END, "
    "last_error = CASE WHEN status = 'pending' THEN ? ELSE last_error END, "
    "status = CASE WHEN status = 'pending' THEN 'dead' ELSE status END "
    "WHERE "
)


def erase_case_rows(
    db: sqlite3.Connection, case: Case, data: StoredData, marker: str, rows: CaseRows
) -> int:
    """Write the case's redacted ``data`` as its new revision (refused if the case moved on
    from ``revision - 1`` meanwhile), delete its messages, thread keys and idempotency records,
    and erase its outbox rows to the customer; return how many messages were deleted."""
    updated = db.execute(
        "UPDATE cases SET data = ?, texts = ?, assignee = ?, queue = ?, revision = ? "
        "WHERE id = ? AND revision = ?",
        (data.text, data.texts, *data_index(case.data), case.revision, case.id, case.revision - 1),
    )
    if updated.rowcount == 0:
        conflict(db, case.id, case.revision - 1)
    data.keep(db, case.id, case.revision)
    deleted = db.execute("DELETE FROM messages WHERE case_id = ?", (case.id,))
    for table in ("message_threads", "idempotency"):
        db.execute(f"DELETE FROM {table} WHERE case_id = ?", (case.id,))
    db.execute(_ERASE_DELIVERIES + rows.of_case, (marker, marker, marker, ERASED_DELIVERY, case.id))
    return int(deleted.rowcount or 0)


def write_entries(
    db: sqlite3.Connection, entries: Sequence[HistoryEntry], pack: Packer, rows: CaseRows
) -> None:
    """Write these entries by case and seq: a stored one gets the new actor, payload and
    details (redacted); a new one (the ``erased`` entry) is added. Texts only the old entries
    held are deleted."""
    for entry in entries:
        write_history(db, entry, ts(entry.at), pack, rows, replace=True)
    for case_id in dict.fromkeys(entry.case_id for entry in entries):
        prune_texts(db, case_id, rows)


def forget_contacts(db: sqlite3.Connection, customer_id: str) -> None:
    """The customer keeps its id, locale and segment; its name, birthday and contact points
    go."""
    db.execute("DELETE FROM contact_points WHERE customer_id = ?", (customer_id,))
    db.execute(
        "UPDATE customers SET name = NULL, preferred = NULL, birthday = NULL WHERE id = ?",
        (customer_id,),
    )


def forget_signals(db: sqlite3.Connection, customer_id: str) -> None:
    """The customer's undelivered signals go: their start data can name the customer, and a
    journey started for an erased customer would only reach a marker."""
    db.execute("DELETE FROM signals WHERE customer_id = ?", (customer_id,))


def erase_dead_letters(db: sqlite3.Connection, ids: Sequence[int], marker: str) -> None:
    """The payloads of these dead letters become ``marker``; the rows keep their reason."""
    db.executemany(
        "UPDATE dead_letters SET raw = ?, encoding = ?, status = ? WHERE id = ?",
        [(marker, ERASED_LETTER, ERASED_LETTER, letter) for letter in ids],
    )
