"""How the demo's agents, managers and executives handle a major complaint escalation.

The plan for ``workflows/escalation.yaml``. The owner contacts the customer after a lognormal
number of minutes (median 8, VIP twice as fast), now and then after the 15-minute target. At
each level the owner resolves the case after a lognormal time; when that is longer than the
level's window, the escalation chain moves the case up first and the owner's step is dropped,
which is how cases climb by time. Some owners escalate by hand. On the executive direct line a
senior manager calls the customer within hours and issues the written commitment (usually
within the 24 hours), promising a date a few days out; the case is resolved around then, with
the daily progress reports running meanwhile.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from svcflow.demo.policy import Plan, Step, minutes

__all__ = ["ESCALATES_BY_HAND", "PLAN", "RESOLVE_MEDIAN_HOURS", "plan"]

CONTACT_MEDIAN_MINUTES = 8.0
"""Median minutes until the owner contacts the customer (about 15% exceed the 15 minutes)."""
RESOLVE_MEDIAN_HOURS = {"agent": 2.5, "team_lead": 4.0, "service_manager": 8.0}
"""Median hours each level needs to resolve a case it owns; the chain is often faster."""
ESCALATES_BY_HAND = {"agent": 0.15, "team_lead": 0.1, "service_manager": 0.1}
"""Share of cases each level escalates by hand, within its first hour."""
SPREAD = 0.8
EXECUTIVES = ("Director Li", "Director Wang", "VP Zhang")
RESOLUTIONS = (
    "Replacement delivered and installed by a senior technician",
    "Full refund and a goodwill payment",
    "Repair completed on site; warranty extended by a year",
    "Formal apology and a service review with the staff involved",
)


def _lognormal(rng: random.Random, median: float, spread: float = SPREAD) -> float:
    return rng.lognormvariate(math.log(median), spread)


def _speed(data: Mapping[str, Any]) -> float:
    return 0.5 if data.get("segment") == "vip" else 1.0


def _level(level: str, data: Mapping[str, Any], rng: random.Random) -> list[Step]:
    steps = []
    if data.get("contacted_at") is None:
        delay = _lognormal(rng, CONTACT_MEDIAN_MINUTES, 0.6) * _speed(data)
        steps.append(Step(minutes(delay), "contact_customer", actor=level))
    if rng.random() < ESCALATES_BY_HAND[level]:
        steps.append(Step(minutes(rng.uniform(10, 60)), "escalate", actor=level))
    else:
        hours = _lognormal(rng, RESOLVE_MEDIAN_HOURS[level]) * _speed(data)
        resolution = {"resolution": rng.choice(RESOLUTIONS)}
        steps.append(Step(minutes(hours * 60), "resolve", resolution, actor=level))
    return steps


def _executive_line(data: Mapping[str, Any], rng: random.Random) -> list[Step]:
    executive = rng.choice(EXECUTIVES)
    contact = rng.uniform(0.5, 4) * 60
    commit = contact + _lognormal(rng, 8.0, 0.7) * 60  # about 10% after the 24 hours
    since = data.get("level_since")
    start = since if isinstance(since, datetime) else datetime.fromisoformat(str(since))
    promised = start + timedelta(minutes=commit) + timedelta(days=rng.uniform(2, 5))
    commitment = {
        "commitment": rng.choice(RESOLUTIONS),
        "signed_by": executive,
        "promised_by": promised.isoformat(),
    }
    return [
        Step(minutes(contact), "contact_customer", {"executive": executive}, actor=executive),
        Step(minutes(commit), "issue_commitment", commitment, actor=executive),
    ]


def _committed(data: Mapping[str, Any], rng: random.Random) -> list[Step]:
    resolution = {"resolution": str(data.get("commitment") or rng.choice(RESOLUTIONS))}
    hours = rng.uniform(24, 130)  # mostly by the promised date, now and then after it
    return [Step(minutes(hours * 60), "resolve", resolution, actor=str(data.get("signed_by")))]


def plan(state: str, data: Mapping[str, Any], rng: random.Random) -> list[Step]:
    """The escalation's next steps after entering ``state`` (see the module docstring)."""
    if state in ("agent_handling", "team_lead", "service_manager"):
        level = "agent" if state == "agent_handling" else state
        return _level(level, data, rng)
    if state == "executive_line":
        return _executive_line(data, rng)
    if state == "committed":
        return _committed(data, rng)
    return []  # resolved closes by its own timer after 48 hours


PLAN: Plan = plan
