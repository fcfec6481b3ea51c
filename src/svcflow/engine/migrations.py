"""Running cases moved to another version of their workflow (``Engine.migrate_cases``).

Each case is its own unit of work: its move (:func:`svcflow.core.migration.migrate_case`) is
committed with a ``migrated`` history entry in one store transaction, so a crash in the middle of
a batch leaves every case either on the old version or on the new one, never half-moved, and
running the plan again moves the rest. A case that cannot move is listed with the reason and
left untouched; a dry run plans every move and writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType

from svcflow.core.machine import CompiledWorkflow, decode_service
from svcflow.core.migration import CannotMigrate, migrate_case
from svcflow.definitions.migration import (
    LoadedMigration,
    MigrationText,
    check_migration,
    load_migration_file,
)
from svcflow.engine.registry import WorkflowRegistry
from svcflow.engine.schedules import ScheduleKeeper
from svcflow.engine.units import CaseWriter, Event, history_entry
from svcflow.errors import ConcurrencyConflict
from svcflow.records import NO_DETAILS, Case
from svcflow.store.base import Store

__all__ = ["CaseMigrator", "MigrationReport", "MovedCase", "UnmovableCase"]


@dataclass(frozen=True, slots=True)
class MovedCase:
    """A case moved (or, in a dry run, that would move): its states and new SLA deadlines."""

    case_id: str
    from_state: str
    to_state: str
    deadlines: Mapping[str, datetime | None]


@dataclass(frozen=True, slots=True)
class UnmovableCase:
    """A case left on its version, and why."""

    case_id: str
    state: str
    reason: str


@dataclass
class MigrationReport:
    """What a plan did (or would do): moved cases, unmovable ones, and cases already final."""

    workflow: str
    source: int
    target: int
    dry_run: bool
    moved: list[MovedCase] = field(default_factory=list)
    unmovable: list[UnmovableCase] = field(default_factory=list)
    finished: int = 0


class CaseMigrator:
    """Loads plans against the registry's versions and moves cases one transaction each."""

    def __init__(self, writer: CaseWriter, registry: WorkflowRegistry, store: Store) -> None:
        self.writer, self.registry, self.store = writer, registry, store
        self.keeper = ScheduleKeeper(store)

    def load(self, plan: str | Path | MigrationText | LoadedMigration) -> LoadedMigration:
        """A plan checked against both versions (``WorkflowDefinitionError`` with positions);
        the old version may be one only the store still holds."""
        if isinstance(plan, LoadedMigration):
            return plan
        text = plan if isinstance(plan, MigrationText) else load_migration_file(plan)
        spec = text.spec
        old = self.registry.get(spec.migration, spec.source)
        new = self.registry.get(spec.migration, spec.target)
        return check_migration(text, old.loaded, new.loaded)

    def run(self, plan: LoadedMigration, *, dry_run: bool, actor: str) -> MigrationReport:
        spec = plan.spec
        old = self.registry.get(spec.migration, spec.source)
        new = self.registry.get(spec.migration, spec.target)
        report = MigrationReport(
            workflow=spec.migration, source=spec.source, target=spec.target, dry_run=dry_run
        )
        for case in self.store.find_cases(workflow=spec.migration):
            if case.version != spec.source:
                continue
            if old.spec.states[case.state].final:
                report.finished += 1
                continue
            try:
                report.moved.append(self._move(plan, old, new, case, dry_run, actor))
            except CannotMigrate as why:
                report.unmovable.append(UnmovableCase(case.id, case.state, str(why)))
            except ConcurrencyConflict:
                reason = "it changed while it was being moved; run the plan again"
                report.unmovable.append(UnmovableCase(case.id, case.state, reason))
        return report

    def _move(
        self,
        plan: LoadedMigration,
        old: CompiledWorkflow,
        new: CompiledWorkflow,
        case: Case,
        dry_run: bool,
        actor: str,
    ) -> MovedCase:
        now = max(self.writer.now(), case.updated_at)
        result = migrate_case(plan, old, new, case, self.store.timers(case.id), now)
        service = result.service or {}
        clocks, _ = decode_service(service)
        moved = MovedCase(
            case.id, case.state, result.target, {n: c.deadline for n, c in clocks.items()}
        )
        if dry_run:
            return moved
        updated = Case(
            id=case.id,
            workflow=case.workflow,
            version=new.version,
            state=result.target,
            data=MappingProxyType(dict(result.data)),
            revision=case.revision + 1,
            created_at=case.created_at,
            updated_at=now,
            sla=MappingProxyType(dict(service)) if service else NO_DETAILS,
        )
        self.keeper.amend(new, None, updated, result)  # the new version's schedules, from now
        details = {"from_version": old.version, "to_version": new.version, "plan": plan.file}
        event = Event(actor, "migrated", from_state=case.state, extra={"migrated": details})
        entry = history_entry(updated, now, event, result)
        self.writer.commit(self.writer.change(updated, case.revision, entry, result))
        return moved
