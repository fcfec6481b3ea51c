"""Pydantic models of a workflow's service levels: SLA metrics, escalation chains, quiet hours.

Shape only, like :mod:`svcflow.spec.models`; names of states, triggers, fields and calendars and
the CEL inside are checked by :mod:`svcflow.definitions.checks` (and calendars by the engine, which
knows the calendar files).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from svcflow.durations import format_duration, parse_duration
from svcflow.spec.actions import Action, Duration, Name, Strict

__all__ = [
    "ALWAYS_OPEN",
    "SLA_ACTION_KINDS",
    "ConditionSpec",
    "EscalationLevel",
    "EscalationSpec",
    "MetricSpec",
    "QuietHoursSpec",
    "SlaSpec",
    "TargetSpec",
    "WarningSpec",
    "Within",
]

ALWAYS_OPEN = "24x7"
"""The built-in calendar every workflow may name: open all the time, so business time is
elapsed time."""

SLA_ACTION_KINDS = ("set", "notify", "note", "fire")

_DAYS = re.compile(r"^\s*(\d+)\s+(business days?|calendar days?|days?|weeks?)\s*$")


def _listed(value: Any) -> Any:
    return [value] if isinstance(value, str | dict) else value


class ConditionSpec(Strict):
    """When something happens to a case; exactly one of the keys.

    ``enter``/``leave``: the step entered or left one of the states (a case's start enters its
    initial state). ``trigger``: the step fired one of the triggers. ``when``: a CEL condition on
    the case's data that *becomes* true at this step (false before it, true after it).
    """

    enter: list[Name] | None = None
    leave: list[Name] | None = None
    trigger: list[Name] | None = None
    when: str | None = None

    @field_validator("enter", "leave", "trigger", mode="before")
    @classmethod
    def _one_name(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _exactly_one(self) -> ConditionSpec:
        chosen = [k for k in ("enter", "leave", "trigger", "when") if getattr(self, k) is not None]
        if len(chosen) != 1:
            raise ValueError(
                "a condition has exactly one of: enter, leave, trigger, when"
                + (f" (this one has {', '.join(chosen)})" if chosen else "")
            )
        return self


Conditions = Annotated[list[ConditionSpec], Field(default_factory=list)]


class Within(Strict):
    """A target length: business time (``4h``) on the target's calendar, or a count of
    ``business days``, ``calendar days`` or ``weeks`` (how regulators set complaint deadlines)."""

    amount: timedelta | int
    unit: Literal["time", "business_days", "calendar_days"] = "time"

    @model_validator(mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        days = _DAYS.match(value)
        if days is None:
            try:
                return {"amount": parse_duration(value), "unit": "time"}
            except ValueError:
                raise ValueError(
                    f"invalid target {value!r}: write business time (15m, 4h, 1h30m) or a "
                    "number of days: '3 business days', '10 calendar days', '8 weeks'"
                ) from None
        count, unit = int(days.group(1)), days.group(2)
        if count <= 0:
            raise ValueError(f"invalid target {value!r}: the count must be positive")
        if unit.startswith("business"):
            return {"amount": count, "unit": "business_days"}
        return {"amount": count * (7 if unit.startswith("week") else 1), "unit": "calendar_days"}

    @model_validator(mode="after")
    def _positive(self) -> Within:
        if isinstance(self.amount, timedelta) and self.amount <= timedelta(0):
            raise ValueError("a target must be longer than zero, e.g. 15m")
        return self

    def describe(self) -> str:
        if isinstance(self.amount, timedelta):
            return format_duration(self.amount)
        return f"{self.amount} {self.unit.replace('_', ' ')}"


class TargetSpec(Strict):
    """One target rule; the first rule whose ``when`` holds applies (list order is precedence)."""

    when: str | None = None
    within: Within
    calendar: str | None = Field(
        default=None, description="The calendar business time counts on; default: the SLA's."
    )
    name: str | None = Field(default=None, description="A label for reports, e.g. 'urgent'.")


class WarningSpec(Strict):
    """Warn once per cycle at a share of the target used (``at: 80%``) or a lead time before the
    deadline (``before: 30m``), running the actions."""

    at: float | None = Field(default=None, description="'80%' or 0.8")
    before: Duration | None = None
    actions: list[Action] = Field(default_factory=list)

    @field_validator("at", mode="before")
    @classmethod
    def _percent(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().endswith("%"):
            try:
                return float(value.strip()[:-1]) / 100
            except ValueError:
                raise ValueError(f"invalid percentage {value!r}, write e.g. 80%") from None
        return value

    @model_validator(mode="after")
    def _one_form(self) -> WarningSpec:
        if (self.at is None) == (self.before is None):
            raise ValueError("a warning has exactly one of 'at' (e.g. 80%) or 'before' (e.g. 30m)")
        if self.at is not None and not 0 < self.at < 1:
            raise ValueError("'at' is a share of the target between 0% and 100%, e.g. 80%")
        if self.before is not None and self.before <= timedelta(0):
            raise ValueError("'before' is a positive lead time, e.g. 30m")
        return self


class MetricSpec(Strict):
    """One SLA clock: when it starts, pauses, resumes, stops, is cancelled or reset; its target
    rules, warnings and what happens on breach.

    ``reopen`` says what a start does to a clock that already stopped: ``new_cycle`` measures
    afresh (warnings and breach may happen again), ``continue`` resumes the stopped cycle with
    the time it had used.
    """

    description: str = ""
    start: Annotated[Conditions, Field(min_length=1)]
    stop: Conditions
    pause: Conditions
    resume: Conditions
    cancel: Conditions
    reset: Conditions
    reopen: Literal["new_cycle", "continue"] = "new_cycle"
    targets: list[TargetSpec] = Field(min_length=1)
    warnings: list[WarningSpec] = Field(default_factory=list)
    on_breach: list[Action] = Field(default_factory=list)

    @field_validator("start", "stop", "pause", "resume", "cancel", "reset", mode="before")
    @classmethod
    def _one_condition(cls, value: Any) -> Any:
        return _listed(value)


class SlaSpec(Strict):
    """``sla:`` of a workflow: the default calendar and the metrics by name."""

    calendar: str = Field(default=ALWAYS_OPEN, description="Default calendar of the targets.")
    metrics: dict[Name, MetricSpec] = Field(min_length=1)


class EscalationLevel(Strict):
    """One level: after ``after`` (from the previous level, or from the chain's start) notify
    ``notify`` with ``template`` and optionally fire ``fire``."""

    after: Duration
    name: Name | None = Field(
        default=None,
        description="A label for history and reports (default: the first recipient notified).",
    )
    notify: list[str] = Field(min_length=1, description="Roles or named recipients.")
    template: str = Field(min_length=1)
    urgent: bool = False
    fire: Name | None = None

    @field_validator("notify", mode="before")
    @classmethod
    def _one(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class EscalationSpec(Strict):
    """A chain of levels that runs from ``start`` until ``stop`` (the case is acknowledged) or
    ``cancel`` (it is resolved); ``repeat`` runs the whole chain that many more times; an
    acknowledged case still not cancelled after ``reescalate_after`` starts the chain again."""

    description: str = ""
    calendar: str | None = Field(
        default=None, description="Delays count business time on it; default: wall time."
    )
    start: Annotated[Conditions, Field(min_length=1)]
    stop: Conditions
    cancel: Conditions
    levels: list[EscalationLevel] = Field(min_length=1)
    repeat: int = Field(default=0, ge=0)
    reescalate_after: Duration | None = None

    @field_validator("start", "stop", "cancel", mode="before")
    @classmethod
    def _one_condition(cls, value: Any) -> Any:
        return _listed(value)


class QuietHoursSpec(Strict):
    """Hold non-urgent notifications queued while ``calendar`` is closed until it opens."""

    calendar: str
