"""The KPI figures, rebuilt from case history alone.

:func:`compute_report` is pure: it reads an iterable of :class:`CaseHistory` (each case's
workflow and its history entries in order) and returns a :class:`Report`. It does no I/O and
never reads a clock, so the same history always gives the same report. The conventions it
follows (which events count as a first response, a resolution, a reopen...) are listed in
``docs/report.md``; :mod:`svcflow.report.facts` reads them off one case's history.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from svcflow.report.care import Care, care_figures
from svcflow.report.facts import FIRST_RESPONSE, RESOLUTION, CaseFacts, Cycle, read_case
from svcflow.report.measures import Nps, Rate
from svcflow.report.surveys import Surveys, survey_figures
from svcflow.spec.kpi import KpiSpec
from svcflow.store.base import CaseHistory

__all__ = [
    "CRISIS_MARKS",
    "CRISIS_WORKFLOW",
    "GROUPINGS",
    "TARGETS",
    "CrisisMetric",
    "CrisisTimeline",
    "DayCounts",
    "Durations",
    "EscalationLevel",
    "Escalations",
    "Figures",
    "Nps",
    "Rate",
    "Report",
    "SlaCounts",
    "SlaRow",
    "compute_report",
    "nearest_rank",
]

CRISIS_WORKFLOW = "crisis"
"""Cases of this workflow get a timeline each."""

CRISIS_MARKS = {"internal alert": 30 * 60, "response plan": 60 * 60}
"""The crisis brief's marks, in seconds from the crisis start: alert in 30 min, plan in 1 h."""

GROUPINGS = ("workflow", "channel", "category", "segment")
"""The dimensions every figure is broken down by (besides overall)."""

TARGETS: Mapping[str, float] = {
    "first_contact_resolution": 0.90,
    "csat": 0.85,
    "retention_callbacks_in_time": 1.0,
    "resolved_within_24h": 1.0,
    "sla_attainment": 1.0,
    "first_response_mean_seconds": 5 * 60,
    "complaint_response_seconds": 15 * 60,
}
"""The domain brief's targets, shown next to the figures (rates as shares of 1)."""

_DAY_SECONDS = 24 * 3600


def nearest_rank(ordered: Sequence[float], percent: int) -> float:
    """The nearest-rank percentile of sorted values: the smallest value with at least
    ``percent``% of the values at or below it (always one of the values)."""
    rank = max(1, -(-percent * len(ordered) // 100))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class Durations:
    """Median, 90th percentile (nearest rank) and mean of some durations, in seconds; ``None``
    when ``count`` is 0."""

    count: int
    median: float | None
    p90: float | None
    mean: float | None

    @classmethod
    def of(cls, seconds: Iterable[float]) -> Durations:
        ordered = sorted(seconds)
        if not ordered:
            return cls(0, None, None, None)
        mean = round(sum(ordered) / len(ordered), 3)
        return cls(
            len(ordered),
            round(nearest_rank(ordered, 50), 3),
            round(nearest_rank(ordered, 90), 3),
            mean,
        )


@dataclass(frozen=True, slots=True)
class SlaCounts:
    """SLA cycles of one metric by outcome. A cycle with a ``breached`` event is breached
    (even while it still runs); ``attainment`` = met / (met + breached)."""

    met: int = 0
    breached: int = 0
    open: int = 0
    cancelled: int = 0
    warnings: int = 0
    attainment: float | None = None

    @classmethod
    def of(cls, cycles: Iterable[Cycle]) -> SlaCounts:
        outcomes: Counter[str] = Counter()
        warnings = 0
        for cycle in cycles:
            outcomes[cycle.outcome] += 1
            warnings += cycle.warnings
        finished = outcomes["met"] + outcomes["breached"]
        return cls(
            outcomes["met"],
            outcomes["breached"],
            outcomes["open"],
            outcomes["cancelled"],
            warnings,
            round(outcomes["met"] / finished, 4) if finished else None,
        )


@dataclass(frozen=True, slots=True)
class SlaRow:
    """SLA attainment of one metric of one workflow."""

    workflow: str
    metric: str
    counts: SlaCounts
    target: float = 1.0
    """The attainment target: the workflow's ``kpi.sla_attainment``, else ``TARGETS``'."""


@dataclass(frozen=True, slots=True)
class Figures:
    """Every KPI of one group of cases (all cases, or one workflow, channel, category...)."""

    cases: int
    resolved: int
    first_response: Durations
    resolution_time: Durations
    resolved_within_24h: Rate
    first_contact_resolution: Rate
    csat: Rate
    nps: Nps
    breaches: int
    warnings: int
    escalated_cases: int
    escalations: dict[str, int]
    sla: dict[str, SlaCounts]


@dataclass(frozen=True, slots=True)
class EscalationLevel:
    """``escalated`` events of one level name; ``level`` is the lowest level index it had."""

    level_name: str
    level: int
    count: int


@dataclass(frozen=True, slots=True)
class Escalations:
    """Escalation events by level (in level order) and by chain, the cases that escalated, and
    the cases raised from another case (``parent_case``)."""

    by_level: list[EscalationLevel]
    by_chain: dict[str, dict[str, int]]
    escalated_cases: int
    raised_cases: int


@dataclass(frozen=True, slots=True)
class CrisisMetric:
    """One SLA clock of a crisis case, first cycle, against its budget. Offsets are seconds
    from the crisis case's start; ``stopped_at`` is ``None`` while the clock has not stopped."""

    metric: str
    started_at: str
    budget_seconds: float | None
    deadline: str | None
    stopped_at: str | None
    elapsed_seconds: float | None
    breached_at: str | None
    outcome: str
    start_offset: float
    deadline_offset: float | None
    stop_offset: float | None


@dataclass(frozen=True, slots=True)
class CrisisTimeline:
    """A crisis case: its start, the data that describes it, and its clocks in start order.
    ``last_offset`` is its latest history entry, in seconds from its start."""

    case_id: str
    started_at: str
    tier: str
    event: str
    channel: str
    last_offset: float
    metrics: list[CrisisMetric]


@dataclass(frozen=True, slots=True)
class DayCounts:
    """One UTC day of the period: cases opened, cases first resolved, SLA breaches."""

    day: str
    opened: int
    resolved: int
    breaches: int


@dataclass(frozen=True, slots=True)
class Report:
    """The KPI report. ``history_from`` is the first case's start and ``history_until`` the
    latest history entry's time (``None`` for an empty store): the report says which period the
    history covers, never when it was generated. ``daily`` has one entry per UTC day of it.
    ``surveys`` holds NPS and CSAT by quarter with the current quarter's baseline, ``care`` the
    churn-risk cases and their callbacks."""

    history_until: str | None
    cases: int
    overall: Figures
    groups: dict[str, dict[str, Figures]]
    sla: list[SlaRow]
    escalations: Escalations
    crises: list[CrisisTimeline]
    surveys: Surveys
    care: Care
    targets: dict[str, float] = field(default_factory=lambda: dict(TARGETS))
    history_from: str | None = None
    daily: list[DayCounts] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready data."""
        return asdict(self)

    def to_json(self) -> str:
        """The report as JSON text: sorted keys, two-space indent, ending in a newline. Equal
        histories give byte-identical text."""
        return json.dumps(self.to_dict(), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def compute_report(
    histories: Iterable[CaseHistory],
    crisis_workflow: str = CRISIS_WORKFLOW,
    kpi: Mapping[str, KpiSpec] | None = None,
) -> Report:
    """The report of these cases' histories. Case order does not matter. ``kpi`` holds the
    ``kpi:`` section of each workflow by id (which metrics time the first response and the
    resolution, the attainment targets); without it the defaults apply."""
    settings = kpi or {}
    cases = sorted(
        (
            _read(history, settings.get(history.workflow))
            for history in histories
            if history.entries
        ),
        key=lambda case: (case.started_at, case.case_id),
    )
    parents = {case.parent_case for case in cases if case.parent_case}
    for case in cases:
        case.raised_others = case.case_id in parents
    groups: dict[str, dict[str, Figures]] = {}
    for grouping in GROUPINGS:
        members: dict[str, list[CaseFacts]] = defaultdict(list)
        for case in cases:
            members[case.group(grouping)].append(case)
        groups[grouping] = {name: _figures(members[name]) for name in sorted(members)}
    latest = max((case.last_at for case in cases), default=None)
    return Report(
        history_from=_moment(cases[0].started_at) if cases else None,
        daily=_daily(cases),
        history_until=None if latest is None else _moment(latest),
        cases=len(cases),
        overall=_figures(cases),
        groups=groups,
        sla=_sla_rows(cases, settings),
        escalations=_escalations(cases),
        crises=[_timeline(case) for case in cases if case.workflow == crisis_workflow],
        surveys=survey_figures(cases, latest),
        care=care_figures(cases),
    )


def _figures(cases: Sequence[CaseFacts]) -> Figures:
    resolved = [case for case in cases if case.resolved_at is not None]
    within = sum(1 for case in resolved if case.resolution_seconds <= _DAY_SECONDS)
    answered = [case.satisfied for case in cases if case.satisfied is not None]
    escalations: Counter[str] = Counter()
    cycles: dict[str, list[Cycle]] = defaultdict(list)
    for case in cases:
        escalations.update(name for _, _, name in case.escalations)
        for (metric, _), cycle in case.cycles.items():
            cycles[metric].append(cycle)
    return Figures(
        cases=len(cases),
        resolved=len(resolved),
        first_response=Durations.of(
            case.first_response_seconds for case in cases if case.first_response_seconds is not None
        ),
        resolution_time=Durations.of(case.resolution_seconds for case in resolved),
        resolved_within_24h=Rate.of(within, len(resolved)),
        first_contact_resolution=Rate.of(
            sum(1 for case in resolved if case.first_contact), len(resolved)
        ),
        csat=Rate.of(sum(answered), len(answered)),
        nps=Nps.of(answer for case in cases if (answer := case.nps) is not None),
        breaches=sum(c.outcome == "breached" for found in cycles.values() for c in found),
        warnings=sum(c.warnings for found in cycles.values() for c in found),
        escalated_cases=sum(1 for case in cases if case.escalations),
        escalations=dict(sorted(escalations.items())),
        sla={metric: SlaCounts.of(cycles[metric]) for metric in sorted(cycles)},
    )


def _read(history: CaseHistory, kpi: KpiSpec | None) -> CaseFacts:
    if kpi is None:
        return read_case(history, FIRST_RESPONSE, RESOLUTION)
    return read_case(history, kpi.first_response, kpi.resolution)


def _sla_rows(cases: Sequence[CaseFacts], kpi: Mapping[str, KpiSpec]) -> list[SlaRow]:
    cycles: dict[tuple[str, str], list[Cycle]] = defaultdict(list)
    for case in cases:
        for (metric, _), cycle in case.cycles.items():
            cycles[(case.workflow, metric)].append(cycle)
    rows = []
    for workflow, metric in sorted(cycles):
        settings = kpi.get(workflow)
        target = None if settings is None else settings.attainment_target(metric)
        rows.append(
            SlaRow(
                workflow,
                metric,
                SlaCounts.of(cycles[(workflow, metric)]),
                TARGETS["sla_attainment"] if target is None else target,
            )
        )
    return rows


def _daily(cases: Sequence[CaseFacts]) -> list[DayCounts]:
    """Every UTC day from the first case's start to the latest entry, zeros included."""
    if not cases:
        return []
    opened: Counter[date] = Counter(_day(case.started_at) for case in cases)
    resolved: Counter[date] = Counter(
        _day(case.resolved_at) for case in cases if case.resolved_at is not None
    )
    breaches: Counter[date] = Counter(
        _day(cycle.breached_at)
        for case in cases
        for cycle in case.cycles.values()
        if cycle.breached_at is not None
    )
    first = _day(cases[0].started_at)
    last = max(_day(case.last_at) for case in cases)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return [DayCounts(day.isoformat(), opened[day], resolved[day], breaches[day]) for day in days]


def _day(value: datetime) -> date:
    return value.astimezone(UTC).date()


def _escalations(cases: Sequence[CaseFacts]) -> Escalations:
    counts: Counter[str] = Counter()
    lowest: dict[str, int] = {}
    chains: dict[str, Counter[str]] = defaultdict(Counter)
    for case in cases:
        for chain, level, name in case.escalations:
            counts[name] += 1
            lowest[name] = min(level, lowest.get(name, level))
            chains[chain][name] += 1
    return Escalations(
        by_level=[
            EscalationLevel(name, lowest[name], counts[name])
            for name in sorted(counts, key=lambda name: (lowest[name], name))
        ],
        by_chain={chain: dict(sorted(chains[chain].items())) for chain in sorted(chains)},
        escalated_cases=sum(1 for case in cases if case.escalations),
        raised_cases=sum(1 for case in cases if case.parent_case),
    )


def _timeline(case: CaseFacts) -> CrisisTimeline:
    start = case.started_at
    metrics = []
    firsts = [(key, cycle) for key, cycle in case.cycles.items() if key[1] == 1]
    for (metric, _), cycle in sorted(firsts, key=lambda item: (item[1].started_at, item[0][0])):
        deadline = None if cycle.budget is None else cycle.started_at + cycle.budget
        stopped = cycle.first_stop
        metrics.append(
            CrisisMetric(
                metric=metric,
                started_at=_moment(cycle.started_at),
                budget_seconds=None if cycle.budget is None else cycle.budget.total_seconds(),
                deadline=None if deadline is None else _moment(deadline),
                stopped_at=None if stopped is None else _moment(stopped),
                elapsed_seconds=None if stopped is None else _seconds(stopped - cycle.started_at),
                breached_at=None if cycle.breached_at is None else _moment(cycle.breached_at),
                outcome=cycle.outcome,
                start_offset=_seconds(cycle.started_at - start),
                deadline_offset=None if deadline is None else _seconds(deadline - start),
                stop_offset=None if stopped is None else _seconds(stopped - start),
            )
        )
    return CrisisTimeline(
        case_id=case.case_id,
        started_at=_moment(start),
        tier=case.group("tier"),
        event=case.group("event"),
        channel=case.group("channel"),
        last_offset=_seconds(case.last_at - start),
        metrics=metrics,
    )


def _moment(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _seconds(value: Any) -> float:
    return round(float(value.total_seconds()), 3)
