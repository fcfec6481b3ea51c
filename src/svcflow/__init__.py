"""svcflow: declarative YAML workflows, SLAs and escalation rules for customer service, run as
durable state machines.

The embedding API is :class:`Engine` with an injected clock (:class:`ManualClock` for tests and
simulations, :class:`SystemClock` in production). The names in ``__all__`` are the public API
(``docs/api.md`` says what semantic versioning covers). The engine, the runner and the loaders
are imported on first use, so ``import svcflow`` (and the pytest plugin, which runs in every
test session of a project that installs svcflow) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from svcflow import _moved
from svcflow.clock import Clock, ManualClock, SystemClock
from svcflow.errors import (
    CaseDataError,
    CaseNotFound,
    ConcurrencyConflict,
    ConditionNotMet,
    ExpressionError,
    IdempotencyKeyReused,
    InvalidCursor,
    InvalidQuery,
    NotAuthorized,
    StoreError,
    SvcflowError,
    TimerNotFailed,
    TransitionNotAllowed,
    UnknownTrigger,
    UnknownWorkflow,
    WorkflowDefinitionError,
    WorkflowVersionConflict,
)
from svcflow.hooks.specs import hookimpl
from svcflow.records import Case, HistoryEntry, Notification, Timer
from svcflow.shipped import shipped_workflows
from svcflow.store.query import CasePage

if TYPE_CHECKING:
    from svcflow.definitions import load_definitions, load_directory
    from svcflow.definitions.workflow import load_workflow_file, load_workflow_text
    from svcflow.engine import AdvanceReport, Engine, TimerFiring
    from svcflow.engine.runner import Runner

__all__ = [
    "AdvanceReport",
    "Case",
    "CaseDataError",
    "CaseNotFound",
    "CasePage",
    "Clock",
    "ConcurrencyConflict",
    "ConditionNotMet",
    "Engine",
    "ExpressionError",
    "HistoryEntry",
    "IdempotencyKeyReused",
    "InvalidCursor",
    "InvalidQuery",
    "ManualClock",
    "NotAuthorized",
    "Notification",
    "Runner",
    "StoreError",
    "SvcflowError",
    "SystemClock",
    "Timer",
    "TimerFiring",
    "TimerNotFailed",
    "TransitionNotAllowed",
    "UnknownTrigger",
    "UnknownWorkflow",
    "WorkflowDefinitionError",
    "WorkflowVersionConflict",
    "__version__",
    "hookimpl",
    "load_definitions",
    "load_directory",
    "load_workflow_file",
    "load_workflow_text",
    "shipped_workflows",
]

__version__ = "0.1.0"
"""The one place the version is written: ``pyproject.toml`` and the plugin packages read it."""

_LAZY = {
    "AdvanceReport": "svcflow.engine",
    "Engine": "svcflow.engine",
    "TimerFiring": "svcflow.engine",
    "Runner": "svcflow.engine.runner",
    "load_definitions": "svcflow.definitions",
    "load_directory": "svcflow.definitions",
    "load_workflow_file": "svcflow.definitions.workflow",
    "load_workflow_text": "svcflow.definitions.workflow",
}
"""Public names whose modules pull in pydantic, transitions and CEL: imported on first use."""


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'svcflow' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


_moved.install()
