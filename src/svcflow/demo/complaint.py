"""How the demo's agents, managers and customers handle a complaint (``workflows/complaint.yaml``).

Most complaints are acknowledged within the 15 minutes, some are resolved at first contact,
most go through assessment, 2-3 options and the customer's choice; some customers go quiet,
some choices need an approval, a few customers are unhappy at the callback or reopen, and
urgent or VIP complaints are sometimes raised to the escalation workflow.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from svcflow.demo.care import nps_answer
from svcflow.demo.policy import Plan, Step, by_state, minutes

__all__ = ["PLAN", "plan"]

REMEDIES = (
    "Replacement sent by express courier",
    "Repair at home within 48 hours",
    "Full refund",
    "5% credit on the next order",
    "Apology and a service review with the agent's supervisor",
)
IMPACTS = {"high": 15, "medium": 60, "low": 25}
URGENCIES = {"high": 25, "medium": 55, "low": 20}


def _hours(rng: random.Random, low: float, high: float) -> float:
    return rng.uniform(low, high) * 60


def _facts(data: Mapping[str, Any], rng: random.Random) -> dict[str, str]:
    return {
        "who": str(data["customer"]),
        "what": str(data.get("category") or "other").replace("_", " "),
        "when": "this week",
        "where": str(data.get("channel") or "phone"),
        "why": rng.choice(["defect", "delay", "rudeness", "billing error", "wrong item"]),
        "how": "reported by the customer",
    }


def _choice(rng: random.Random) -> dict[str, Any]:
    roll = rng.random()
    if roll < 0.72:
        return {"chosen_option": rng.choice(REMEDIES), "compensation_percent": 5.0}
    if roll < 0.92:
        return {"chosen_option": "20% compensation", "compensation_percent": 20.0}
    if roll < 0.97:
        return {"chosen_option": "Full refund and 30% compensation", "compensation_percent": 30.0}
    return {
        "chosen_option": "A goodwill payment outside the catalogue",
        "compensation_percent": 10.0,
        "standard_remedy": False,
    }


def _received(data: Mapping[str, Any], rng: random.Random) -> list[Step]:
    delay = rng.lognormvariate(1.6, 0.7) * (0.5 if data.get("segment") == "vip" else 1.0)
    return [Step(minutes(delay), "acknowledge", {"assignee": f"agent-{rng.randrange(1, 60)}"})]


def _acknowledged(data: Mapping[str, Any], rng: random.Random) -> list[Step]:
    roll = rng.random()
    if roll < 0.2:
        return [Step(minutes(rng.uniform(3, 15)), "resolve", {"resolution": rng.choice(REMEDIES)})]
    if roll < 0.3:
        return [Step(minutes(rng.uniform(5, 30)), "ask_customer")]
    payload = {
        "facts": _facts(data, rng),
        "impact": rng.choices(list(IMPACTS), weights=list(IMPACTS.values()))[0],
        "urgency": rng.choices(list(URGENCIES), weights=list(URGENCIES.values()))[0],
    }
    return [Step(minutes(rng.uniform(5, 25)), "assess", payload)]


def _assessed(data: Mapping[str, Any], rng: random.Random) -> list[Step]:
    roll = rng.random()
    if roll < 0.55:
        return [Step(minutes(rng.uniform(10, 60)), "investigate")]
    if roll < 0.9:
        return [Step(minutes(_hours(rng, 0.5, 4)), "propose", _options(rng))]
    return [Step(minutes(rng.uniform(10, 60)), "ask_customer")]


def _options(rng: random.Random) -> dict[str, Any]:
    return {"options": rng.sample(REMEDIES, rng.choice((2, 3)))}


def _investigating(data: Mapping[str, Any], rng: random.Random) -> list[Step]:
    steps: list[Step] = []
    if (data.get("segment") == "vip" or data.get("priority") == "urgent") and rng.random() < 0.25:
        steps.append(Step(minutes(rng.uniform(20, 120)), start="escalation", data=_raised(data)))
    if data.get("exception_reason") and not data.get("exception_report"):
        steps.append(_report(rng))
    roll = rng.random()
    if roll < 0.75:
        steps.append(Step(minutes(_hours(rng, 1, 26)), "propose", _options(rng)))
    elif roll < 0.9:
        steps.append(
            Step(minutes(_hours(rng, 0.5, 12)), "resolve", {"resolution": rng.choice(REMEDIES)})
        )
    else:
        steps.append(Step(minutes(_hours(rng, 0.5, 6)), "ask_customer"))
    return steps


def _raised(data: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("customer", "channel", "segment", "category", "assignee")
    return {key: data[key] for key in keys if data.get(key) is not None}


def _report(rng: random.Random) -> Step:
    text = "Outside the standard path: reviewed with the team lead, root cause logged (5-Why)."
    payload = {"exception_report": text}
    return Step(minutes(_hours(rng, 1, 28)), "file_exception_report", payload, anytime=True)


def _waiting(data: Mapping[str, Any], rng: random.Random) -> list[Step]:
    if rng.random() < 0.12:
        return []  # the customer goes silent; the workflow closes the case after 7 days
    return [Step(minutes(_hours(rng, 0.5, 30)), "customer_replied", actor="customer")]


def _proposed(data: Mapping[str, Any], rng: random.Random) -> list[Step]:
    return [Step(minutes(_hours(rng, 0.3, 10)), "choose", _choice(rng), actor="customer")]


def _awaiting_approval(data: Mapping[str, Any], rng: random.Random) -> list[Step]:
    steps = [_report(rng)] if data.get("exception_reason") else []
    if rng.random() < 0.1:
        refuser = f"{data['approver']}-1"
        steps.append(Step(minutes(_hours(rng, 0.5, 6)), "refuse", actor=refuser))
    else:
        approver = f"{data.get('approver') or 'team_lead'}-{rng.randrange(1, 6)}"
        steps.append(Step(minutes(_hours(rng, 0.5, 6)), "approve", actor=approver))
    return steps


def _resolved(data: Mapping[str, Any], rng: random.Random) -> list[Step]:
    roll = rng.random()
    if roll < 0.04:
        return [Step(minutes(_hours(rng, 1, 20)), "reopen", actor="customer")]
    if roll < 0.5:
        return [Step(minutes(_hours(rng, 2, 22)), "callback_done", _callback(rng))]
    return []  # the callback is made once it is due (follow_up)


def _callback(rng: random.Random) -> dict[str, Any]:
    satisfied = rng.random() < 0.9
    return {
        "satisfied": satisfied,
        "coupon": satisfied and rng.random() < 0.25,
        "nps": nps_answer(rng, satisfied),
    }


def _follow_up(data: Mapping[str, Any], rng: random.Random) -> list[Step]:
    return [Step(minutes(_hours(rng, 0.5, 30)), "callback_done", _callback(rng))]


_BY_STATE = {
    "received": _received,
    "acknowledged": _acknowledged,
    "assessed": _assessed,
    "investigating": _investigating,
    "waiting_on_customer": _waiting,
    "solution_proposed": _proposed,
    "awaiting_approval": _awaiting_approval,
    "resolved": _resolved,
    "follow_up": _follow_up,
}


plan = by_state(_BY_STATE)
"""The complaint's next steps after entering a state (see the module docstring)."""

PLAN: Plan = plan
