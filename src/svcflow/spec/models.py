"""Pydantic models of the workflow language (v1).

These models are the single definition of what a workflow file may contain: the loader validates
against them, ``svcflow schema`` exports their JSON Schema for editors, and the docs describe them.
They check *shape* only; cross-references (states, triggers, fields, expressions) are checked by
:mod:`svcflow.spec.checks`, which knows positions in the file.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

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
    "NAME_PATTERN",
    "Action",
    "Duration",
    "FieldSpec",
    "FieldType",
    "Name",
    "NotifySpec",
    "ScheduleSpec",
    "StateSpec",
    "TransitionSpec",
    "WorkflowSpec",
]

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
WORKFLOW_ID_PATTERN = r"^[a-z][a-z0-9_-]*$"

Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
"""States, triggers and data fields: letters, digits and underscores, not starting with a digit
(so that every name can be used in a CEL expression)."""


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

FieldType = Literal[
    "string", "integer", "number", "boolean", "enum", "datetime", "duration", "list", "object"
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class FieldSpec(_Strict):
    """One typed field of a case's data. ``priority: string`` is short for ``{type: string}``."""

    type: FieldType
    required: bool = False
    default: Any = None
    values: list[str] | None = Field(default=None, description="The allowed values of an enum.")
    items: FieldSpec | None = Field(default=None, description="The type of a list's items.")
    fields: dict[Name, FieldSpec] | None = Field(
        default=None, description="The keys of an object; without it, any keys are allowed."
    )
    description: str = ""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"type": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _consistent(self) -> FieldSpec:
        if self.type == "enum" and not self.values:
            raise ValueError("an enum field needs 'values', the list of allowed values")
        if self.type != "enum" and self.values is not None:
            raise ValueError(f"'values' is only for enum fields, not {self.type}")
        if self.items is not None and self.type != "list":
            raise ValueError(f"'items' is only for list fields, not {self.type}")
        if self.fields is not None and self.type != "object":
            raise ValueError(f"'fields' is only for object fields, not {self.type}")
        if self.required and "default" in self.model_fields_set:
            raise ValueError("a field is either required or has a default, not both")
        return self


class NotifySpec(_Strict):
    """Queue a notification: a template rendered for recipients, delivered after commit."""

    template: str = Field(min_length=1)
    to: list[str] = Field(min_length=1, description="Recipients: 'customer', 'assignee', a role.")
    channel: str | None = None
    urgent: bool = False

    @field_validator("to", mode="before")
    @classmethod
    def _one_recipient(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class ScheduleSpec(_Strict):
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


class Action(_Strict):
    """Exactly one of: ``set``, ``notify``, ``schedule``, ``cancel``, ``note``."""

    set: dict[Name, Any] | None = Field(
        default=None,
        description="Field values; a value written {expr: '<CEL>'} is computed from the case.",
    )
    notify: NotifySpec | None = None
    schedule: ScheduleSpec | None = None
    cancel: Name | None = Field(default=None, description="Cancel pending timers of a trigger.")
    note: str | None = None

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


ACTION_KINDS = ("set", "notify", "schedule", "cancel", "note")


def _empty_mapping(value: Any) -> Any:
    return {} if value is None else value


class StateSpec(_Strict):
    """A state. ``received: {initial: true}``; an empty ``acknowledged:`` is a plain state."""

    initial: bool = False
    final: bool = False
    tags: list[str] = Field(default_factory=list)
    on_enter: list[Action] = Field(default_factory=list)
    on_exit: list[Action] = Field(default_factory=list)
    description: str = ""


class TransitionSpec(_Strict):
    """``trigger`` moves a case ``from`` one or more states ``to`` another when ``when`` holds.

    ``from: '*'`` means every non-final state. Without ``to`` the transition is internal: the
    case stays, no exit/enter actions run and no timers are cancelled.
    """

    trigger: Name
    source: Literal["*"] | Name | list[Name] = Field(alias="from")
    to: Name | None = None
    when: str | None = Field(default=None, description="A CEL condition over case data.")
    actions: list[Action] = Field(default_factory=list)
    description: str = ""

    @property
    def sources(self) -> list[str]:
        return self.source if isinstance(self.source, list) else [self.source]

    @property
    def is_wildcard(self) -> bool:
        return self.source == "*"


class WorkflowSpec(_Strict):
    """A whole workflow file."""

    workflow: Annotated[str, StringConstraints(pattern=WORKFLOW_ID_PATTERN)] = Field(
        description="The workflow's id: lower-case letters, digits, '-' and '_'."
    )
    version: int = Field(ge=1, description="Raise it whenever the definition changes.")
    title: str = Field(min_length=1)
    description: str = ""
    data: Annotated[dict[Name, FieldSpec], BeforeValidator(_empty_mapping)] = Field(
        default_factory=dict
    )
    states: dict[Name, Annotated[StateSpec, BeforeValidator(_empty_mapping)]] = Field(min_length=1)
    transitions: list[TransitionSpec] = Field(default_factory=list)
