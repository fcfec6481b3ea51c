"""How the rows of ``history``, ``timers``, ``notifications`` and ``deliveries`` name their case.

A case's id is 32 characters, and those four tables held it in every row and in every entry
of their case indexes: about 1 KB of each SQLite case after start and 3 events (issue 16).
Since schema step 18 the SQLite store names the case there by the case row's integer key
(``cases.ref``, the rowid, kept through ``VACUUM`` as an ``INTEGER PRIMARY KEY``): a column
``case_ref``, a few bytes. Callers keep passing and getting case ids; the statements turn
one into the other with a look-up in ``cases`` (its id index finds the key, its rowid the id).

The PostgreSQL store shares the statements and keeps its ``case_id`` text columns
(:data:`BY_ID`), so the SQL text of each statement comes from the :class:`CaseRows` a store
holds.
"""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

from svcflow.store.sqlite.history_keys import KEYED, PLAIN, HistorySql

__all__ = ["BY_ID", "BY_KNOWN_REF", "BY_REF", "CaseRows"]


class CaseRows(NamedTuple):
    """The SQL terms naming a case in a table of its rows. ``column`` is the table's column;
    ``value`` is what that column holds for a case id parameter (``?``); ``history`` the
    statements of ``history``, whose rows are keyed otherwise (:mod:`.history_keys`)."""

    column: str
    value: str
    case_id_of_ref: str | None
    history: HistorySql = PLAIN

    @property
    def of_case(self) -> str:
        """A WHERE term: the rows of the case whose id is the parameter."""
        return f"{self.column} = {self.value}"

    def of_cases(self, marks: str) -> str:
        """A WHERE term: the rows of the cases whose ids are the parameters ``marks``."""
        if self.case_id_of_ref is None:
            return f"{self.column} IN ({marks})"
        return f"{self.column} IN (SELECT ref FROM cases WHERE id IN ({marks}))"

    def read(self, columns: str, table: str) -> str:
        """``columns`` (a comma-separated list naming ``case_id``) as a SELECT list of
        ``table`` that reads the case's id there."""
        if self.case_id_of_ref is None:
            return columns
        found = self.case_id_of_ref.format(table=table)
        return ", ".join(found if name == "case_id" else name for name in columns.split(", "))

    def insert(self, table: str, columns: str, fixed: tuple[tuple[str, str], ...] = ()) -> str:
        """``INSERT INTO table (columns) VALUES (...)``: a parameter for each column but
        ``case_id`` (the case's id, turned into :attr:`column`) and those ``fixed`` gives
        SQL for."""
        return _insert(self, table, columns, fixed)


@cache
def _insert(rows: CaseRows, table: str, columns: str, fixed: tuple[tuple[str, str], ...]) -> str:
    given = dict(fixed)
    names = columns.split(", ")
    values = [rows.value if name == "case_id" else given.get(name, "?") for name in names]
    listed = ", ".join(rows.column if name == "case_id" else name for name in names)
    return f"INSERT INTO {table} ({listed}) VALUES ({', '.join(values)})"


BY_ID = CaseRows(column="case_id", value="?", case_id_of_ref=None)
"""Rows holding the case's id (PostgreSQL, and SQLite files before step 18)."""

BY_REF = CaseRows(
    column="case_ref",
    value="(SELECT ref FROM cases WHERE id = ?)",
    case_id_of_ref="(SELECT id FROM cases WHERE ref = {table}.case_ref)",
    history=KEYED,
)
"""Rows holding the case row's integer key (SQLite since schema step 18; history keyed by it
and seq together since step 21)."""

BY_KNOWN_REF = BY_REF._replace(value="?")
"""Rows holding the case row's integer key, bound as the parameter itself: what an event's
commit writes once it knows the key (``write_case`` gives it back), without looking the id up
in ``cases`` again for each row (issue 16: about 3,200 instructions a row). History's
statement for it is ``history.insert_ref``."""
