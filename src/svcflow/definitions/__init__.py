"""Definition files in, checked definitions out: workflows, calendars and rules files.

Everything here reads text or files and reports *every* problem with its ``file:line:col``:
:mod:`~svcflow.definitions.workflow` (one workflow file), :mod:`~svcflow.definitions.checks`
(what a workflow's names and expressions mean), :mod:`~svcflow.definitions.rulesfile` (shared
decision tables), :mod:`~svcflow.definitions.calendars` (calendar files) and
:mod:`~svcflow.definitions.directory` (a folder of all of them, calendars resolved).
"""

from __future__ import annotations

from svcflow.definitions.directory import (
    Definitions,
    calendar_id_of,
    calendars_beside,
    calendars_used,
    is_calendar_text,
    load_definitions,
    load_directory,
    resolve_calendars,
)

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
