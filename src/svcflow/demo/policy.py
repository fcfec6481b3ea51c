"""How the demo's simulated people act on a case: one plan function per workflow.

A plan function is called each time a case of its workflow starts or enters a state (after a
person's event or a timer). It returns what simulated people do next, each step after a delay.
The demo fires the steps in time order on the simulated clock; a step whose trigger the case no
longer accepts by then (a timer moved it on) is skipped. Plans are pure: they read the state, the
case's data and the seeded random generator, so a seed reproduces the whole week.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

__all__ = ["Plan", "StatePlan", "Step", "by_state", "minutes"]


@dataclass(frozen=True)
class Step:
    """Something a simulated person does ``after`` the case entered its state.

    Either fire ``trigger`` (with ``payload``) on the case, or, with ``start``, start a new case
    of that workflow with ``data`` (an escalation or crisis case raised from this one, whose
    ``link`` field names this case: ``parent_case``, or ``source_case`` for the care cases that
    follow it). A step is dropped when the case has left the state it was planned in, unless
    ``anytime`` (work done alongside the case, such as filing a report).
    """

    after: timedelta
    trigger: str | None = None
    payload: Mapping[str, Any] | None = None
    actor: str = "agent"
    start: str | None = None
    data: Mapping[str, Any] | None = None
    anytime: bool = False
    link: str = "parent_case"


Plan = Callable[[str, Mapping[str, Any], random.Random], list[Step]]
"""``plan(state, data, rng)``: the steps people take after a case entered ``state``."""


StatePlan = Callable[[Mapping[str, Any], random.Random], list[Step]]
"""What people do in one state: ``act(data, rng)``."""


def by_state(acts: Mapping[str, StatePlan]) -> Plan:
    """A plan that looks up what people do by the state entered; nothing in other states."""

    def plan(state: str, data: Mapping[str, Any], rng: random.Random) -> list[Step]:
        act = acts.get(state)
        return act(data, rng) if act else []

    return plan


def minutes(value: float) -> timedelta:
    """A delay of ``value`` minutes (at least one second), for plans drawing random delays."""
    return timedelta(minutes=max(value, 1 / 60))
