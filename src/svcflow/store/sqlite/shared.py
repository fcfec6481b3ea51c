"""Texts many rows repeat, stored once: the reason of an outbox row that reached nobody.

A notice whose role resolves to nobody leaves an ``undeliverable`` delivery row whose reason is
a :class:`~svcflow.errors.NoRecipient` text: the same words for every case but for the case's
id ("no recipient for role 'customer' on case 3f2a…: the case has no customer …"). Kept in
each row, it was about 200 bytes a row, most of a delivery row (issue 16). The SQLite and
PostgreSQL stores keep it once in ``shared_texts`` with :data:`CASE_MARK` in place of the id;
the row names it by id in its ``reason`` column and leaves ``last_error`` NULL, and reading the
row puts the case's id back (:func:`reason_text`), so the entry read is the one written.

Only reasons of ``undeliverable`` rows are shared: they name a role, the case and a channel,
never a person (an erasure leaves them, as it leaves ``last_error`` of rows that are not
pending). A reason holding :data:`CASE_MARK` itself, or longer than :data:`LONGEST`, stays in
``last_error``. Shared rows are never deleted, so a text a transaction finds stored by another
(committed) transaction keeps its id for ever, and the store remembers it; a text the
transaction stored itself is not remembered (a savepoint or the transaction rolled back would
leave the id to another text): the next transaction finds it.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["CASE_MARK", "LONGEST", "SharedTexts", "reason_text"]

CASE_MARK = "{case}"
"""What stands for the case's id in a shared text."""
LONGEST = 1000
"""Longer reasons stay in their row (a PostgreSQL b-tree entry must fit in a third of a page)."""

_INSERT = "INSERT INTO shared_texts (text) VALUES (?) ON CONFLICT (text) DO NOTHING"
_FIND = "SELECT id FROM shared_texts WHERE text = ?"


def reason_text(shared: str | None, case_id: str) -> str | None:
    """A delivery's reason as written, from the shared text its row names (None: none)."""
    return None if shared is None else shared.replace(CASE_MARK, case_id)


class SharedTexts:
    """The ids of the shared texts a store has found committed (shared by its threads)."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._local = threading.local()

    def begin(self) -> None:
        """A write transaction starts on this thread: the texts an earlier one added are
        committed or gone, and are looked up again."""
        self._local.added = set()

    def shared(self, text: str, case_id: str) -> str | None:
        """``text`` as it would be shared (the case's id marked), or None when it stays in its
        row."""
        if len(text) > LONGEST or CASE_MARK in text or case_id not in text:
            return None
        return text.replace(case_id, CASE_MARK)

    def id_of(self, db: Any, text: str) -> int:
        """The id of the shared ``text`` (a row this transaction adds when there is none)."""
        known = self._ids.get(text)
        if known is not None:
            return known
        added: set[str] = getattr(self._local, "added", set())
        inserted = db.execute(_INSERT, (text,)).rowcount
        row = db.execute(_FIND, (text,)).fetchone()
        assert row is not None  # inserted or found just now, in this transaction
        if inserted:
            added.add(text)
            self._local.added = added
        elif text not in added:  # another transaction's, committed: its id never changes
            self._ids[text] = int(row[0])
        return int(row[0])
