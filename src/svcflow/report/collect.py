"""Reading a store for the report: every case's history, in one pass.

A SQLite URL must name an existing file: opening a missing one would create an empty store and
report on nothing, which hides a mistyped path (``memory://`` is refused for the same reason).
No engine (and no workflow file) is needed.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from svcflow.errors import StoreError
from svcflow.report.figures import CRISIS_WORKFLOW, Report, compute_report
from svcflow.store.base import Store
from svcflow.store.registry import open_store

__all__ = ["build_report", "open_existing_store"]


def open_existing_store(url: str) -> Store:
    """Open the store at ``url`` for reading. A ``sqlite://`` URL whose file does not exist,
    and ``memory://`` (a new, empty store each time), raise
    :class:`~svcflow.errors.StoreError` instead of giving an empty report."""
    parts = urlsplit(url)
    if parts.scheme == "memory":
        raise StoreError(
            f"{url} opens a new, empty store: report on the engine's own store instead "
            "(build_report(engine.store)), or on a SQLite file"
        )
    if parts.scheme == "sqlite" and not parts.netloc:
        path = Path(parts.path[1:] if parts.path.startswith("/") else parts.path)
        if parts.path and not path.is_file():
            raise StoreError(
                f"no store at {path} ({url}): run `svcflow demo` to create one, or give "
                "--store sqlite:///path/to/cases.db"
            )
    return open_store(url)


def build_report(source: Store | str, crisis_workflow: str = CRISIS_WORKFLOW) -> Report:
    """The KPI report of every case in ``source`` (a store, or a store URL, which is opened
    and closed here). Reads history only: the same history gives the same report."""
    if not isinstance(source, str):
        return compute_report(source.histories(), crisis_workflow)
    store = open_existing_store(source)
    try:
        return compute_report(store.histories(), crisis_workflow)
    finally:
        store.close()
