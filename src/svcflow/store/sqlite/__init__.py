"""The default store: one SQLite file in WAL mode, migrated automatically.

Split by concern: :mod:`.schema` (the tables and their migrations), :mod:`.writes` (one helper
per table for a :class:`~svcflow.store.base.CaseChange`), :mod:`.rows` (rows to records) and
:mod:`.store` (connections, transactions and the reads).
"""

from __future__ import annotations

from svcflow.store.sqlite.schema import SCHEMA_VERSION
from svcflow.store.sqlite.store import SqliteStore

__all__ = ["SCHEMA_VERSION", "SqliteStore"]
