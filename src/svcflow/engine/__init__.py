"""The engine: the :class:`Engine` facade a host embeds, and what it is made of.

:mod:`~svcflow.engine.facade` (the API), :mod:`~svcflow.engine.units` (building and committing
the one change each event makes), :mod:`~svcflow.engine.timers` (due timers, catch-up,
deadline recomputation), :mod:`~svcflow.engine.registry` (workflow versions, old and new),
:mod:`~svcflow.engine.plugins` (the plugin host with the built-ins) and
:mod:`~svcflow.engine.runner` (a thread that advances the clock's due timers).
"""

from __future__ import annotations

from svcflow.engine.batch import FireRequest, FireResult
from svcflow.engine.erasure import ErasureReport
from svcflow.engine.facade import Engine
from svcflow.engine.plugins import DIRECTORY_PLUGIN, build_plugin_host
from svcflow.engine.retention import PurgeReport
from svcflow.engine.timers import AdvanceReport, TimerFiring

__all__ = [
    "DIRECTORY_PLUGIN",
    "AdvanceReport",
    "Engine",
    "ErasureReport",
    "FireRequest",
    "FireResult",
    "PurgeReport",
    "TimerFiring",
    "build_plugin_host",
]
