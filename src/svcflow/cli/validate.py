"""``svcflow validate``: the gate before a workflow set goes live.

It checks what the engine would refuse at start-up, file by file, and prints every problem:
each file's own language (workflow, rules or calendar), the calendars a workflow names (also
those in files next to a single workflow file given alone), and the notification templates a
workflow names (when a ``templates/`` folder lies next to it, as ``Engine.from_directory``
uses). A broken calendar file is reported once, as itself: the workflows that name it are not
told again that it is unknown. Warnings (exit status 0) name incomplete decision tables and
notices to ``customer`` in a workflow that has no way to reach them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from svcflow.definitions import (
    calendar_id_of,
    calendars_used,
    is_calendar_text,
    resolve_calendars,
)
from svcflow.definitions.calendars import load_calendar_text
from svcflow.definitions.decide import table_warnings
from svcflow.definitions.reach import customer_reach_warnings
from svcflow.definitions.rulesfile import is_rules_text, load_rules_text
from svcflow.definitions.workflow import LoadedWorkflow, load_workflow_file, workflow_files
from svcflow.errors import Problem, WorkflowDefinitionError
from svcflow.messaging.templates import TemplateRenderer, template_problems
from svcflow.sla.calendar import BusinessCalendar

__all__ = ["run_validate"]


class _Validation:
    """What the files given so far hold, and how many of them failed."""

    def __init__(self) -> None:
        self.calendars: dict[str, BusinessCalendar] = {}
        self.broken: set[str] = set()
        self.workflows: list[LoadedWorkflow] = []
        self.failed = 0
        self.beside = 0  # calendar files found next to a workflow and not given

    def fail(self, problems: Sequence[Problem]) -> None:
        self.failed += 1
        for problem in problems:
            print(problem, file=sys.stderr)

    def load(self, file: Path) -> None:
        text = file.read_text(encoding="utf-8") if file.is_file() else ""
        try:
            if is_calendar_text(text):
                calendar = load_calendar_text(text, str(file))
                self.calendars[calendar.id] = calendar
                print(f"ok  {file}: calendar '{calendar.id}' ({calendar.spec.timezone})")
            elif is_rules_text(text):
                rules = load_rules_text(text, str(file))
                print(f"ok  {file}: rules, tables {', '.join(rules.tables)}")
                for warning in rules.warnings:
                    print(f"warning: {warning}", file=sys.stderr)
            else:
                self.workflows.append(load_workflow_file(file))
        except WorkflowDefinitionError as error:
            self.broken.update(filter(None, [calendar_id_of(text)]))
            self.fail(error.problems)

    def look_beside(self, given: list[Path]) -> None:
        """Load, without printing, the calendars in the folders of workflow files given
        alone (``simulate`` finds them there too); a broken one is reported once."""
        folders = {Path(w.file).parent for w in self.workflows if Path(w.file) in given}
        for file in workflow_files(sorted(folders)):
            text = file.read_text(encoding="utf-8")
            if file in given or not is_calendar_text(text):
                continue
            name = calendar_id_of(text)
            if name in self.calendars or name in self.broken:
                continue
            try:
                calendar = load_calendar_text(text, str(file))
            except WorkflowDefinitionError as error:
                self.broken.update(filter(None, [name]))
                self.beside += 1
                self.fail(error.problems)
                continue
            self.calendars[calendar.id] = calendar

    def check(self, loaded: LoadedWorkflow) -> None:
        waiting = sorted({name for _, name in calendars_used(loaded) if name in self.broken})
        if waiting:
            names = ", ".join(f"'{name}'" for name in waiting)
            print(f"--  {loaded.file}: not checked until its calendar {names} loads (see above)")
            return
        try:
            resolve_calendars(loaded, self.calendars, self.broken)
        except WorkflowDefinitionError as error:
            self.fail(error.problems)
            return
        templates = Path(loaded.file).parent / "templates"
        if templates.is_dir():
            problems = template_problems([loaded], TemplateRenderer([templates]))
            if problems:
                self.fail(problems)
                return
        spec = loaded.spec
        print(
            f"ok  {loaded.file}: workflow '{spec.workflow}' v{spec.version}, "
            f"{len(spec.states)} states, {len(spec.transitions)} transitions"
            + (f", {len(spec.sla.metrics)} SLA metrics" if spec.sla else "")
            + (f", tables {', '.join(spec.tables)}" if spec.tables else "")
        )
        for warning in [*table_warnings(loaded), *customer_reach_warnings(loaded)]:
            print(f"warning: {warning}", file=sys.stderr)


def run_validate(args: argparse.Namespace) -> int:
    files = workflow_files(args.paths)
    if not files:
        print(f"no .yaml/.yml files found in {', '.join(args.paths)}", file=sys.stderr)
        return 1
    validation = _Validation()
    for file in files:
        validation.load(file)
    validation.look_beside([Path(p) for p in args.paths if Path(p).is_file()])
    for loaded in validation.workflows:
        validation.check(loaded)
    if validation.failed:
        total = len(files) + validation.beside
        print(f"{validation.failed} of {total} file(s) invalid", file=sys.stderr)
    return 1 if validation.failed else 0
