"""Stores a test may give a replaced method.

In the build compiled with mypyc (docs/performance.md, "The compiled build") an instance of
``SqliteStore`` takes no attribute its class does not declare, so ``monkeypatch.setattr(store,
"load_case", ...)`` fails there; an instance of a subclass written in Python takes it, and the
compiled store calls the replacement as the pure one does. Tests that replace a method of an
SQLite store open it as :class:`PatchableSqliteStore`.
"""

from __future__ import annotations

from svcflow.store.sqlite import SqliteStore


class PatchableSqliteStore(SqliteStore):
    """``SqliteStore`` unchanged, whose instances take replaced methods in both builds."""
