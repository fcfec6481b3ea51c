"""SLA time, pure logic: business calendars, SLA clocks, escalation chains and their status.

:mod:`~svcflow.sla.calendar` does business-time arithmetic, :mod:`~svcflow.sla.clocks` runs a
workflow's SLA metrics (start, pause, warn, breach), :mod:`~svcflow.sla.escalation` its
escalation chains, and :mod:`~svcflow.sla.status` reports both for a case. Nothing here reads
a store or knows the engine: each function takes the case's SLA state and a moment and returns
the next state.
"""

from __future__ import annotations

import importlib
from typing import Any


def __getattr__(name: str) -> Any:
    """The names of the former module ``svcflow.sla``, now :mod:`svcflow.sla.clocks`, so code
    written against the old path keeps working (loaded only when asked for)."""
    clocks = importlib.import_module("svcflow.sla.clocks")
    try:
        return getattr(clocks, name)
    except AttributeError:
        raise AttributeError(f"module 'svcflow.sla' has no attribute {name!r}") from None
