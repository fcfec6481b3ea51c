"""NPS next to CSAT, quarter by quarter, with the latest quarter's baseline.

A case's survey answers are the history entries that set its ``nps`` (0-10) or ``satisfied``
(true or false) data fields (:class:`~svcflow.report.facts.SurveyAnswer`); an answer's quarter is
the UTC quarter of its entry. **A case counts at most one answer per quarter, its latest there**
(a field the latest entry left out is taken from the case's earlier answer in that quarter): an
answer corrected within its quarter counts once, the 7- and 30-day revisits of one complaint in
one quarter once, and a VIP reviewed every quarter once in each. The *current* quarter is the one
holding the latest history entry of the whole store; its *baseline* is the quarter before it.
:func:`survey_figures` is pure, like the rest of the report.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from svcflow.report.facts import CaseFacts
from svcflow.report.measures import Nps, Rate

__all__ = [
    "SURVEY_GROUPINGS",
    "Baseline",
    "QuarterScores",
    "Surveys",
    "previous_quarter",
    "quarter_of",
    "survey_figures",
]

SURVEY_GROUPINGS = ("channel", "segment")
"""The dimensions the quarter's baseline is broken down by (besides overall)."""


@dataclass(frozen=True, slots=True)
class QuarterScores:
    """NPS and CSAT of the answers given in one quarter (``2026-Q1``)."""

    quarter: str
    nps: Nps
    csat: Rate


@dataclass(frozen=True, slots=True)
class Baseline:
    """This quarter's NPS and CSAT against the previous quarter's. ``nps_change`` is in NPS
    points, ``csat_change`` a share of 1 (4 places); each is ``None`` when either quarter has
    no answer."""

    nps: Nps
    nps_previous: Nps
    nps_change: float | None
    csat: Rate
    csat_previous: Rate
    csat_change: float | None


@dataclass(frozen=True, slots=True)
class Surveys:
    """The survey figures: every quarter with answers (oldest first), and the current
    quarter's baseline overall and per channel and segment (``None`` quarters: no history)."""

    quarter: str | None
    previous_quarter: str | None
    overall: Baseline
    groups: dict[str, dict[str, Baseline]]
    quarters: list[QuarterScores]


def quarter_of(moment: datetime) -> str:
    """The UTC calendar quarter of ``moment``: ``2026-Q1`` for January to March 2026."""
    day = moment.astimezone(UTC)
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def previous_quarter(quarter: str) -> str:
    """The quarter before ``quarter``: ``2025-Q4`` before ``2026-Q1``."""
    year, number = int(quarter[:4]), int(quarter[-1])
    return f"{year - 1}-Q4" if number == 1 else f"{year}-Q{number - 1}"


def survey_figures(cases: Sequence[CaseFacts], latest: datetime | None) -> Surveys:
    """The survey figures of ``cases``; ``latest`` is the store's latest history entry."""
    counted = [answer for case in cases for answer in _by_quarter(case)]
    by_quarter: dict[str, list[_Counted]] = defaultdict(list)
    for answer in counted:
        by_quarter[answer.quarter].append(answer)
    quarter = None if latest is None else quarter_of(latest)
    previous = None if quarter is None else previous_quarter(quarter)
    groups: dict[str, dict[str, Baseline]] = {}
    for grouping in SURVEY_GROUPINGS:
        members: dict[str, list[_Counted]] = defaultdict(list)
        for answer in counted:
            members[answer.case.group(grouping)].append(answer)
        groups[grouping] = {
            name: _baseline(members[name], quarter, previous) for name in sorted(members)
        }
    return Surveys(
        quarter=quarter,
        previous_quarter=previous,
        overall=_baseline(counted, quarter, previous),
        groups=groups,
        quarters=[
            QuarterScores(name, _nps(found), _csat(found))
            for name, found in sorted(by_quarter.items())
        ],
    )


@dataclass(frozen=True, slots=True)
class _Counted:
    """The answer a case counts in one quarter (module docstring)."""

    case: CaseFacts
    quarter: str
    satisfied: bool | None
    nps: int | None


def _by_quarter(case: CaseFacts) -> list[_Counted]:
    """The case's counted answer in each quarter it answered in: its latest there, a field the
    latest left out taken from the earlier answers of that quarter."""
    merged: dict[str, dict[str, Any]] = {}
    for answer in case.answers:
        fields = merged.setdefault(quarter_of(answer.at), {})
        if answer.satisfied is not None:
            fields["satisfied"] = answer.satisfied
        if answer.nps is not None:
            fields["nps"] = answer.nps
    return [
        _Counted(case, quarter, fields.get("satisfied"), fields.get("nps"))
        for quarter, fields in merged.items()
        if fields
    ]


def _baseline(answers: Sequence[_Counted], quarter: str | None, previous: str | None) -> Baseline:
    now = [answer for answer in answers if answer.quarter == quarter]
    before = [answer for answer in answers if answer.quarter == previous]
    nps, nps_previous = _nps(now), _nps(before)
    csat, csat_previous = _csat(now), _csat(before)
    return Baseline(
        nps=nps,
        nps_previous=nps_previous,
        nps_change=_change(nps.score, nps_previous.score, 1),
        csat=csat,
        csat_previous=csat_previous,
        csat_change=_change(csat.rate, csat_previous.rate, 4),
    )


def _nps(answers: Sequence[_Counted]) -> Nps:
    return Nps.of(found for answer in answers if (found := answer.nps) is not None)


def _csat(answers: Sequence[_Counted]) -> Rate:
    given = [answer.satisfied for answer in answers if answer.satisfied is not None]
    return Rate.of(sum(given), len(given))


def _change(now: float | None, before: float | None, places: int) -> float | None:
    return None if now is None or before is None else round(now - before, places)
