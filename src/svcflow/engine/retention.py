"""Retention: which closed cases and dead letters have been kept long enough, and deleting them.

A case is *closed* when its state is final in the workflow version it runs on; it closed at its
last committed event (``updated_at``). How long it is kept comes from the caller
(``older_than``) or else from the workflow's ``retention: {closed_cases: ...}``; a workflow
without one keeps its closed cases. Open cases are never purged.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NamedTuple

from svcflow.errors import UnknownWorkflow
from svcflow.records import Case
from svcflow.store.base import Store

__all__ = [
    "DEAD_LETTER_PAGE",
    "PurgeReport",
    "closed_cases_due",
    "expired_dead_letters",
    "unknown_is_kept",
]

DEAD_LETTER_PAGE = 500
"""How many dead letters a dry run reads at a time while it counts expired ones."""


class PurgeReport(NamedTuple):
    """What ``Engine.purge`` deleted (or, with ``dry_run``, would delete)."""

    cases: tuple[str, ...]
    dead_letters: int
    dry_run: bool


def closed_cases_due(
    store: Store,
    final_states: Callable[[str, int], frozenset[str] | None],
    retention: Callable[[str], timedelta | None],
    now: datetime,
    older_than: timedelta | None,
) -> list[str]:
    """Ids of the closed cases whose retention ran out by ``now``, in case-id order.

    ``final_states(workflow, version)`` gives a version's final states (None when the version
    is unknown: such cases are kept); ``retention(workflow)`` the workflow's own period.
    """
    due: list[str] = []
    for case in store.find_cases():
        period = older_than if older_than is not None else retention(case.workflow)
        if period is None or case.updated_at >= now - period:
            continue
        if _closed(case, final_states):
            due.append(case.id)
    return sorted(due)


def _closed(case: Case, final_states: Callable[[str, int], frozenset[str] | None]) -> bool:
    finals = final_states(case.workflow, case.version)
    return finals is not None and case.state in finals


def expired_dead_letters(store: Store, received_before: datetime) -> int:
    """How many dead letters were received before ``received_before``: counted page by page,
    so a large backlog is never loaded at once."""
    count, after = 0, 0
    while page := store.dead_letters(None, after=after, limit=DEAD_LETTER_PAGE):
        count += sum(1 for letter in page if letter.received_at < received_before)
        after = page[-1].id
    return count


def unknown_is_kept(lookup: Callable[[], frozenset[str]]) -> frozenset[str] | None:
    """``lookup()``, or None when the workflow version is unknown (its cases are kept)."""
    try:
        return lookup()
    except UnknownWorkflow:
        return None
