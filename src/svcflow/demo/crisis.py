"""How the demo's crisis team handles a crisis, from declaration to the care plan.

The plan for ``workflows/crisis.yaml``. The duty officer alerts the crisis team after a
lognormal number of minutes (median 18: mostly within the 30 minutes, sometimes late); on social
media the social-care team posts a first reply (median 15 minutes) and updates afterwards; the
team adopts the response plan (median 35 minutes after the alert, so now and then past the
1 hour). A statement is drafted, every approver of the tier's chain approves it in turn, and it
is published; compensation is offered within hours and paid days later; the incident is
resolved within one or two days. The care plan's monthly callbacks are the workflow's own
timers; the post-incident review is done within about 5-16 days (so sometimes late).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any

from svcflow.demo.policy import Plan, Step, by_state, minutes

__all__ = ["ALERT_MEDIAN_MINUTES", "PLAN", "SOCIAL_REPLY_MEDIAN_MINUTES", "plan"]

ALERT_MEDIAN_MINUTES = 18.0
"""Median minutes from the crisis to the internal alert (about 10% after the 30 minutes)."""
SOCIAL_REPLY_MEDIAN_MINUTES = 15.0
PLAN_MEDIAN_MINUTES = 35.0
"""Median minutes from the alert to the adopted response plan."""
SPREAD = 0.4


def _lognormal(rng: random.Random, median: float, spread: float = SPREAD) -> float:
    return rng.lognormvariate(math.log(median), spread)


def _on_social(data: Mapping[str, Any]) -> bool:
    return bool(data.get("media", "none") != "none")


def _declared(data: Mapping[str, Any], rng: random.Random) -> list[Step]:
    alert = _lognormal(rng, ALERT_MEDIAN_MINUTES)
    steps = [Step(minutes(alert), "alert", actor="crisis_duty_officer")]
    reply = _lognormal(rng, SOCIAL_REPLY_MEDIAN_MINUTES, 0.5)
    if _on_social(data) and reply < alert:  # later replies are planned once alerted
        steps.append(Step(minutes(reply), "reply_social", actor="social_care"))
    return steps


def _alerted(data: Mapping[str, Any], rng: random.Random) -> list[Step]:
    plan_text = "Contain the incident, inform the affected customers hourly, prepare redress."
    steps = [
        Step(
            minutes(_lognormal(rng, PLAN_MEDIAN_MINUTES)),
            "adopt_plan",
            {"plan": plan_text},
            actor=str(data.get("decision_authority") or "crisis_team"),
        )
    ]
    if _on_social(data) and not data.get("social_replies"):
        steps.append(Step(minutes(rng.uniform(1, 20)), "reply_social", actor="social_care"))
    return steps


def _responding(data: Mapping[str, Any], rng: random.Random) -> list[Step]:
    draft = rng.uniform(10, 40)
    statement = f"We are sorry for the {str(data.get('event', 'incident')).replace('_', ' ')}: "
    statement += "the service is being restored and every affected customer will be compensated."
    steps = [Step(minutes(draft), "draft_statement", {"statement": statement}, actor="pr_writer")]
    approved = draft
    for approver in data.get("approvers_needed") or ():
        approved += rng.uniform(5, 45)
        steps.append(Step(minutes(approved), "approve_statement", actor=approver))
    steps.append(Step(minutes(approved + rng.uniform(5, 20)), "publish_statement", actor="pr"))
    if _on_social(data):
        for _ in range(rng.randint(2, 4)):
            update = rng.uniform(30, 8 * 60)
            steps.append(Step(minutes(update), "reply_social", actor="social_care"))
    steps.append(Step(minutes(rng.uniform(2, 8) * 60), "offer_compensation", actor="service"))
    resolve = max(approved + 60, rng.uniform(12, 40) * 60)
    steps.append(Step(minutes(resolve), "resolve_incident", actor="crisis_team"))
    return steps


def _care_plan(data: Mapping[str, Any], rng: random.Random) -> list[Step]:
    steps = []
    offer = 0.0
    if data.get("compensation_status") == "none":
        offer = rng.uniform(1, 24) * 60
        steps.append(Step(minutes(offer), "offer_compensation", actor="service"))
    if data.get("compensation_status") != "paid":
        paid = offer + rng.uniform(1, 5) * 24 * 60
        steps.append(Step(minutes(paid), "pay_compensation", actor="finance"))
    return steps


def _review(data: Mapping[str, Any], rng: random.Random) -> list[Step]:
    summary = {"review_summary": "Timeline reviewed against the 30-minute and 1-hour marks."}
    days = rng.uniform(5, 16)
    return [Step(minutes(days * 24 * 60), "complete_review", summary, actor="crisis_team")]


_BY_STATE = {
    "declared": _declared,
    "alerted": _alerted,
    "responding": _responding,
    "care_plan": _care_plan,
    "review": _review,
}


plan = by_state(_BY_STATE)
"""The crisis's next steps after entering a state (see the module docstring)."""

PLAN: Plan = plan
