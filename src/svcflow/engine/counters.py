"""What an engine has committed since it started, counted in memory for monitoring.

Every committed change passes :meth:`EngineCounters.committed`: one event per history entry
(by workflow and kind: ``started``, ``transition``, ``timer``, ``sla``, ``message`` ...), and the
SLA warnings and breaches that entry recorded (by workflow and metric). The counts start at zero
with the process, as Prometheus counters do; :mod:`svcflow.engine.metrics` exposes them. No
dependency and no I/O: counting an event costs a dictionary look-up and one ``next`` of an
:func:`itertools.count` (which advances atomically, so committing threads take no lock); reading
takes the lock and one ``next`` of each count too, and subtracts the reads made before.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Mapping

from svcflow.records import Case, HistoryEntry

__all__ = ["EngineCounters"]


class EngineCounters:
    """Thread-safe counts of committed events, SLA warnings and SLA breaches."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[tuple[str, str], itertools.count[int]] = {}
        self._reads: Counter[tuple[str, str]] = Counter()  # ``next`` taken by readers
        self._warnings: Counter[tuple[str, str]] = Counter()
        self._breaches: Counter[tuple[str, str]] = Counter()

    def committed(self, case: Case, entry: HistoryEntry) -> None:
        """Count one committed history entry of ``case``."""
        key = (case.workflow, entry.kind)
        count = self._events.get(key)
        if count is None:
            with self._lock:
                count = self._events.setdefault(key, itertools.count())
        next(count)
        if entry.kind != "sla":  # warnings and breaches are recorded when their timer
            return  # fires; a later stop repeats "breached" as the clock's outcome
        with self._lock:
            for event in entry.details.get("sla", ()):
                key = (case.workflow, str(event.get("metric", "")))
                if event.get("event") == "warned":
                    self._warnings[key] += 1
                elif event.get("event") == "breached":
                    self._breaches[key] += 1

    def events(self) -> Mapping[tuple[str, str], int]:
        """Committed events by (workflow, history kind)."""
        with self._lock:
            counted = {}
            for key, count in self._events.items():
                counted[key] = next(count) - self._reads[key]
                self._reads[key] += 1
            return counted

    def sla_warnings(self) -> Mapping[tuple[str, str], int]:
        """SLA warnings by (workflow, metric)."""
        with self._lock:
            return dict(self._warnings)

    def sla_breaches(self) -> Mapping[tuple[str, str], int]:
        """SLA breaches by (workflow, metric)."""
        with self._lock:
            return dict(self._breaches)
