"""The pieces every part of a workflow file shares: names, durations and actions.

Kept apart from :mod:`svcflow.spec.models` so that the service-level models
(:mod:`svcflow.spec.sla`) can use actions without an import cycle.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from svcflow.durations import DURATION_PATTERN, parse_duration

__all__ = [
    "ACTION_KINDS",
    "NAME_PATTERN",
    "WORKFLOW_ID_PATTERN",
    "Action",
    "CallSpec",
    "Duration",
    "Name",
    "NotifySpec",
    "ScheduleSpec",
    "Strict",
]

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
WORKFLOW_ID_PATTERN = r"^[a-z][a-z0-9_-]*$"

Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
"""States, triggers and data fields: letters, digits and underscores, not starting with a digit
(so that every name can be used in a CEL expression)."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _duration(value: Any) -> Any:
    """``15m``-style text; ISO 8601 (``PT15M``, how stored data is written) goes to pydantic."""
    if isinstance(value, str) and not value.lstrip("-").startswith("P"):
        return parse_duration(value)
    return value


Duration = Annotated[
    timedelta,
    BeforeValidator(_duration),
    WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN, "examples": ["15m", "24h"]}),
]


class NotifySpec(Strict):
    """Queue a notification: a template rendered for recipients, delivered after commit."""

    template: str = Field(min_length=1)
    to: list[str] = Field(min_length=1, description="Recipients: 'customer', 'assignee', a role.")
    channel: str | None = None
    urgent: bool = False

    @field_validator("to", mode="before")
    @classmethod
    def _one_recipient(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class ScheduleSpec(Strict):
    """Fire ``trigger`` after ``after``; a durable timer kept in the store.

    The timer belongs to the state the case is in after the step that scheduled it and is
    cancelled when the case leaves that state, unless ``keep: true``.
    """

    trigger: Name
    after: Duration
    keep: bool = False

    @field_validator("after")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("a timer needs a positive delay, e.g. 15m")
        return value


class CallSpec(Strict):
    """Run a plugin's workflow action; the fields it returns are set on the case.

    ``with`` holds its arguments: literals, or ``{expr: '<CEL>'}`` computed from the case.
    """

    action: Name
    arguments: dict[Name, Any] = Field(default_factory=dict, alias="with")


class Action(Strict):
    """Exactly one of: ``set``, ``notify``, ``schedule``, ``cancel``, ``note``, ``fire``,
    ``call``.

    ``fire`` (fire a trigger on the case) is only for SLA warnings and breaches, where no
    transition is already running; the checks refuse it elsewhere.
    """

    set: dict[Name, Any] | None = Field(
        default=None,
        description="Field values; a value written {expr: '<CEL>'} is computed from the case.",
    )
    notify: NotifySpec | None = None
    schedule: ScheduleSpec | None = None
    cancel: Name | None = Field(default=None, description="Cancel pending timers of a trigger.")
    note: str | None = None
    fire: Name | None = Field(default=None, description="SLA actions only: fire a trigger.")
    call: CallSpec | None = Field(default=None, description="Run a plugin's workflow action.")

    @model_validator(mode="after")
    def _exactly_one(self) -> Action:
        chosen = [name for name in ACTION_KINDS if getattr(self, name) is not None]
        if len(chosen) != 1:
            raise ValueError(
                "an action has exactly one of: "
                + ", ".join(ACTION_KINDS)
                + (f" (this one has {', '.join(chosen)})" if chosen else "")
            )
        return self

    @property
    def kind(self) -> str:
        return next(name for name in ACTION_KINDS if getattr(self, name) is not None)


ACTION_KINDS = ("set", "notify", "schedule", "cancel", "note", "fire", "call")
