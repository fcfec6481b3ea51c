"""Which workflow definitions the engine runs: the newest version of each id for new cases, and
the exact version each existing case started on.

Every loaded version is registered with the store, which refuses a changed definition under an
unchanged version number while cases of it exist. Versions no longer on disk are compiled from
the definition the store kept, so running cases always finish on the rules they started with.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from svcflow.core.machine import CompiledWorkflow
from svcflow.definitions.workflow import LoadedWorkflow, load_workflow_text
from svcflow.errors import UnknownWorkflow
from svcflow.sla.calendar import BusinessCalendar
from svcflow.sla.encoding import decode_sla, encode_sla
from svcflow.spec.extensions import Extensions, using_extensions
from svcflow.store.base import Store

__all__ = ["WorkflowRegistry"]


class WorkflowRegistry:
    """Compiled workflows by (id, version); also the store's data codec."""

    def __init__(
        self,
        workflows: Iterable[LoadedWorkflow],
        store: Store,
        calendars: Mapping[str, BusinessCalendar] | None = None,
        extensions: Extensions | None = None,
    ) -> None:
        self._store = store
        self.calendars = dict(calendars or {})
        self.extensions = extensions or Extensions()
        self._lock = threading.Lock()
        self._compiled: dict[tuple[str, int], CompiledWorkflow] = {}
        self.current: dict[str, CompiledWorkflow] = {}
        for loaded in sorted(workflows, key=lambda w: w.key):
            store.register_workflow(
                loaded.spec.workflow, loaded.spec.version, loaded.digest, loaded.text, loaded.file
            )
            with using_extensions(self.extensions):
                compiled = CompiledWorkflow(loaded, self.calendars)
            self._compiled[loaded.key] = compiled
            self.current[loaded.spec.workflow] = compiled

    def newest(self, workflow: str) -> CompiledWorkflow:
        """The version new cases of ``workflow`` start on."""
        try:
            return self.current[workflow]
        except KeyError:
            raise UnknownWorkflow(workflow, self.current) from None

    def get(self, workflow: str, version: int) -> CompiledWorkflow:
        """The exact version a case runs on, compiled from the store if not loaded from disk."""
        compiled = self._compiled.get((workflow, version))
        if compiled is not None:
            return compiled
        with self._lock:
            compiled = self._compiled.get((workflow, version))
            if compiled is None:
                stored = self._store.workflow_source(workflow, version)
                if stored is None:
                    raise UnknownWorkflow(workflow, self.current, version)
                source, file = stored
                with using_extensions(self.extensions):
                    compiled = CompiledWorkflow(
                        load_workflow_text(source, f"{file} (stored v{version})"), self.calendars
                    )
                self._compiled[(workflow, version)] = compiled
            return compiled

    def encode(self, workflow: str, version: int, data: Mapping[str, Any]) -> str:
        return self.get(workflow, version).schema.to_json(data)

    def decode(self, workflow: str, version: int, text: str) -> dict[str, Any]:
        return self.get(workflow, version).schema.from_json(text)

    def from_plain(self, workflow: str, version: int, data: Mapping[str, Any]) -> dict[str, Any]:
        return self.get(workflow, version).schema.from_plain(data)

    def plain(self, workflow: str, version: int, data: Mapping[str, Any]) -> dict[str, Any]:
        found: dict[str, Any] = self.get(workflow, version).schema.to_jsonable(data)
        return found

    def encode_sla(self, sla: Mapping[str, Any]) -> str:
        return encode_sla(sla)

    def decode_sla(self, text: str) -> dict[str, Any]:
        return decode_sla(text)
