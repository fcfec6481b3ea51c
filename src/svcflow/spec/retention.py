"""``retention:``: how long a workflow's closed cases are kept before a purge deletes them."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, field_validator

from svcflow.spec.actions import Duration, Strict

__all__ = ["RetentionSpec"]


class RetentionSpec(Strict):
    """``closed_cases``: how long after a case reached a final state (its last event) it is
    kept; ``Engine.purge`` then deletes it with its history, timers, outbox rows and messages.
    Without ``retention:`` closed cases are kept until someone purges them explicitly."""

    closed_cases: Duration = Field(
        description="How long a closed case is kept after its last event, e.g. 400d or 57w."
    )

    @field_validator("closed_cases")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("closed_cases must be longer than 0, e.g. 400d")
        return value
