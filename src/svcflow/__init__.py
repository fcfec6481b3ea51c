"""svcflow: declarative YAML workflows, SLAs and escalation rules for customer service, run as
durable state machines.

The embedding API is :class:`Engine` with an injected clock (:class:`ManualClock` for tests and
simulations, :class:`SystemClock` in production)."""

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

from svcflow import _moved

if TYPE_CHECKING:
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

_LAZY: dict[str, str] = {
    "Case": "svcflow.records",
    "CaseDataError": "svcflow.errors",
    "CaseNotFound": "svcflow.errors",
    "Clock": "svcflow.clock",
    "ConcurrencyConflict": "svcflow.errors",
    "ConditionNotMet": "svcflow.errors",
    "Engine": "svcflow.engine",
    "ExpressionError": "svcflow.errors",
    "HistoryEntry": "svcflow.records",
    "IdempotencyKeyReused": "svcflow.errors",
    "ManualClock": "svcflow.clock",
    "Notification": "svcflow.records",
    "Runner": "svcflow.engine.runner",
    "StoreError": "svcflow.errors",
    "SvcflowError": "svcflow.errors",
    "SystemClock": "svcflow.clock",
    "Timer": "svcflow.records",
    "TimerFiring": "svcflow.engine",
    "TransitionNotAllowed": "svcflow.errors",
    "UnknownTrigger": "svcflow.errors",
    "UnknownWorkflow": "svcflow.errors",
    "WorkflowDefinitionError": "svcflow.errors",
    "WorkflowVersionConflict": "svcflow.errors",
    "hookimpl": "svcflow.hooks.specs",
    "load_definitions": "svcflow.definitions",
    "load_directory": "svcflow.definitions",
    "load_workflow_file": "svcflow.definitions.workflow",
    "load_workflow_text": "svcflow.definitions.workflow",
}
"""Public name -> the module that defines it, imported at first use (PEP 562), so that
``import svcflow`` and ``svcflow --help`` do not pay for the engine, pydantic and CEL."""


def __getattr__(name: str) -> Any:
    """A public name (or a subpackage, as ``svcflow.engine`` after a bare ``import svcflow``
    used to work), imported now."""
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
    elif not name.startswith("_") and importlib.util.find_spec(f"svcflow.{name}") is not None:
        value = importlib.import_module(f"svcflow.{name}")
    else:
        raise AttributeError(f"module 'svcflow' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


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
