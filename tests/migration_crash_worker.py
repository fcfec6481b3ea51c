"""Moves the repair cases of a SQLite store from v2 to v3, writing a journal line to standard
output after each commit; the test reads those lines and SIGKILLs it part-way
(tests/test_migration.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from svcflow import Engine, hookimpl
from svcflow.definitions.workflow import load_workflow_file
from svcflow.records import Case, HistoryEntry


class Journal:
    def __init__(self, file: TextIO) -> None:
        self.file = file

    @hookimpl
    def svcflow_case_transition(self, case: Case, entry: HistoryEntry) -> None:
        self.file.write(f"{case.id} {entry.kind}\n")
        self.file.flush()


def main() -> None:
    db, fixtures, plan = sys.argv[1:4]
    workflows = [load_workflow_file(Path(fixtures) / f"repair_v{n}.yaml") for n in (2, 3)]
    with Engine(workflows, f"sqlite:///{db}", plugins=[Journal(sys.stdout)]) as engine:
        engine.migrate_cases(plan)


if __name__ == "__main__":
    main()
