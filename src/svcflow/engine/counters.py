"""What an engine has committed since it started, counted in memory for monitoring.

Every committed change passes :meth:`EngineCounters.committed`: one event per history entry
(by workflow and kind: ``started``, ``transition``, ``timer``, ``sla``, ``message`` ...), and the
SLA warnings and breaches that entry recorded (by workflow and metric). The counts start at zero
with the process, as Prometheus counters do; :mod:`svcflow.engine.metrics` exposes them. No
dependency and no I/O: counting costs a lock and a dictionary update per commit.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping

from svcflow.records import Case, HistoryEntry

__all__ = ["EngineCounters"]


class EngineCounters:
    """Thread-safe counts of committed events, SLA warnings and SLA breaches."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: Counter[tuple[str, str]] = Counter()
        self._warnings: Counter[tuple[str, str]] = Counter()
        self._breaches: Counter[tuple[str, str]] = Counter()

    def committed(self, case: Case, entry: HistoryEntry) -> None:
        """Count one committed history entry of ``case``."""
        with self._lock:
            self._events[case.workflow, entry.kind] += 1
            if entry.kind != "sla":  # warnings and breaches are recorded when their timer
                return  # fires; a later stop repeats "breached" as the clock's outcome
            for event in entry.details.get("sla", ()):
                key = (case.workflow, str(event.get("metric", "")))
                if event.get("event") == "warned":
                    self._warnings[key] += 1
                elif event.get("event") == "breached":
                    self._breaches[key] += 1

    def events(self) -> Mapping[tuple[str, str], int]:
        """Committed events by (workflow, history kind)."""
        with self._lock:
            return dict(self._events)

    def sla_warnings(self) -> Mapping[tuple[str, str], int]:
        """SLA warnings by (workflow, metric)."""
        with self._lock:
            return dict(self._warnings)

    def sla_breaches(self) -> Mapping[tuple[str, str], int]:
        """SLA breaches by (workflow, metric)."""
        with self._lock:
            return dict(self._breaches)
