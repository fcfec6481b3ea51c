"""Turning a SQLite store file back into an older schema version, to test its migration."""

from __future__ import annotations

import sqlite3

__all__ = ["undo_case_index"]

STEP_9_INDEXES = (
    "cases_by_created_id",
    "cases_by_updated",
    "cases_by_assignee",
    "cases_by_queue",
    "cases_by_customer_created",
    "cases_by_sla_due",
    "cases_by_sla_breached",
)


def undo_case_index(db: sqlite3.Connection) -> None:
    """Remove what schema step 9 added (the columns and indexes queries use), leaving the
    file as version 8 made it."""
    for index in STEP_9_INDEXES:
        db.execute(f"DROP INDEX {index}")
    for column in ("assignee", "queue", "sla_due", "sla_breached"):
        db.execute(f"ALTER TABLE cases DROP COLUMN {column}")
    db.execute("UPDATE schema_version SET version = 8")
