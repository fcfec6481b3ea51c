"""What one case's history says, for the KPI report: its data, its SLA cycles, its
escalations. :func:`read_case` walks the entries once, in order, and knows nothing about the
workflow beyond the conventions in ``docs/report.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from svcflow.durations import parse_duration
from svcflow.records import HistoryEntry
from svcflow.report.measures import nps_answer
from svcflow.store.base import CaseHistory

__all__ = [
    "FIRST_RESPONSE",
    "RESOLUTION",
    "SURVEY_FIELDS",
    "UNKNOWN",
    "CaseFacts",
    "Cycle",
    "SurveyAnswer",
    "read_case",
]

FIRST_RESPONSE = "first_response"
RESOLUTION = "resolution"
UNKNOWN = "unknown"
"""The group of a case whose grouping field is missing or empty."""
SURVEY_FIELDS = frozenset({"satisfied", "nps"})
"""The data fields a survey answer sets: CSAT (``satisfied``, true or false) and NPS (``nps``,
0-10). Each entry that sets one of them is an answer (:class:`SurveyAnswer`)."""


@dataclass(frozen=True, slots=True)
class SurveyAnswer:
    """One survey answer of a case: the entry's moment and what it set (``None``: not asked in
    that entry, or not an answer, such as an NPS of ``7.5``)."""

    at: datetime
    satisfied: bool | None
    nps: int | None


@dataclass(slots=True)
class Cycle:
    """One cycle of one SLA metric of a case, as its events tell it.

    The first ``breached`` event of a cycle marks its deadline passing (``breached_at``); a
    later ``breached`` event, like ``met``, is a stop. ``first_stop`` is the earliest stop."""

    started_at: datetime
    budget: timedelta | None
    status: str = "running"
    breached_at: datetime | None = None
    first_stop: datetime | None = None
    warnings: int = 0

    @property
    def outcome(self) -> str:
        """``breached`` (whether or not it stopped), ``met``, ``open`` or ``cancelled``."""
        if self.breached_at is not None:
            return "breached"
        if self.status == "stopped":
            return "met"
        return "cancelled" if self.status == "cancelled" else "open"

    def stop(self, at: datetime) -> None:
        self.status = "stopped"
        if self.first_stop is None:
            self.first_stop = at


@dataclass(slots=True)
class CaseFacts:
    """The facts the report needs about one case. ``raised_others`` (another case names this
    one as its ``parent_case``) is set by the caller, who sees every case."""

    case_id: str
    workflow: str
    started_at: datetime
    last_at: datetime
    data: dict[str, Any]
    cycles: dict[tuple[str, int], Cycle]
    escalations: list[tuple[str, int, str]]
    reopened: bool
    waited: bool
    raised_others: bool = field(default=False)
    surveyed_at: datetime | None = None
    """When the case's survey answer (``satisfied`` or ``nps``) was last set."""
    answers: list[SurveyAnswer] = field(default_factory=list)
    """Every survey answer the case was given, in history order."""
    first_response_metric: str = FIRST_RESPONSE
    resolution_metric: str = RESOLUTION

    def group(self, name: str) -> str:
        """The case's value of a grouping field (``workflow`` or a data field), as text."""
        if name == "workflow":
            return self.workflow
        value = self.data.get(name)
        return UNKNOWN if value is None or value == "" else str(value)

    @property
    def parent_case(self) -> str | None:
        parent = self.data.get("parent_case")
        return str(parent) if parent else None

    @property
    def satisfied(self) -> bool | None:
        value = self.data.get("satisfied")
        return value if isinstance(value, bool) else None

    @property
    def nps(self) -> int | None:
        """The customer's NPS answer, 0-10 (``None``: not asked, or not a whole number)."""
        return nps_answer(self.data.get("nps"))

    @property
    def first_response_seconds(self) -> float | None:
        cycle = self.cycles.get((self.first_response_metric, 1))
        if cycle is None or cycle.first_stop is None:
            return None
        return (cycle.first_stop - cycle.started_at).total_seconds()

    @property
    def resolved_at(self) -> datetime | None:
        stops = [
            cycle.first_stop
            for (metric, _), cycle in self.cycles.items()
            if metric == self.resolution_metric and cycle.first_stop is not None
        ]
        return min(stops, default=None)

    @property
    def resolution_seconds(self) -> float:
        """Wall time from the case's start to its first resolution stop (resolved cases)."""
        resolved = self.resolved_at
        return 0.0 if resolved is None else (resolved - self.started_at).total_seconds()

    @property
    def first_contact(self) -> bool:
        """Resolved, never reopened, never escalated, never waited on the customer."""
        return (
            self.resolved_at is not None
            and not self.reopened
            and not self.escalations
            and not self.raised_others
            and not self.waited
        )


def read_case(
    history: CaseHistory, first_response: str = FIRST_RESPONSE, resolution: str = RESOLUTION
) -> CaseFacts:
    """The facts of one case's history (entries in ``seq`` order; at least one).
    ``first_response`` and ``resolution`` name the SLA metrics that time them (the workflow's
    ``kpi:`` may name others)."""
    entries = [entry for entry in history.entries if entry.kind != "erased"]
    data: dict[str, Any] = {}
    cycles: dict[tuple[str, int], Cycle] = {}
    escalations: list[tuple[str, int, str]] = []
    reopened = waited = False
    surveyed_at: datetime | None = None
    answers: list[SurveyAnswer] = []
    for entry in entries:
        answer = _survey_answer(entry)
        if answer is not None:
            surveyed_at = entry.at
            answers.append(answer)
        if entry.payload:
            data.update(entry.payload)
        details = entry.details
        changed = details.get("set")
        if changed:
            data.update(changed)
        if entry.trigger == "reopen":
            reopened = True
        for event in details.get("sla", ()):
            at = _moment(event.get("at"), entry.at)
            if "metric" in event:
                metric, kind = str(event["metric"]), event.get("event")
                key = (metric, int(event.get("cycle", 1)))
                if metric == resolution and (kind == "continued" or key[1] > 1):
                    reopened = True
                if metric == resolution and kind == "paused":
                    waited = True
                _apply(cycles, key, kind, at, event)
            elif event.get("event") == "escalated":
                level = int(event.get("level", 0))
                name = str(event.get("level_name") or f"level {level + 1}")
                escalations.append((str(event.get("escalation", "")), level, name))
    return CaseFacts(
        case_id=history.case_id,
        workflow=history.workflow,
        started_at=entries[0].at,
        last_at=max(entry.at for entry in entries),
        data=data,
        cycles=cycles,
        escalations=escalations,
        reopened=reopened,
        waited=waited,
        surveyed_at=surveyed_at,
        answers=answers,
        first_response_metric=first_response,
        resolution_metric=resolution,
    )


def _survey_answer(entry: HistoryEntry) -> SurveyAnswer | None:
    """The answer the entry records, if it sets a survey field (the payload, then what the
    step set)."""
    given = {**(entry.payload or {}), **(entry.details.get("set") or {})}
    if not any(name in SURVEY_FIELDS for name in given):
        return None
    satisfied = given.get("satisfied")
    return SurveyAnswer(
        at=entry.at,
        satisfied=satisfied if isinstance(satisfied, bool) else None,
        nps=nps_answer(given.get("nps")),
    )


def _apply(
    cycles: dict[tuple[str, int], Cycle],
    key: tuple[str, int],
    kind: Any,
    at: datetime,
    event: dict[str, Any],
) -> None:
    if kind in ("started", "reset"):
        cycles[key] = Cycle(at, _budget(event.get("budget")))
        return
    cycle = cycles.get(key)
    if cycle is None:  # history that begins mid-cycle (should not happen): start it here
        cycle = cycles[key] = Cycle(at, None)
    if kind in ("continued", "resumed"):
        cycle.status = "running"
    elif kind == "paused":
        cycle.status = "paused"
    elif kind == "cancelled":
        cycle.status = "cancelled"
    elif kind == "warned":
        cycle.warnings += 1
    elif kind == "met":
        cycle.stop(at)
    elif kind == "breached":
        if cycle.breached_at is None:
            cycle.breached_at = at
        else:
            cycle.stop(at)


def _budget(text: Any) -> timedelta | None:
    try:
        return parse_duration(text) if isinstance(text, str) else None
    except ValueError:
        return None


def _moment(text: Any, fallback: datetime) -> datetime:
    return datetime.fromisoformat(text) if isinstance(text, str) else fallback
