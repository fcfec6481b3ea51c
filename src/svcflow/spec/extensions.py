"""The plugin extensions workflows may use while they load: CEL functions and actions.

Loading a workflow is pure and knows nothing of plugins, yet an expression calling a plugin's
function, or a ``call`` action naming a plugin's action, must be checked when the file loads
(with its line and column), not when a case first runs into it. The engine (or any caller)
loads workflows inside ``using_extensions(...)``; outside it only CEL's own functions exist.
:class:`ActionCall` is what a plugin's workflow action receives (``- call: {action: NAME,
with: {...}}``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

__all__ = ["ActionCall", "Extensions", "current_extensions", "using_extensions"]


@dataclass(frozen=True, slots=True)
class ActionCall:
    """One call of a plugin action inside a step: the case as the step sees it so far, the
    action's evaluated ``with`` arguments, and the step's time."""

    action: str
    case_id: str
    state: str
    data: Mapping[str, Any]
    arguments: Mapping[str, Any]
    now: datetime


@dataclass(frozen=True, slots=True)
class Extensions:
    """Plugin CEL functions and workflow actions, by name."""

    functions: Mapping[str, Callable[..., Any]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    actions: Mapping[str, Callable[..., Any]] = field(default_factory=lambda: MappingProxyType({}))


_NONE = Extensions()
_CURRENT: ContextVar[Extensions | None] = ContextVar("svcflow_extensions", default=None)


def current_extensions() -> Extensions:
    """The extensions in effect for workflows loading now."""
    return _CURRENT.get() or _NONE


@contextmanager
def using_extensions(extensions: Extensions) -> Iterator[Extensions]:
    """Load workflows (and compile them) with ``extensions`` known."""
    token = _CURRENT.set(extensions)
    try:
        yield extensions
    finally:
        _CURRENT.reset(token)
