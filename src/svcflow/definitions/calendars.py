"""Calendar files: YAML text to a compiled :class:`~svcflow.sla.calendar.BusinessCalendar`,
every problem reported at once with its ``file:line:col``."""

from __future__ import annotations

from svcflow.sla.calendar import BusinessCalendar
from svcflow.spec.calendar import CalendarSpec
from svcflow.spec.shape import parse_mapping, validate_shape

__all__ = ["load_calendar_text"]


def load_calendar_text(text: str, file: str = "<string>") -> BusinessCalendar:
    """Load a calendar from YAML text; every problem is raised at once as a
    :class:`~svcflow.errors.WorkflowDefinitionError` with ``file:line:col`` positions."""
    document = parse_mapping(
        text,
        file,
        "a calendar file is a mapping with keys calendar, timezone, hours and optionally "
        "holidays, country_holidays and working_days",
    )
    return BusinessCalendar(validate_shape(CalendarSpec, document.data, document.source_map))
