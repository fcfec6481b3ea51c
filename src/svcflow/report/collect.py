"""Reading a store for the report: every case's history, in one pass.

A SQLite URL must name an existing file: opening a missing one would create an empty store and
report on nothing, which hides a mistyped path (``memory://`` is refused for the same reason).
No engine is needed, and no workflow file: with them, each workflow's ``kpi:`` section says
which SLA metrics time its first response and resolution and what attainment it aims at.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from svcflow.errors import StoreError
from svcflow.report.figures import CRISIS_WORKFLOW, Report, compute_report
from svcflow.spec.kpi import KpiSpec
from svcflow.spec.models import WorkflowSpec
from svcflow.store.base import Store
from svcflow.store.registry import open_store

__all__ = ["build_report", "kpi_sections", "open_existing_store"]


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


def build_report(
    source: Store | str,
    crisis_workflow: str = CRISIS_WORKFLOW,
    kpi: Mapping[str, KpiSpec] | None = None,
) -> Report:
    """The KPI report of every case in ``source`` (a store, or a store URL, which is opened
    and closed here). Reads history only: the same history gives the same report. ``kpi`` is
    each workflow's ``kpi:`` section by workflow id (:func:`kpi_sections` reads them from the
    workflow files)."""
    if not isinstance(source, str):
        return compute_report(source.histories(), crisis_workflow, kpi)
    store = open_existing_store(source)
    try:
        return compute_report(store.histories(), crisis_workflow, kpi)
    finally:
        store.close()


def kpi_sections(workflows: Iterable[WorkflowSpec]) -> dict[str, KpiSpec]:
    """The ``kpi:`` section of each workflow that has one, by id (the newest version's)."""
    newest: dict[str, WorkflowSpec] = {}
    for spec in workflows:
        if spec.workflow not in newest or spec.version > newest[spec.workflow].version:
            newest[spec.workflow] = spec
    return {name: spec.kpi for name, spec in newest.items() if spec.kpi is not None}
