"""How simulated bots, agents and customers act on an instant-message conversation.

The plan for ``workflows/im_first_response.yaml``: the bot settles about 80% of routine questions
within seconds of its automatic reply (complaints rarely); otherwise a person takes over after a
lognormal number of seconds, mostly under the 30-second target and sometimes late; some
customers go silent (the workflow's idle timer closes the chat) and some of those reopen it; the
agent logs a complaint when the conversation is one (flagged at intake, or 40% of the others a
person takes over); a logged complaint gets progress notices and is resolved in hours, now and
then after 24 hours; about 70% of customers answer the satisfaction survey.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from svcflow.demo.care import nps_answer
from svcflow.demo.policy import Plan, Step, minutes

__all__ = [
    "AGENTS",
    "BOT_RESOLVES_COMPLAINT",
    "BOT_RESOLVES_ROUTINE",
    "PLAN",
    "SURVEY_ANSWERED",
    "TAKEOVER_MEDIAN_SECONDS",
    "plan",
]

BOT_RESOLVES_ROUTINE = 0.8
"""Share of routine questions the bot settles on its own (the domain brief's ~80%)."""
BOT_RESOLVES_COMPLAINT = 0.1
"""Share of complaints the bot's answer settles."""
TAKEOVER_MEDIAN_SECONDS = 14.0
"""Median seconds until a person takes over; with ``TAKEOVER_SPREAD`` about 10% exceed 30 s."""
TAKEOVER_SPREAD = 0.6
VIP_TAKEOVER_FACTOR = 0.5
"""VIP conversations are picked up twice as fast (priority support)."""
TURNS_OUT_A_COMPLAINT = 0.4
"""Share of conversations not flagged as complaints that the agent logs as one (the bot could
not settle them because something went wrong)."""
GOES_SILENT = 0.12
"""Share of customers who stop answering while a person holds the chat."""
REOPENS_AFTER_SILENCE = 0.3
REOPENS_AFTER_RESOLUTION = 0.05
SURVEY_ANSWERED = 0.7
SATISFIED = 0.88
COMPLAINT_MEDIAN_HOURS = 6.0
"""Median hours to resolve a logged complaint; about 5% take longer than 24 hours."""
COMPLAINT_SPREAD = 0.85

AGENTS = tuple(f"agent-{number:02d}" for number in range(1, 13))


def seconds(value: float) -> timedelta:
    """A delay of ``value`` seconds (at least one)."""
    return timedelta(seconds=max(value, 1.0))


def plan(state: str, data: Mapping[str, Any], rng: random.Random) -> list[Step]:
    """The steps people take after an IM conversation entered ``state`` (see module docs)."""
    if state == "bot_answering":
        return _bot_answering(data, rng)
    if state == "awaiting_agent":
        agent = str(data.get("assignee") or rng.choice(AGENTS))
        return [_take_over(data, rng, agent, context=None)]
    if state == "with_agent":
        return _with_agent(data, rng)
    if state == "complaint_open":
        return _complaint_open(str(data.get("assignee") or "agent"), rng)
    if state == "idle":
        if rng.random() < REOPENS_AFTER_SILENCE:
            return [Step(minutes(rng.uniform(15, 20 * 60)), "reopen", actor="customer")]
        return []
    if state == "resolved":
        return _resolved(data, rng)
    return []


def _bot_answering(data: Mapping[str, Any], rng: random.Random) -> list[Step]:
    settles = BOT_RESOLVES_COMPLAINT if data.get("is_complaint") else BOT_RESOLVES_ROUTINE
    if rng.random() < settles:
        return [Step(seconds(rng.uniform(3, 12)), "bot_resolved", actor="bot")]
    question = str(data.get("question") or "a question")
    context = f"Bot could not settle it. Customer asked: {question}"
    take_over = _take_over(data, rng, rng.choice(AGENTS), context)
    asks = Step(
        take_over.after * rng.uniform(0.2, 0.8),  # while still waiting for the person
        "customer_message",
        {"last_message": "That does not answer my question, I would like to talk to a person."},
        actor="customer",
    )
    return [asks, take_over]


def _take_over(
    data: Mapping[str, Any], rng: random.Random, agent: str, context: str | None
) -> Step:
    median = TAKEOVER_MEDIAN_SECONDS
    if data.get("segment") == "vip":
        median *= VIP_TAKEOVER_FACTOR
    delay = rng.lognormvariate(math.log(median), TAKEOVER_SPREAD)
    payload = {"agent": agent} if context is None else {"agent": agent, "context": context}
    return Step(seconds(delay), "hand_over", payload, actor=agent)


def _with_agent(data: Mapping[str, Any], rng: random.Random) -> list[Step]:
    agent = str(data.get("assignee") or "agent")
    if rng.random() < GOES_SILENT:
        return []
    reply = Step(
        minutes(rng.uniform(0.5, 3)),
        "customer_message",
        {"last_message": "Thanks, here are the details you asked for."},
        actor="customer",
    )
    if data.get("is_complaint") or rng.random() < TURNS_OUT_A_COMPLAINT:
        summary = str(data.get("question") or "Complaint raised in chat")[:120]
        logged = Step(
            after=minutes(rng.uniform(3, 8)),
            trigger="log_complaint",
            payload={"summary": summary},
            actor=agent,
        )
        return [reply, logged]
    resolution = "Answered in the chat"
    done = Step(
        after=minutes(rng.uniform(4, 9)),
        trigger="resolve",
        payload={"resolution": resolution},
        actor=agent,
    )
    return [reply, done]


def _complaint_open(agent: str, rng: random.Random) -> list[Step]:
    hours = rng.lognormvariate(math.log(COMPLAINT_MEDIAN_HOURS), COMPLAINT_SPREAD)
    steps = [
        Step(
            after=minutes(hours * 60 * share),
            trigger="progress",
            payload={"progress_note": note},
            actor=agent,
        )
        for share, note in ((0.3, "We are checking your order"), (0.7, "A solution is on its way"))
    ]
    resolution = {"resolution": rng.choice(("Replacement sent", "Refund issued", "Repair booked"))}
    steps.append(
        Step(after=minutes(hours * 60), trigger="resolve", payload=resolution, actor=agent)
    )
    return steps


def _resolved(data: Mapping[str, Any], rng: random.Random) -> list[Step]:
    chance = rng.random()
    if not data.get("reopen_count") and chance < REOPENS_AFTER_RESOLUTION:
        return [Step(minutes(rng.uniform(30, 36 * 60)), "reopen", actor="customer")]
    if rng.random() >= SURVEY_ANSWERED:
        return []
    satisfied = rng.random() < SATISFIED
    score = rng.choice((4, 5)) if satisfied else rng.randint(1, 3)
    answer = {"satisfied": satisfied, "score": score, "nps": nps_answer(rng, satisfied)}
    return [Step(minutes(rng.uniform(2, 48 * 60)), "survey_answered", answer, actor="customer")]


PLAN: Plan = plan
"""The IM first-response plan, as the demo's plan-per-workflow interface expects."""
