"""A directory of definitions: workflow files and the calendar files they name.

Process owners keep both in one folder (``workflows/``); a file whose top-level key is
``calendar:`` is a calendar, one whose top-level key is ``tables:`` (and no ``workflow:``) is a
rules file of shared decision tables, any other is a workflow. Workflows name calendars (SLA
targets, escalation delays, quiet hours), and the names are checked here against the calendar
files, with the position of the reference, since a workflow file alone cannot know them.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from svcflow.definitions.calendars import load_calendar_text
from svcflow.definitions.rulesfile import (
    LoadedRules,
    duplicate_table_problems,
    is_rules_text,
    load_rules_text,
)
from svcflow.definitions.workflow import (
    LoadedWorkflow,
    duplicate_problems,
    load_workflow_text,
    workflow_files,
)
from svcflow.errors import Problem, WorkflowDefinitionError, did_you_mean
from svcflow.sla.calendar import TWENTY_FOUR_SEVEN, BusinessCalendar
from svcflow.spec.sla import ALWAYS_OPEN
from svcflow.spec.yamlsource import KeyPath

__all__ = [
    "Definitions",
    "calendar_id_of",
    "calendars_beside",
    "calendars_used",
    "is_calendar_text",
    "load_definitions",
    "load_directory",
    "resolve_calendars",
]

_CALENDAR_KEY = re.compile(r"^calendar\s*:", re.MULTILINE)
_WORKFLOW_KEY = re.compile(r"^workflow\s*:", re.MULTILINE)
_CALENDAR_ID = re.compile(r"^calendar\s*:\s*['\"]?([A-Za-z0-9_-]+)", re.MULTILINE)


def calendar_id_of(text: str) -> str | None:
    """The id a calendar file gives itself, read without loading it: when the file is broken,
    workflows that name this id are not told the calendar is unknown (its own error says why)."""
    found = _CALENDAR_ID.search(text)
    return found.group(1) if found else None


@dataclass(frozen=True)
class Definitions:
    """Every workflow and calendar found, calendars by id."""

    workflows: list[LoadedWorkflow] = field(default_factory=list)
    calendars: dict[str, BusinessCalendar] = field(default_factory=dict)
    rules: list[LoadedRules] = field(default_factory=list)


def is_calendar_text(text: str) -> bool:
    """Whether a definition file is a calendar (a top-level ``calendar:`` key and no
    ``workflow:`` key)."""
    return bool(_CALENDAR_KEY.search(text)) and not _WORKFLOW_KEY.search(text)


def load_definitions(*paths: str | Path) -> Definitions:
    """Load every workflow and calendar file under ``paths``; every problem of every file is
    raised at once, including calendar names that no calendar file defines."""
    problems: list[Problem] = []
    found = Definitions()
    calendar_files: dict[str, str] = {}
    broken: set[str] = set()
    for file in workflow_files(paths):
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            problems.append(Problem(str(file), 1, 1, "", f"cannot read the file: {error}"))
            continue
        try:
            if is_calendar_text(text):
                calendar = load_calendar_text(text, str(file))
                if calendar.id in calendar_files:
                    problems.append(
                        Problem(
                            str(file),
                            1,
                            1,
                            "calendar",
                            f"calendar '{calendar.id}' is also defined in "
                            f"{calendar_files[calendar.id]}; give each calendar its own id",
                        )
                    )
                calendar_files[calendar.id] = str(file)
                found.calendars[calendar.id] = calendar
            elif is_rules_text(text):
                found.rules.append(load_rules_text(text, str(file)))
            else:
                found.workflows.append(load_workflow_text(text, str(file)))
        except WorkflowDefinitionError as error:
            problems.extend(error.problems)
            broken.update(filter(None, [calendar_id_of(text) if is_calendar_text(text) else None]))
    problems.extend(duplicate_problems(found.workflows))
    problems.extend(duplicate_table_problems(found.rules))
    for workflow in found.workflows:
        try:
            resolve_calendars(workflow, found.calendars, broken)
        except WorkflowDefinitionError as error:
            problems.extend(error.problems)
    if problems:
        raise WorkflowDefinitionError(problems)
    return found


def calendars_beside(workflow_file: Path) -> dict[str, BusinessCalendar]:
    """The calendars in a workflow file's directory (and below), for tools given one file."""
    found: dict[str, BusinessCalendar] = {}
    for file in workflow_files([workflow_file.parent]):
        text = file.read_text(encoding="utf-8")
        if is_calendar_text(text):
            calendar = load_calendar_text(text, str(file))
            found[calendar.id] = calendar
    return found


def load_directory(path: str | Path) -> list[LoadedWorkflow]:
    """Load every workflow file under ``path`` (calendar files are checked and skipped)."""
    return load_definitions(path).workflows


def calendars_used(loaded: LoadedWorkflow) -> list[tuple[KeyPath, str]]:
    """Every calendar name a workflow uses, with the key path that names it."""
    spec = loaded.spec
    used: list[tuple[KeyPath, str]] = []
    if spec.sla is not None:
        used.append((("sla", "calendar"), spec.sla.calendar))
        for name, metric in spec.sla.metrics.items():
            for index, target in enumerate(metric.targets):
                if target.calendar is not None:
                    used.append(
                        (("sla", "metrics", name, "targets", index, "calendar"), target.calendar)
                    )
    for name, chain in spec.escalations.items():
        if chain.calendar is not None:
            used.append((("escalations", name, "calendar"), chain.calendar))
    if spec.quiet_hours is not None:
        used.append((("quiet_hours", "calendar"), spec.quiet_hours.calendar))
    for name, schedule in spec.schedules.items():
        if schedule.calendar is not None:
            used.append((("schedules", name, "calendar"), schedule.calendar))
    return used


def resolve_calendars(
    loaded: LoadedWorkflow,
    calendars: Mapping[str, BusinessCalendar],
    broken: Collection[str] = (),
) -> dict[str, BusinessCalendar]:
    """The calendars a workflow names, by name; an unknown name is a definition error with its
    position (calendars live in their own files, so the loader alone cannot check them). Names
    in ``broken`` are calendar files that failed to load: their own errors are the root cause,
    so they are not reported again as unknown here."""
    known = {ALWAYS_OPEN: TWENTY_FOUR_SEVEN, **calendars}
    problems = []
    used = calendars_used(loaded)
    for path, name in used:
        if name not in known and name not in broken:
            problems.append(
                loaded.source_map.problem(
                    path,
                    f"unknown calendar '{name}'"
                    + did_you_mean(name, sorted(known), noun="calendar")
                    + "; calendars are the files with a 'calendar:' id next to the workflows",
                )
            )
    if problems:
        raise WorkflowDefinitionError(problems)
    return known
