"""Moves the repair cases of a SQLite store from v2 to v3, writing a journal line after each
commit; the test SIGKILLs it part-way (tests/test_migration.py)."""

from __future__ import annotations

import sys
from pathlib import Path

from svcflow import Engine, hookimpl
from svcflow.definitions.workflow import load_workflow_file
from svcflow.records import Case, HistoryEntry


class Journal:
    def __init__(self, path: Path) -> None:
        self.file = path.open("a", encoding="utf-8")

    @hookimpl
    def svcflow_case_transition(self, case: Case, entry: HistoryEntry) -> None:
        self.file.write(f"{case.id} {entry.kind}\n")
        self.file.flush()


def main() -> None:
    db, fixtures, plan, journal = sys.argv[1:5]
    workflows = [load_workflow_file(Path(fixtures) / f"repair_v{n}.yaml") for n in (2, 3)]
    with Engine(workflows, f"sqlite:///{db}", plugins=[Journal(Path(journal))]) as engine:
        engine.migrate_cases(plan)


if __name__ == "__main__":
    main()
