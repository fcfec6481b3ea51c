"""What each console page shows, computed from the engine (no HTML here).

The SLA board lists every SLA clock of an open case that is breached or whose deadline falls
within the board's window (``ConsoleSettings.at_risk_within``), grouped by queue and workflow,
the clock with least time left first. The cases come from the store's indexed queries
(``Engine.at_risk`` and ``Engine.find(sla="breached")``), at most ``limit`` of each, so the
board reads only the cases it shows however many are open. A running clock already past its
deadline counts as breached even before the runner has fired the breach timer; a paused clock
is not at risk (it is not using time). "Time left" is the clock's remaining *business* time
(what the target counts); the deadline beside it is the wall-clock moment it runs out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from markupsafe import Markup

from svcflow.definitions.checks import expand_sources
from svcflow.engine import Engine
from svcflow.errors import DiagramUnavailable
from svcflow.graph import mermaid, svg
from svcflow.records import Case, HistoryEntry, Refusal, Timer
from svcflow.sla.status import SlaStatus

__all__ = [
    "Board",
    "BoardGroup",
    "BoardRow",
    "CaseList",
    "CaseView",
    "TransitionRow",
    "WorkflowView",
    "build_board",
    "case_list",
    "case_view",
    "workflow_view",
]

BREACHED = "breached"
AT_RISK = "at_risk"
NO_QUEUE = "-"


@dataclass(frozen=True, slots=True)
class BoardRow:
    """One SLA clock on the board: ``status`` is ``breached`` or ``at_risk``."""

    case_id: str
    workflow: str
    state: str
    queue: str
    metric: str
    status: str
    deadline: datetime | None
    remaining: timedelta


@dataclass(frozen=True, slots=True)
class BoardGroup:
    """The board's rows of one queue and workflow, least time left first."""

    queue: str
    workflow: str
    rows: tuple[BoardRow, ...]

    @property
    def breached(self) -> int:
        """How many of the rows are breached clocks."""
        return sum(1 for row in self.rows if row.status == BREACHED)

    @property
    def at_risk(self) -> int:
        """How many of the rows are clocks at risk (not yet breached)."""
        return len(self.rows) - self.breached


@dataclass(frozen=True, slots=True)
class Board:
    """The whole board at ``now``: groups ordered by queue then workflow. ``complete`` is
    False when more cases are at risk or breached than the board's limit showed."""

    now: datetime
    within: timedelta
    groups: tuple[BoardGroup, ...]
    complete: bool

    @property
    def breached(self) -> int:
        """Breached clocks on the board."""
        return sum(group.breached for group in self.groups)

    @property
    def at_risk(self) -> int:
        """Clocks at risk on the board."""
        return sum(group.at_risk for group in self.groups)


def build_board(
    engine: Engine, within: timedelta, queue_field: str = "queue", limit: int = 200
) -> Board:
    """The SLA board now: the clocks of the cases at risk within ``within`` or breached (at
    most ``limit`` cases of each). The queue is the case data field ``queue_field``."""
    now = engine.clock.now()
    at_risk = engine.at_risk(within, limit=limit)
    breached = engine.find(sla="breached", limit=limit)
    cases = {case.id: case for case in [*at_risk, *breached]}
    rows = [
        BoardRow(
            case_id=case.id,
            workflow=case.workflow,
            state=case.state,
            queue=str(case.data.get(queue_field) or NO_QUEUE),
            metric=status.metric,
            status=kind,
            deadline=status.deadline,
            remaining=status.remaining,
        )
        for case in cases.values()
        for status in engine.sla(case.id)
        if (kind := _risk(status, now, within)) is not None
    ]
    groups: dict[tuple[str, str], list[BoardRow]] = {}
    for row in sorted(rows, key=lambda row: (row.remaining, row.case_id, row.metric)):
        groups.setdefault((row.queue, row.workflow), []).append(row)
    return Board(
        now=now,
        within=within,
        groups=tuple(
            BoardGroup(queue=queue, workflow=workflow, rows=tuple(found))
            for (queue, workflow), found in sorted(groups.items())
        ),
        complete=at_risk.next is None and breached.next is None,
    )


def _risk(status: SlaStatus, now: datetime, within: timedelta) -> str | None:
    if status.status == "breached":
        return BREACHED
    if status.status != "running" or status.deadline is None:
        return None
    if status.deadline <= now:
        return BREACHED
    return AT_RISK if status.deadline - now <= within else None


@dataclass(frozen=True, slots=True)
class CaseView:
    """A case page: the case, its title, timeline, clocks, timers, what may fire now and the
    events refused for lack of authority.

    ``triggers`` may fire now; ``conditional`` are the other triggers leaving the state, each
    with the condition that does not hold yet (fields set with the trigger may make it hold).
    """

    case: Case
    title: str
    final: bool
    history: Sequence[HistoryEntry]
    clocks: Sequence[SlaStatus]
    timers: Sequence[Timer]
    triggers: Sequence[str]
    conditional: Sequence[tuple[str, str]]
    refusals: Sequence[Refusal]


def case_view(engine: Engine, case_id: str, actor: str) -> CaseView:
    """The case page for ``actor``: only the triggers this person may fire are offered.
    ``CaseNotFound`` when there is no such case."""
    case = engine.get(case_id)
    spec = engine.registry.get(case.workflow, case.version).spec
    allowed = engine.triggers(case_id, actor=actor)
    conditional: dict[str, str] = {}
    for transition in spec.transitions:
        leaves = case.state in expand_sources(transition, spec)
        if leaves and transition.when and transition.trigger not in allowed:
            conditional.setdefault(transition.trigger, transition.when)
    return CaseView(
        case=case,
        title=spec.title,
        final=spec.states[case.state].final,
        history=engine.history(case_id),
        clocks=engine.sla(case_id),
        timers=engine.timers(case_id),
        triggers=allowed,
        conditional=sorted(conditional.items()),
        refusals=engine.refusals(case_id),
    )


@dataclass(frozen=True, slots=True)
class TransitionRow:
    """One line of a workflow's transition table."""

    source: str
    trigger: str
    target: str
    condition: str


@dataclass(frozen=True, slots=True)
class WorkflowView:
    """A workflow page: the newest loaded version, its Mermaid diagram and its transitions.

    ``picture`` is the diagram drawn as an ``<svg>`` element when it was asked for and could
    be drawn; ``unavailable`` says why it could not (the page then shows the Mermaid source)."""

    workflow: str
    version: int
    title: str
    description: str
    diagram: str
    transitions: Sequence[TransitionRow]
    required: Sequence[str]
    picture: Markup | None = None
    unavailable: str | None = None


def workflow_view(engine: Engine, workflow: str, draw: float | None = None) -> WorkflowView:
    """The page of ``workflow`` (its newest version); ``KeyError`` when none is loaded.

    With ``draw`` (seconds Graphviz may take) the diagram is also drawn as SVG."""
    spec = engine.workflows[workflow].spec
    picture, unavailable = None, None
    if draw is not None:
        try:
            picture = Markup(svg(spec, timeout=draw))
        except DiagramUnavailable as error:
            unavailable = str(error)
    return WorkflowView(
        workflow=spec.workflow,
        version=spec.version,
        title=spec.title,
        description=spec.description,
        diagram=mermaid(spec),
        transitions=[
            TransitionRow(
                source=", ".join(transition.sources),
                trigger=transition.trigger,
                target=transition.to or "-",
                condition=transition.when or "",
            )
            for transition in spec.transitions
        ],
        required=[name for name, field in spec.data.items() if field.required],
        picture=picture,
        unavailable=unavailable,
    )


CASE_FILTERS = ("workflow", "state", "assignee", "queue", "sla")
"""The filters of the cases page, each one of ``Engine.find``'s (empty means any)."""


@dataclass(frozen=True, slots=True)
class CaseList:
    """One page of the cases page: the filters used, the cases, the next page's cursor."""

    filters: Mapping[str, str]
    cases: Sequence[Case]
    next: str | None


def case_list(engine: Engine, given: Mapping[str, str], limit: int) -> CaseList:
    """The cases the ``given`` filters (of :data:`CASE_FILTERS`) find, oldest first, ``limit``
    to a page after the cursor ``given["after"]``. ``InvalidQuery`` for a filter the store
    cannot answer (an unknown SLA status, a bad cursor)."""
    filters = {name: given.get(name, "").strip() for name in CASE_FILTERS}
    page = engine.find(
        filters["workflow"] or None,
        filters["state"] or None,
        assignee=filters["assignee"] or None,
        queue=filters["queue"] or None,
        sla=filters["sla"] or None,
        limit=limit,
        after=given.get("after") or None,
    )
    return CaseList(filters=filters, cases=list(page), next=page.next)
