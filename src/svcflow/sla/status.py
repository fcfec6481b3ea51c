"""``Engine.sla``'s answer: each metric's clock as a person reads it (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from svcflow.sla.clocks import Clock, SlaPolicy

__all__ = ["SlaStatus", "sla_report"]


@dataclass(frozen=True, slots=True)
class SlaStatus:
    """One metric of a case at a moment.

    ``status`` is running, paused, met, breached or cancelled. ``elapsed`` and ``remaining`` are
    business time on ``calendar`` (``remaining`` is negative once breached); ``deadline`` is
    set while the clock runs; ``warnings_fired`` lists the indexes of the metric's warnings that
    fired in this cycle.
    """

    metric: str
    status: str
    cycle: int
    target: str
    calendar: str
    budget: timedelta
    elapsed: timedelta
    remaining: timedelta
    started_at: datetime
    deadline: datetime | None
    breached_at: datetime | None
    warnings_fired: tuple[int, ...]


def sla_report(policy: SlaPolicy, service: Mapping[str, Any], now: datetime) -> list[SlaStatus]:
    """The status of every metric that has started, in the order the workflow declares them."""
    stored = service.get("metrics", {})
    report = []
    for name in policy.metrics:
        if name not in stored:
            continue
        clock = Clock.from_json(stored[name])
        used = policy.used(clock, now)
        target = policy.target_of(name, clock)
        report.append(
            SlaStatus(
                metric=name,
                status=clock.outcome(),
                cycle=clock.cycle,
                target=target.name or target.within.describe(),
                calendar=clock.calendar,
                budget=clock.budget,
                elapsed=used,
                remaining=clock.budget - used,
                started_at=clock.started_at,
                deadline=clock.deadline,
                breached_at=clock.breached_at,
                warnings_fired=clock.warned,
            )
        )
    return report
