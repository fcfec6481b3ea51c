"""How the demo's customers answer surveys and how its care team calls them back.

Every satisfaction answer comes with an NPS answer (0-10) drawn from the answer's mood, so the
report's NPS moves with its CSAT. The workflows themselves (their ``signals:``) start the
revisits after a complaint closes with a resolution (``workflows/care_revisit.yaml``) and a
retention callback after an unhappy answer (``workflows/care_retention.yaml``); these plans are
what the care team does in them: the retention team mostly calls within the 24 hours,
sometimes late, and about two thirds of the customers reached stay. Three customers are
known by record (:data:`CARE_CUSTOMERS`): adding them starts their greetings
(``care_greetings.yaml``) and the VIP's quarterly reviews (``care_vip_review.yaml``).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import date
from typing import Any

from svcflow.demo.policy import Plan, Step, by_state, minutes
from svcflow.engine import Engine

__all__ = [
    "CARE_CUSTOMERS",
    "RETENTION_PLAN",
    "REVISIT_PLAN",
    "VIP_REVIEW_PLAN",
    "add_care_customers",
    "nps_answer",
]

_NPS_SATISFIED = (0, 0, 0, 0, 1, 2, 4, 12, 21, 30, 30)
_NPS_UNSATISFIED = (6, 8, 10, 12, 14, 14, 12, 10, 8, 4, 2)
"""Relative weights of the answers 0-10 from a satisfied and an unsatisfied customer."""

OFFERS = (
    "next month's service fee waived",
    "a free upgrade to express delivery for a year",
    "a 10% discount on the next order",
    "a dedicated contact for the next three months",
)
PROBLEMS = (
    "the replacement shows the same fault",
    "the refund has not arrived",
    "the courier missed the delivery again",
)

CARE_CUSTOMERS: tuple[Mapping[str, Any], ...] = (
    {
        "name": "Mei Lin",
        "email": "mei.lin@example.com",
        "segment": "standard",
        "timezone": "Asia/Shanghai",
        "birthday": date(1992, 3, 4),
    },
    {
        "name": "Li Wei",
        "email": "li.wei@example.com",
        "segment": "vip",
        "timezone": "Asia/Shanghai",
        "birthday": date(1980, 3, 8),
        "since": date(2016, 3, 5),
    },
    {
        "name": "Chen Jing",
        "email": "chen.jing@example.com",
        "segment": "standard",
        "timezone": "Europe/London",
        "birthday": date(2000, 2, 29),
        "since": date(2024, 3, 6),
    },
)
"""The customers the demo's host knows by record: Mei Lin's birthday is on Wednesday, Li Wei
is a VIP with a birthday on Sunday and his tenth anniversary on Thursday, Chen Jing (born on
29 February) became a customer on 6 March 2024. Adding them starts their greeting journeys and
Li Wei's quarterly reviews."""


def nps_answer(rng: random.Random, satisfied: bool) -> int:
    """An answer to "how likely are you to recommend us", 0-10, from a customer who is (or is
    not) satisfied."""
    weights = _NPS_SATISFIED if satisfied else _NPS_UNSATISFIED
    return rng.choices(range(11), weights=weights)[0]


def add_care_customers(engine: Engine) -> None:
    """Add :data:`CARE_CUSTOMERS` to the engine's store, which starts their journeys."""
    for fields in CARE_CUSTOMERS:
        record = dict(fields)
        engine.customers.add(record.pop("name"), **record)


def _review_due(data: Mapping[str, Any], rng: random.Random) -> list[Step]:
    manager = f"account_manager-{rng.randrange(1, 4)}"
    satisfied = rng.random() < 0.9
    answer = {"agent": manager, "satisfied": satisfied, "nps": nps_answer(rng, satisfied)}
    return [Step(minutes(rng.uniform(4, 72) * 60), "review_done", answer, actor=manager)]


def _call(rng: random.Random, hours: float) -> Step:
    agent = f"retention-{rng.randrange(1, 6)}"
    after = minutes(hours * 60)
    if rng.random() < 0.2:
        return Step(after, "call_unanswered", {"agent": agent}, actor=agent)
    if rng.random() < 0.65:
        payload = {"agent": agent, "outcome": "saved", "offer": rng.choice(OFFERS)}
    else:
        payload = {"agent": agent, "outcome": "lost", "notes": "moving to a competitor"}
    return Step(after, "call_done", payload, actor=agent)


def _callback_due(data: Mapping[str, Any], rng: random.Random) -> list[Step]:
    hours = rng.uniform(1, 20) if rng.random() < 0.8 else rng.uniform(20, 40)
    return [_call(rng, hours)]


def _trying(data: Mapping[str, Any], rng: random.Random) -> list[Step]:
    return [_call(rng, rng.uniform(3, 24))]


def _revisit(data: Mapping[str, Any], rng: random.Random) -> list[Step]:
    agent = f"care-{rng.randrange(1, 6)}"
    after = minutes(rng.uniform(0.5, 8) * 60)
    roll = rng.random()
    if roll < 0.05:
        problem = {"agent": agent, "problem": rng.choice(PROBLEMS), "satisfied": False}
        payload = {**problem, "nps": nps_answer(rng, False)}
        return [Step(after, "problem_found", payload, actor=agent)]
    if roll < 0.17:
        return [Step(after, "revisit_unanswered", {"agent": agent}, actor=agent)]
    if roll < 0.2:
        return [Step(after, "opt_out", actor="customer")]
    satisfied = rng.random() < 0.92
    answer = {"agent": agent, "satisfied": satisfied, "nps": nps_answer(rng, satisfied)}
    return [Step(after, "revisit_done", answer, actor=agent)]


RETENTION_PLAN: Plan = by_state({"callback_due": _callback_due, "trying": _trying})
"""The retention team's calls (see the module docstring)."""

REVISIT_PLAN: Plan = by_state({"first_revisit": _revisit, "second_revisit": _revisit})
"""The care team's revisit calls."""

VIP_REVIEW_PLAN: Plan = by_state({"review_due": _review_due})
"""The account managers' quarterly reviews."""
