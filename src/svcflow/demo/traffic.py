"""The demo's incoming traffic: who contacts the service desk, when, on which channel, and why.

The mixes come from the domain brief: complaint categories 30/24/15/12/9 (product quality,
service attitude, logistics, after-sales, other); the channels of a multi-channel service
system; the customer segments. Contacts arrive through the week with a daytime peak (a contact
centre's day), and one crisis lands mid-week with a surge of social-media complaints after it.
Everything is drawn from one seeded generator, so a seed reproduces the same week.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "CATEGORY_MIX",
    "CHANNEL_MIX",
    "CRISIS",
    "SEGMENT_MIX",
    "WEEK_START",
    "Arrival",
    "week_of_traffic",
]

WEEK_START = datetime(2026, 3, 1, 16, 0, tzinfo=UTC)
"""Monday 2 March 2026, 00:00 at the service desk (UTC+8, Shanghai)."""

CATEGORY_MIX: Mapping[str, int] = {
    "product_quality": 30,
    "service_attitude": 24,
    "logistics": 15,
    "after_sales": 12,
    "other": 19,  # the brief's "other" 9% plus the 10% its report leaves unnamed
}
CHANNEL_MIX: Mapping[str, int] = {
    "phone": 28,
    "email": 12,
    "chat": 18,
    "app": 15,
    "web": 10,
    "social": 12,
    "branch": 5,
}
SEGMENT_MIX: Mapping[str, int] = {"vip": 6, "potential": 20, "standard": 62, "churn_risk": 12}
IM_CHANNELS = frozenset({"chat", "app"})
"""Contacts on these channels start an instant-message conversation; the rest a complaint."""
IM_COMPLAINT_SHARE = 0.3
"""Of the conversations, the share that open with a complaint (the rest are questions the bot
may settle)."""

HOURLY_WEIGHT = (1, 1, 1, 1, 1, 2, 4, 6, 8, 9, 9, 8, 7, 8, 9, 9, 8, 7, 6, 5, 4, 3, 2, 1)
"""Relative arrivals per hour of the desk's day."""

CRISIS: Mapping[str, Any] = {
    "at": WEEK_START + timedelta(days=2, hours=10),  # Wednesday 10:00 at the desk
    "data": {
        "customer": "Mobile payments outage",
        "event": "system_outage",
        "affected": 12000,
        "media": "social",
        "channel": "social",
        "segment": "standard",
    },
    "surge": 160,
    "surge_hours": 8,
}
"""The week's crisis: a payments outage seen on social media, then a surge of complaints."""


@dataclass(frozen=True, order=True)
class Arrival:
    """A contact: at ``at``, start a case of ``workflow`` with ``data``."""

    at: datetime
    workflow: str = field(compare=False)
    data: Mapping[str, Any] = field(compare=False)


def _pick(generator: random.Random, mix: Mapping[str, int]) -> str:
    return generator.choices(list(mix), weights=list(mix.values()))[0]


def _moment(generator: random.Random, days: int) -> datetime:
    day = generator.randrange(days)
    hour = generator.choices(range(24), weights=HOURLY_WEIGHT)[0]
    return WEEK_START + timedelta(days=day, hours=hour, seconds=generator.randrange(3600))


def _customer(generator: random.Random, number: int, channel: str) -> dict[str, Any]:
    return {
        "customer": f"customer-{number:05d}",
        "channel": channel,
        "segment": _pick(generator, SEGMENT_MIX),
        "category": _pick(generator, CATEGORY_MIX),
    }


def week_of_traffic(generator: random.Random, contacts: int, days: int = 7) -> list[Arrival]:
    """``contacts`` contacts over ``days`` days plus the crisis and its surge, in time order.

    Contacts on chat or the app start an ``im_first_response`` conversation (the bot answers
    first); every other contact starts a ``complaint``. The crisis happens only when the week
    is long enough to reach Wednesday.
    """
    arrivals: list[Arrival] = []
    for number in range(contacts):
        channel = _pick(generator, CHANNEL_MIX)
        workflow = "im_first_response" if channel in IM_CHANNELS else "complaint"
        data = _customer(generator, number, channel)
        if workflow == "im_first_response":
            data["is_complaint"] = generator.random() < IM_COMPLAINT_SHARE
        arrivals.append(Arrival(_moment(generator, days), workflow, data))
    crisis_at: datetime = CRISIS["at"]
    if crisis_at < WEEK_START + timedelta(days=days):
        arrivals.append(Arrival(crisis_at, "crisis", dict(CRISIS["data"])))
        for offset in range(CRISIS["surge"]):
            data = _customer(generator, contacts + offset, "social")
            data["category"] = "other"
            minutes = generator.uniform(5, CRISIS["surge_hours"] * 60)
            arrivals.append(Arrival(crisis_at + timedelta(minutes=minutes), "complaint", data))
    return sorted(arrivals)
