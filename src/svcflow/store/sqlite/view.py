"""What one SQLite connection knows to be current in the file, so that it need not read it again.

An event reads its case back (``load_case``) and, to address a notice to the customer, the
case's inbound messages, right after the same connection committed the case's previous event
(issue 16: 0.875 and 0.375 statements of the 7.375 an event of the shipped complaint ran).
SQLite tells a connection whether any *other* connection (a thread of this process or another
process) committed since it last asked: ``PRAGMA data_version`` changes then, and only then;
the connection's own commits do not change it. So what a connection committed or read stays
true until that number moves, and :meth:`ConnectionView.check` forgets everything when it
does. A write other than a commit of a case (an erasure, a purge, a claim) forgets everything
too (``SqliteStore._write``), and a commit that was refused forgets its case.

The view never answers inside a transaction: a read there must see the transaction's own
writes. A stale revision is still refused by the commit itself (``UPDATE ... WHERE revision``),
whatever any view knew.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from svcflow.records import Case
from svcflow.store.base import CaseChange

__all__ = ["VIEW_SIZE", "ConnectionView", "forget_older_half"]

VIEW_SIZE = 10_000
"""How many cases (and as many cases' messages) a view keeps; past it, it forgets the older
half (:func:`forget_older_half`), so that the cases it worked on last stay known. A view saves
reads of the cases its connection is working on: an event's case, and every case of a
``fire_many`` that goes over the open cases step by step. A bound of 512 (fewer cases on the
heap for the garbage collector to walk) made such a round over 1,000 cases read and decode
every case again: 3,503-5,019 against 5,312-6,928 events/s through ``fire_many`` (issue 16)."""


def forget_older_half(entries: dict[str, Any]) -> None:
    """Forget the half of ``entries`` put there first (a dict keeps the order keys came in;
    a key put again keeps its place), so that the cases that came last stay known."""
    for key in list(islice(entries, len(entries) // 2)):
        del entries[key]


class ConnectionView:
    """The cases and the cases' inbound messages (their stored JSON texts) one connection
    knows to be current, as of the data version it last saw; and ``cursor``, a cursor of that
    connection for the store's own statements whose results are read at once (``BEGIN``,
    ``COMMIT``, the checks, a case's row): ``Connection.execute`` makes a cursor each time.
    """

    __slots__ = ("cases", "cursor", "messages", "version")

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self.cursor = cursor
        self.version = -1
        self.cases: dict[str, Case] = {}
        self.messages: dict[str, tuple[str | bytes, ...]] = {}

    def check(self) -> bool:
        """Whether the view may answer a read now (not inside a transaction); it forgets
        everything first when another connection committed since the last check."""
        if self.cursor.connection.in_transaction:
            return False
        version = self.cursor.execute("PRAGMA data_version").fetchone()[0]
        if version != self.version:
            self.forget()
            self.version = version
        return True

    def forget(self, case_id: str | None = None) -> None:
        """Forget one case (its commit was refused), or everything."""
        if case_id is None:
            self.cases.clear()
            self.messages.clear()
        else:
            self.cases.pop(case_id, None)
            self.messages.pop(case_id, None)

    def read_case(self, case: Case) -> None:
        """``case`` was just read from the file, after a :meth:`check`."""
        if len(self.cases) >= VIEW_SIZE:
            forget_older_half(self.cases)
        self.cases[case.id] = case

    def read_messages(self, case_id: str, texts: tuple[str | bytes, ...]) -> None:
        """The case's messages were just read from the file, after a :meth:`check`."""
        if len(self.messages) >= VIEW_SIZE:
            forget_older_half(self.messages)
        self.messages[case_id] = texts

    def committed(self, change: CaseChange) -> None:
        """This connection committed ``change``: its case is now as the change has it (the
        moments in UTC, as a read gives them), and its messages are known when the view knew
        them before and the change added none (a new case without messages has none)."""
        case = change.case
        if case.created_at.tzinfo is not UTC or case.updated_at.tzinfo is not UTC:
            case = case._replace(created_at=_utc(case.created_at), updated_at=_utc(case.updated_at))
        self.read_case(case)
        if change.messages:
            self.messages.pop(case.id, None)
        elif change.expected_revision is None:
            self.read_messages(case.id, ())


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is UTC else moment.astimezone(UTC)
