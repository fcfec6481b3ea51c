"""svcflow: declarative YAML workflows, SLAs and escalation rules for customer service, run as
durable state machines.

The embedding API is :class:`Engine` with an injected clock (:class:`ManualClock` for tests and
simulations, :class:`SystemClock` in production)."""

from svcflow import _moved
from svcflow.clock import Clock, ManualClock, SystemClock
from svcflow.definitions import load_definitions, load_directory
from svcflow.definitions.workflow import load_workflow_file, load_workflow_text
from svcflow.engine import Engine, TimerFiring
from svcflow.engine.runner import Runner
from svcflow.errors import (
    CaseDataError,
    CaseNotFound,
    ConcurrencyConflict,
    ConditionNotMet,
    ExpressionError,
    IdempotencyKeyReused,
    NotAuthorized,
    StoreError,
    SvcflowError,
    TransitionNotAllowed,
    UnknownTrigger,
    UnknownWorkflow,
    WorkflowDefinitionError,
    WorkflowVersionConflict,
)
from svcflow.hooks.specs import hookimpl
from svcflow.records import Case, HistoryEntry, Notification, Timer

__all__ = [
    "Case",
    "CaseDataError",
    "CaseNotFound",
    "Clock",
    "ConcurrencyConflict",
    "ConditionNotMet",
    "Engine",
    "ExpressionError",
    "HistoryEntry",
    "IdempotencyKeyReused",
    "ManualClock",
    "NotAuthorized",
    "Notification",
    "Runner",
    "StoreError",
    "SvcflowError",
    "SystemClock",
    "Timer",
    "TimerFiring",
    "TransitionNotAllowed",
    "UnknownTrigger",
    "UnknownWorkflow",
    "WorkflowDefinitionError",
    "WorkflowVersionConflict",
    "hookimpl",
    "load_definitions",
    "load_directory",
    "load_workflow_file",
    "load_workflow_text",
]

__version__ = "0.1.0"

_moved.install()
