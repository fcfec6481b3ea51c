"""What one step of a case decides, as data: the engine commits it, nothing here does I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

__all__ = ["NotificationRequest", "StepResult", "TimerRequest", "step_result"]


class TimerRequest(NamedTuple):
    """Fire ``trigger`` at ``due_at``. ``keep`` timers survive the case leaving its state.
    ``nominal`` is, for a recurring schedule's timer, the occurrence's moment before calendar
    and quiet-hours moves. (A named tuple: immutable, and built in half the instructions of a
    frozen dataclass, whose ``__init__`` sets each field through ``object.__setattr__``.)"""

    trigger: str
    due_at: datetime
    keep: bool = False
    nominal: datetime | None = None


@dataclass(frozen=True, slots=True)
class NotificationRequest:
    """A notification to queue in the outbox, delivered after the step commits (not before
    ``hold_until``, set when quiet hours hold a non-urgent notice)."""

    template: str
    recipients: tuple[str, ...]
    channel: str | None = None
    urgent: bool = False
    hold_until: datetime | None = None


@dataclass(slots=True)
class StepResult:
    """The outcome of starting a case or firing a trigger on it.

    ``left_state`` is the state whose own timers must be cancelled (None for an internal
    transition, which neither exits nor enters a state). ``changed`` holds only the fields whose
    value the step set (from the payload or by actions); ``payload`` the validated payload;
    ``data`` is the whole new data. ``service`` is the case's new SLA and escalation state
    (None when the step did not change it) and ``service_events`` what happened to it; ``fire``
    lists triggers an SLA action fires after its other actions.
    """

    trigger: str | None
    source: str | None
    target: str
    data: Mapping[str, Any]
    changed: dict[str, Any] = field(default_factory=dict)
    payload: dict[str, Any] = field(default_factory=dict)
    left_state: str | None = None
    timers: list[TimerRequest] = field(default_factory=list)
    cancel_triggers: list[str] = field(default_factory=list)
    notifications: list[NotificationRequest] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fire: list[str] = field(default_factory=list)
    service: Mapping[str, Any] | None = None
    service_events: list[dict[str, Any]] = field(default_factory=list)


_new_object = object.__new__


def step_result(
    *, trigger: str | None, source: str | None, target: str, data: Mapping[str, Any]
) -> StepResult:
    """A fresh :class:`StepResult`, equal to ``StepResult(trigger=..., source=..., target=...,
    data=...)``: the one every event builds, in about half the instructions (the dataclass's
    ``__init__`` is reached through ``type.__call__``, which packs the keywords into a dict, and
    calls a factory for each of its seven containers)."""
    result: StepResult = _new_object(StepResult)
    result.trigger = trigger
    result.source = source
    result.target = target
    result.data = data
    result.changed = {}
    result.payload = {}
    result.left_state = None
    result.timers = []
    result.cancel_triggers = []
    result.notifications = []
    result.notes = []
    result.fire = []
    result.service = None
    result.service_events = []
    return result
