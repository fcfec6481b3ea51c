"""``svcflow serve --demo``: the console on the demo store, with a clock the console advances.

The command runs a short demo (the seeded traffic of ``svcflow demo``, fewer contacts) into a
new SQLite file, so the KPI report and the workflow pages have a history to show, then opens an
engine on that store with a :class:`~svcflow.clock.ManualClock` at the moment the demo ended
and starts :data:`LIVE_COMPLAINTS`: new complaints whose 15-minute first response is running,
so the SLA board has cases at risk the moment it opens. "Advance the clock" in the header then
moves the manual clock and fires what came due, and the board shows them breach.
"""

from __future__ import annotations

from datetime import timedelta

from svcflow.clock import ManualClock
from svcflow.engine import Engine
from svcflow.records import Case
from svcflow.serve.console.render import ConsoleSettings

__all__ = ["DEMO_SETTINGS", "LIVE_COMPLAINTS", "start_live_cases"]

LIVE_COMPLAINTS = (
    {"customer": "Li Wei", "channel": "app", "segment": "vip", "category": "product_quality"},
    {"customer": "Zhang Min", "channel": "email", "category": "logistics"},
    {"customer": "Wang Fang", "channel": "social", "segment": "churn_risk"},
    {"customer": "Chen Jie", "channel": "phone", "category": "after_sales"},
)
"""The complaints open when the demo console starts (data of the shipped ``complaint``)."""

DEMO_SETTINGS = ConsoleSettings(at_risk_within=timedelta(hours=1), clock_advance=True)
"""The demo console: at risk within an hour, cases grouped by their ``queue`` (the shipped
complaint, crisis and instant-message workflows keep one), and "advance the clock" offered."""


def start_live_cases(engine: Engine, actor: str = "demo") -> list[Case]:
    """Start :data:`LIVE_COMPLAINTS` a few minutes apart (the clock moves if it is manual)."""
    started = []
    for number, data in enumerate(LIVE_COMPLAINTS):
        if number and isinstance(engine.clock, ManualClock):
            engine.clock.advance(timedelta(minutes=3))
        started.append(engine.start("complaint", data, actor=actor))
    return started
