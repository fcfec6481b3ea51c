"""Pydantic models of proactive care: recurring ``schedules``, customer-scoped workflows
(``scope: customer`` with ``start_on`` and ``end_on``) and ``signals`` from other workflows.

Shape only, like :mod:`svcflow.spec.models`; the names of triggers, states, fields and
calendars and the CEL inside are checked by :mod:`svcflow.definitions.care`, which knows the
whole workflow, and the workflows that ``signals`` name by the engine, which knows them all.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator, model_validator

from svcflow.spec.actions import Duration, Name, Strict
from svcflow.spec.recurrence import ScheduleSpec

__all__ = [
    "CUSTOMER_EVENTS",
    "CustomerChangeSpec",
    "CustomerStartSpec",
    "EndOnSpec",
    "ScheduledTriggerSpec",
    "SegmentChangeSpec",
    "SignalSpec",
    "StartOnSpec",
]

CUSTOMER_EVENTS = ("started", "closed")
"""What ``signals[].event`` may name besides a trigger: ``<workflow>.started`` (a case of that
workflow started) and ``<workflow>.closed`` (one reached a final state)."""

_EVENT = re.compile(r"^([a-z][a-z0-9_-]*)\.([A-Za-z_][A-Za-z0-9_]*)$")


def _empty_mapping(value: Any) -> Any:
    return {} if value is None else value


def _segments(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class ScheduledTriggerSpec(ScheduleSpec):
    """``schedules.<name>``: a recurring schedule that fires ``trigger`` on the case at each
    occurrence, while the case is in one of ``states`` (default: every non-final state).

    The schedule keeps a durable timer in the store for its next occurrence; after downtime only
    the latest missed occurrence fires, once (see :mod:`svcflow.sla.recurrence`).
    """

    trigger: Name
    states: list[Name] | None = Field(
        default=None,
        description="The states the schedule runs in; default: every non-final state.",
    )

    @field_validator("states", mode="before")
    @classmethod
    def _one_state(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class CustomerStartSpec(Strict):
    """``start_on.customer_created``: start a case for every new customer record for which
    ``when`` (CEL over ``customer``) holds; ``data`` fills the case's fields (CEL over
    ``customer`` and ``now``)."""

    when: str | None = None
    data: dict[Name, str] = Field(default_factory=dict)


class CustomerChangeSpec(Strict):
    """``start_on.customer_changed``: start a case when a saved customer record comes to
    satisfy ``when`` (it holds for the record as saved and did not before), e.g. a birthday
    entered after the record was added; ``data`` as for ``customer_created``."""

    when: str
    data: dict[Name, str] = Field(default_factory=dict)


class SegmentChangeSpec(Strict):
    """``start_on.segment_changed``: start a case when a customer's segment changes ``to`` one
    of these segments (and, with ``from``, from one of those)."""

    to: Annotated[list[str], BeforeValidator(_segments)] = Field(min_length=1)
    source: Annotated[list[str] | None, BeforeValidator(_segments)] = Field(
        default=None, alias="from"
    )
    data: dict[Name, str] = Field(default_factory=dict)


class StartOnSpec(Strict):
    """``start_on:`` of a customer-scoped workflow: the customer events that start its case."""

    customer_created: Annotated[CustomerStartSpec | None, BeforeValidator(_empty_mapping)] = None
    customer_changed: CustomerChangeSpec | None = None
    segment_changed: SegmentChangeSpec | None = None

    @model_validator(mode="after")
    def _something(self) -> StartOnSpec:
        if (self.customer_created, self.customer_changed, self.segment_changed) == (None,) * 3:
            raise ValueError(
                "start_on needs at least one of customer_created, customer_changed, segment_changed"
            )
        return self


class EndOnSpec(Strict):
    """``end_on:`` of a customer-scoped workflow: the trigger fired on the customer's open case
    when they leave (``customer_left``), or when their segment changes away (``segment_left``:
    out of every segment ``start_on.segment_changed.to`` names)."""

    customer_left: Name | None = None
    segment_left: Name | None = None

    @model_validator(mode="after")
    def _something(self) -> EndOnSpec:
        if self.customer_left is None and self.segment_left is None:
            raise ValueError("end_on needs customer_left, segment_left or both")
        return self


class SignalSpec(Strict):
    """``signals[]``: when ``event`` happens on another workflow's case of the same customer
    and ``when`` holds, ``start`` this workflow's case (with these fields) or, when the customer
    already has one open, ``fire`` this trigger on it.

    ``event`` is ``<workflow>.<trigger>`` (a trigger that fired), ``<workflow>.started`` or
    ``<workflow>.closed``. Expressions read ``event`` (``workflow``, ``trigger``, ``case_id``,
    ``state``), ``data`` (that case's fields), ``payload`` (the trigger's payload),
    ``customer`` and ``recent`` (the customer's cases started within ``within``, counted by
    workflow, the event's own case included).
    """

    event: str
    when: str | None = None
    within: Duration | None = Field(
        default=None, description="The window 'recent' counts cases in; default 90d."
    )
    start: Annotated[dict[Name, str] | None, BeforeValidator(_empty_mapping)] = Field(
        default=None, description="Start a case: its fields, each a CEL expression."
    )
    fire: Name | None = None

    @field_validator("event")
    @classmethod
    def _event(cls, value: str) -> str:
        if not _EVENT.match(value):
            raise ValueError(
                f"{value!r} is not an event; write <workflow>.<trigger>, <workflow>.started "
                "or <workflow>.closed, e.g. survey.answered"
            )
        return value

    @model_validator(mode="after")
    def _does_something(self) -> SignalSpec:
        if "start" not in self.model_fields_set and self.fire is None:
            raise ValueError("a signal needs 'start', 'fire' or both")
        return self

    @property
    def source_workflow(self) -> str:
        return self.event.split(".", 1)[0]

    @property
    def source_trigger(self) -> str:
        return self.event.split(".", 1)[1]
