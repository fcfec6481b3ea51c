"""How report values read: durations, shares, moments, labels. Shared by the text and HTML
renderings so both say the same thing the same way."""

from __future__ import annotations

from datetime import datetime

from svcflow.report.care import Care
from svcflow.report.figures import Figures
from svcflow.report.surveys import Baseline

__all__ = [
    "GROUPING_TITLES",
    "SURVEY_HEAD",
    "care_lines",
    "change",
    "duration",
    "history_span",
    "kpi_cells",
    "moment",
    "nps_score",
    "offset",
    "percent",
    "survey_cells",
]

GROUPING_TITLES = {
    "workflow": "by workflow",
    "channel": "by channel",
    "category": "by category",
    "segment": "by segment",
}


def duration(seconds: float | None) -> str:
    """``45s``, ``4m05s``, ``5m``, ``2h03m``, ``1h``, ``1d02h``; ``-`` for no value. Rounded to
    the second (under 10 s one decimal is kept: ``2.5s``); a zero last part is left out."""
    if seconds is None:
        return "-"
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds < 10 and seconds != int(seconds):
        return f"{sign}{seconds:.1f}s"
    whole = round(seconds)
    for size, unit, small, small_unit in (
        (86400, "d", 3600, "h"),
        (3600, "h", 60, "m"),
        (60, "m", 1, "s"),
    ):
        if whole >= size:
            rest = whole % size // small
            return f"{sign}{whole // size}{unit}" + (f"{rest:02d}{small_unit}" if rest else "")
    return f"{sign}{whole}s"


def percent(rate: float | None) -> str:
    """``87.5%``; ``-`` when there is nothing to divide."""
    return "-" if rate is None else f"{rate * 100:.1f}%"


def moment(text: str | None) -> str:
    """An ISO moment as ``2026-03-02 09:15 UTC`` (seconds shown only when not zero)."""
    if text is None:
        return "-"
    value = datetime.fromisoformat(text)
    shape = (
        "%Y-%m-%d %H:%M" if value.second == 0 and value.microsecond == 0 else "%Y-%m-%d %H:%M:%S"
    )
    return value.strftime(shape) + " UTC"


def offset(seconds: float | None) -> str:
    """A moment relative to a crisis start: ``+30m``, ``+1h02m``."""
    return "-" if seconds is None else "+" + duration(seconds)


def history_span(history_from: str | None, history_until: str | None) -> str:
    """``history from 2026-03-02 09:00 UTC to 2026-03-03 12:00 UTC``, or ``no history yet``:
    the period the figures cover (never when the report was made, so equal histories give
    equal reports)."""
    if history_from is None or history_until is None:
        return "no history yet"
    return f"history from {moment(history_from)} to {moment(history_until)}"


def kpi_cells(figures: Figures) -> tuple[str, ...]:
    """One KPI row's cells, after the name: cases, resolved, first response (median, p90,
    mean), FCR, within 24 h, CSAT, breaches, warnings, escalated cases; text and HTML alike."""
    response = figures.first_response
    return (
        str(figures.cases),
        str(figures.resolved),
        duration(response.median),
        duration(response.p90),
        duration(response.mean),
        percent(figures.first_contact_resolution.rate),
        percent(figures.resolved_within_24h.rate),
        percent(figures.csat.rate),
        str(figures.breaches),
        str(figures.warnings),
        str(figures.escalated_cases),
    )


SURVEY_HEAD = ("NPS", "n", "prom", "detr", "prev", "change", "CSAT", "n", "prev", "change")
"""The column titles of :func:`survey_cells`, after the group's name."""


def nps_score(score: float | None) -> str:
    """An NPS with its sign, ``+40.0`` or ``-12.5``; ``-`` when nobody answered."""
    if score is None:
        return "-"
    return f"{score:+.1f}" if score else "0.0"


def change(value: float | None, *, points: bool = False) -> str:
    """A change against the previous quarter: ``+5.0`` NPS points, or for a share of 1
    (``points=True``) ``-2.5pp`` percentage points; ``-`` when a quarter has no answer."""
    if value is None:
        return "-"
    return f"{value * 100:+.1f}pp" if points else f"{value:+.1f}"


def survey_cells(found: Baseline) -> tuple[str, ...]:
    """One survey row's cells, after the name (:data:`SURVEY_HEAD`): this quarter's NPS, its
    sample size and shares of promoters and detractors, the previous quarter's NPS and the
    change; then the same for CSAT. Text and HTML alike."""
    nps = found.nps
    return (
        nps_score(nps.score),
        str(nps.answered),
        _share(nps.promoters, nps.answered),
        _share(nps.detractors, nps.answered),
        nps_score(found.nps_previous.score),
        change(found.nps_change),
        percent(found.csat.rate),
        str(found.csat.total),
        percent(found.csat_previous.rate),
        change(found.csat_change, points=True),
    )


def _share(count: int, total: int) -> str:
    return f"{count * 100 / total:.0f}%" if total else "-"


def care_lines(care: Care, target: float) -> list[str]:
    """Two sentences on churn-risk cases and their callbacks (``target`` is the share of
    callbacks to make within target), or one saying there were none."""
    if not care.opened:
        return ["No churn-risk cases (workflow care_retention) in this history."]
    reasons = ", ".join(f"{reason} {count}" for reason, count in care.reasons.items())
    callbacks = care.callbacks_in_time
    return [
        f"Churn-risk cases: {care.opened} opened ({reasons}); {care.saved} saved, {care.lost} "
        f"lost, {care.open} open; saved {percent(care.saved_rate.rate)} of those decided.",
        f"Retention callbacks within target: {callbacks.count} of {callbacks.total} "
        f"({percent(callbacks.rate)}, target {target * 100:.0f}%); {care.callbacks_late} late "
        f"or missed, {care.callbacks_due} still due.",
    ]
