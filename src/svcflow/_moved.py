"""Old module paths, kept working after the modules moved into packages by concern.

Plugins and hosts imported internal paths (``svcflow.delivery``, ``svcflow.channels.base``,
``svcflow.messages``, ``svcflow.calendar``...). A finder at the front of ``sys.meta_path``
answers each old dotted name in :data:`MOVED` with the module that now holds its code: the
same module object (so ``isinstance`` checks and monkeypatching see one module), imported only
when the old name is, and without a warning. Names that moved to another module as well are
listed in ``CHANGELOG.md``.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType

__all__ = ["MOVED", "install"]

MOVED: dict[str, str] = {
    "svcflow.calendar": "svcflow.sla.calendar",
    "svcflow.escalation": "svcflow.sla.escalation",
    "svcflow.slastatus": "svcflow.sla.status",
    "svcflow.hookspecs": "svcflow.hooks.specs",
    "svcflow.pluginhost": "svcflow.hooks.host",
    "svcflow.messages": "svcflow.hooks.types",
    "svcflow.delivery": "svcflow.hooks.types",
    "svcflow.workflowactions": "svcflow.spec.extensions",
    "svcflow.datamodel": "svcflow.spec.datamodel",
    "svcflow.channels": "svcflow.messaging.channels",
    "svcflow.channels.base": "svcflow.messaging.channels.base",
    "svcflow.channels.chat": "svcflow.messaging.channels.chat",
    "svcflow.channels.email": "svcflow.messaging.channels.email",
    "svcflow.channels.phone": "svcflow.messaging.channels.phone",
    "svcflow.channels.sms": "svcflow.messaging.channels.sms",
    "svcflow.channels.social": "svcflow.messaging.channels.social",
    "svcflow.channels.webform": "svcflow.messaging.channels.webform",
    "svcflow.intake": "svcflow.messaging.intake",
    "svcflow.matching": "svcflow.messaging.matching",
    "svcflow.classify": "svcflow.messaging.classify",
    "svcflow.directory": "svcflow.messaging.directory",
    "svcflow.notifier": "svcflow.messaging.notifier",
    "svcflow.templates": "svcflow.messaging.templates",
    "svcflow.outbox": "svcflow.messaging.outbox",
    "svcflow.machine": "svcflow.core.machine",
    "svcflow.effects": "svcflow.core.effects",
    "svcflow.registry": "svcflow.engine.registry",
    "svcflow.runner": "svcflow.engine.runner",
    "svcflow.spec.loader": "svcflow.definitions.workflow",
    "svcflow.spec.checks": "svcflow.definitions.checks",
    "svcflow.spec.rulesfile": "svcflow.definitions.rulesfile",
    "svcflow.rules.tools": "svcflow.definitions.decide",
    "svcflow.rules.validation": "svcflow.rules.tables.validation",
}
"""Old dotted module name -> the module that holds its code now."""


class _Alias(importlib.abc.Loader):
    """Loads an old name as the new module itself, leaving the new module's own spec intact
    (the import system would otherwise stamp the old name's spec on it)."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._own_spec: importlib.machinery.ModuleSpec | None = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(self.target)
        self._own_spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        module.__spec__ = self._own_spec


class _MovedFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        moved_to = MOVED.get(fullname)
        if moved_to is None:
            return None
        return importlib.util.spec_from_loader(fullname, _Alias(moved_to))


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (once), ahead of the path finder that would
    otherwise load an old submodule's file a second time under its old name."""
    if not any(isinstance(finder, _MovedFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _MovedFinder())
