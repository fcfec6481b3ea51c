"""Pydantic models of the workflow language (v1).

These models are the single definition of what a workflow file may contain: the loader validates
against them, ``svcflow schema`` exports their JSON Schema for editors, and the docs describe them.
They check *shape* only; cross-references (states, triggers, fields, expressions) are checked by
:mod:`svcflow.definitions.checks`, which knows positions in the file.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, StringConstraints, field_validator, model_validator

from svcflow.spec.actions import (
    ACTION_KINDS,
    NAME_PATTERN,
    WORKFLOW_ID_PATTERN,
    Action,
    Duration,
    Name,
    NotifySpec,
    ScheduleSpec,
    Strict,
)
from svcflow.spec.care import EndOnSpec, ScheduledTriggerSpec, SignalSpec, StartOnSpec
from svcflow.spec.kpi import KpiSpec
from svcflow.spec.retention import RetentionSpec
from svcflow.spec.sla import EscalationSpec, QuietHoursSpec, SlaSpec
from svcflow.spec.tables import TableSpec

__all__ = [
    "ACTION_KINDS",
    "MESSAGE_FIELDS",
    "NAME_PATTERN",
    "WORKFLOW_ID_PATTERN",
    "Action",
    "Computed",
    "Duration",
    "FieldSpec",
    "FieldType",
    "IntakeSpec",
    "Name",
    "NotifySpec",
    "RoleSpec",
    "ScheduleSpec",
    "StateSpec",
    "TransitionSpec",
    "WorkflowSpec",
]

FieldType = Literal[
    "string", "integer", "number", "boolean", "enum", "datetime", "duration", "list", "object"
]


class FieldSpec(Strict):
    """One typed field of a case's data. ``priority: string`` is short for ``{type: string}``."""

    type: FieldType
    required: bool = False
    default: Any = None
    values: list[str] | None = Field(default=None, description="The allowed values of an enum.")
    items: FieldSpec | None = Field(default=None, description="The type of a list's items.")
    fields: dict[Name, FieldSpec] | None = Field(
        default=None, description="The keys of an object; without it, any keys are allowed."
    )
    protected: bool = Field(
        default=False,
        description="Only the workflow's own actions set it; a payload that names it is refused.",
    )
    personal: bool = Field(
        default=False,
        description="The customer's personal data (a name, an address, what they wrote): "
        "replaced by '[erased]' when the customer is erased. String fields only.",
    )
    description: str = ""

    @model_validator(mode="after")
    def _personal_is_text(self) -> FieldSpec:
        if self.personal and self.type != "string":
            raise ValueError(
                f"personal: true applies to string fields, not {self.type}: an erased value "
                "reads '[erased]'"
            )
        return self

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


def _empty_mapping(value: Any) -> Any:
    return {} if value is None else value


class StateSpec(Strict):
    """A state. ``received: {initial: true}``; an empty ``acknowledged:`` is a plain state."""

    initial: bool = False
    final: bool = False
    tags: list[str] = Field(default_factory=list)
    on_enter: list[Action] = Field(default_factory=list)
    on_exit: list[Action] = Field(default_factory=list)
    description: str = ""


class Computed(Strict):
    """``{expr: '<CEL>'}``: a value computed from the case (and ``actor``) when it is needed."""

    expr: str = Field(min_length=1)


class RoleSpec(Strict):
    """A role people hold. ``includes`` lists the roles it covers: a director who ``includes``
    service_manager may do whatever a service manager may do (and what that role includes)."""

    includes: list[Name] = Field(default_factory=list)
    description: str = ""

    @field_validator("includes", mode="before")
    @classmethod
    def _one_role(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class TransitionSpec(Strict):
    """``trigger`` moves a case ``from`` one or more states ``to`` another when ``when`` holds.

    ``from: '*'`` means every non-final state. Without ``to`` the transition is internal: the
    case stays, no exit/enter actions run and no timers are cancelled.
    """

    trigger: Name
    source: Literal["*"] | Name | list[Name] = Field(alias="from")
    to: Name | None = None
    when: str | None = Field(default=None, description="A CEL condition over case data.")
    by: Name | list[Name] | Computed | None = Field(
        default=None,
        description="The role the actor must hold (one of a list), or {expr: ...} naming the "
        "role (or roles) from the case or a decision table.",
    )
    not_by: Computed | None = Field(
        default=None,
        description="{expr: ...} giving the actor id (or ids) who may not fire it: four eyes.",
    )
    actions: list[Action] = Field(default_factory=list)
    description: str = ""

    @property
    def sources(self) -> list[str]:
        return self.source if isinstance(self.source, list) else [self.source]

    @property
    def is_wildcard(self) -> bool:
        return self.source == "*"


MESSAGE_FIELDS = (
    "channel",
    "message_id",
    "sender",
    "sender_name",
    "subject",
    "body",
    "kind",
    "category",
    "sentiment",
    "tags",
    "locale",
    "received_at",
    "fields",
)
"""What intake expressions may read of ``message``: the keys of ``InboundMessage.as_variables()``
(``svcflow.hooks.types``), which a test keeps equal."""


class IntakeSpec(Strict):
    """How inbound messages (``Engine.ingest``) start and advance cases of this workflow.

    ``start`` lists the message kinds that start a new case (``message``, ``complaint``...);
    ``data`` fills its fields from the message with CEL expressions over ``message`` and
    ``now``; ``reply`` is the trigger fired when a further message arrives on an open case, with
    ``payload`` computed the same way. Expressions also read ``customer`` (``id``, ``name``,
    ``segment``, ``locale``, ``known``): the owner's record, which a message cannot change.
    ``unverified`` says what happens to a message naming a case of this workflow whose
    customer did not send it: ``start`` a case of its own (the default) or ``hold`` it for an
    agent (a dead letter with status ``held``). ``when`` is a CEL condition over ``message`` and
    ``customer`` a new message must meet to start a case here (say, its channel); when several
    workflows would start one, the highest ``precedence`` wins, then the workflow id.
    """

    start: list[Name] = Field(default_factory=list)
    data: dict[Name, str] = Field(default_factory=dict)
    reply: Name | None = None
    payload: dict[Name, str] = Field(default_factory=dict)
    unverified: Literal["start", "hold"] = "start"
    when: str | None = None
    precedence: int = 0


class WorkflowSpec(Strict):
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
    sla: SlaSpec | None = Field(default=None, description="Service-level clocks of the cases.")
    escalations: dict[Name, EscalationSpec] = Field(default_factory=dict)
    quiet_hours: QuietHoursSpec | None = None
    intake: IntakeSpec | None = Field(
        default=None, description="How inbound messages start and advance cases."
    )
    tables: dict[Name, TableSpec] = Field(
        default_factory=dict,
        description="Decision tables; each is a variable in expressions: its output map.",
    )
    kpi: KpiSpec | None = Field(
        default=None,
        description="How the KPI report reads the cases: which SLA metrics time the first "
        "response and the resolution, and the SLA attainment targets.",
    )
    retention: RetentionSpec | None = Field(
        default=None,
        description="How long closed cases are kept before 'svcflow purge' deletes them "
        "(default: kept).",
    )
    roles: Annotated[
        dict[Name, Annotated[RoleSpec, BeforeValidator(_empty_mapping)]],
        BeforeValidator(_empty_mapping),
    ] = Field(
        default_factory=dict,
        description="The roles transitions require with 'by', and which roles each includes.",
    )
    scope: Literal["case", "customer"] = Field(
        default="case",
        description="'customer': a case is a customer's journey, at most one open per customer.",
    )
    start_on: StartOnSpec | None = Field(
        default=None, description="Customer events that start a customer-scoped case."
    )
    end_on: EndOnSpec | None = Field(
        default=None, description="Triggers fired on a customer-scoped case when it should end."
    )
    schedules: dict[Name, ScheduledTriggerSpec] = Field(
        default_factory=dict, description="Recurring schedules that fire a trigger on the case."
    )
    signals: list[SignalSpec] = Field(
        default_factory=list,
        description="Events of other workflows' cases that start or signal this workflow's.",
    )
