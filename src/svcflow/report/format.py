"""How report values read: durations, shares, moments, counts, labels. Shared by the text and
HTML renderings so both say the same thing the same way, in the current report language
(:mod:`svcflow.report.language`): English keeps the compact forms below, Chinese is written
by Babel from the CLDR data."""

from __future__ import annotations

from datetime import datetime

from svcflow.report.care import Care
from svcflow.report.figures import CrisisTimeline, Figures
from svcflow.report.language import _, current
from svcflow.report.surveys import Baseline

__all__ = [
    "GROUPING_TITLES",
    "N_",
    "SURVEY_HEAD",
    "care_lines",
    "cases_count",
    "change",
    "crisis_title",
    "duration",
    "grouping_title",
    "history_span",
    "kpi_cells",
    "moment",
    "nps_score",
    "number",
    "offset",
    "percent",
    "survey_cells",
    "whole_percent",
]


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue without translating it now (it is translated where
    it is shown, with :func:`~svcflow.report.language._`)."""
    return message


GROUPING_TITLES = {
    "workflow": N_("by workflow"),
    "channel": N_("by channel"),
    "category": N_("by category"),
    "segment": N_("by segment"),
}


def grouping_title(grouping: str) -> str:
    """``by channel`` for the grouping ``channel``, in the current language."""
    return _(GROUPING_TITLES[grouping]) if grouping in GROUPING_TITLES else grouping


def duration(seconds: float | None) -> str:
    """``45s``, ``4m05s``, ``5m``, ``2h03m``, ``1h``, ``1d02h``; ``-`` for no value. Rounded to
    the second (under 10 s one decimal is kept: ``2.5s``); a zero last part is left out. In
    Chinese the two largest parts as Babel writes them (``2小时3分钟``)."""
    if seconds is None:
        return "-"
    babel = current().babel
    if babel is not None:
        return _spoken_duration(seconds, babel)
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


def _spoken_duration(seconds: float, locale: str) -> str:
    from babel.units import format_unit

    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds < 10 and seconds != int(seconds):
        return sign + format_unit(round(seconds, 1), "duration-second", "short", locale=locale)
    whole = round(seconds)
    parts = [
        (whole // 86400, "duration-day"),
        (whole % 86400 // 3600, "duration-hour"),
        (whole % 3600 // 60, "duration-minute"),
        (whole % 60, "duration-second"),
    ]
    first = next((index for index, (value, _unit) in enumerate(parts) if value), len(parts) - 1)
    shown = [(value, unit) for value, unit in parts[first : first + 2] if value] or parts[-1:]
    return sign + "".join(format_unit(value, unit, "short", locale=locale) for value, unit in shown)


def number(count: int) -> str:
    """A count as the current language writes it (``3000``; Chinese ``3,000``)."""
    babel = current().babel
    if babel is None:
        return str(count)
    from babel.numbers import format_decimal

    return format_decimal(count, locale=babel)


def cases_count(count: int) -> str:
    """``1 case``, ``12 cases`` in the current language."""
    return current().ngettext("{count} case", "{count} cases", count).format(count=number(count))


def percent(rate: float | None, pattern: str = "#,##0.0%") -> str:
    """``87.5%``; ``-`` when there is nothing to divide. ``pattern`` is the CLDR number
    pattern (``#,##0%`` for a whole percentage)."""
    if rate is None:
        return "-"
    babel = current().babel
    if babel is None:
        decimals = len(pattern.partition(".")[2].rstrip("%"))
        return f"{rate * 100:.{decimals}f}%"
    from babel.numbers import format_percent

    return format_percent(rate, pattern, locale=babel)


def whole_percent(rate: float) -> str:
    """A target as a whole percentage, ``85%``."""
    return percent(rate, "#,##0%")


def moment(text: str | None) -> str:
    """An ISO moment as ``2026-03-02 09:15 UTC`` (seconds shown only when not zero); in
    Chinese ``2026年3月2日 09:15 UTC``. Moments are in UTC, as the history keeps them."""
    if text is None:
        return "-"
    value = datetime.fromisoformat(text)
    whole_minute = value.second == 0 and value.microsecond == 0
    babel = current().babel
    if babel is not None:
        from babel.dates import format_date, format_time

        clock = "HH:mm" if whole_minute else "HH:mm:ss"
        day = format_date(value, "medium", locale=babel)
        return f"{day} {format_time(value, clock, tzinfo=value.tzinfo, locale=babel)} UTC"
    shape = "%Y-%m-%d %H:%M" if whole_minute else "%Y-%m-%d %H:%M:%S"
    return value.strftime(shape) + " UTC"


def offset(seconds: float | None) -> str:
    """A moment relative to a crisis start: ``+30m``, ``+1h02m``."""
    return "-" if seconds is None else "+" + duration(seconds)


def crisis_title(crisis: CrisisTimeline) -> str:
    """``X-1: tier 1, payment outage, via social, started 2026-03-02 10:00 UTC``."""
    return _("{case}: tier {tier}, {event}, via {channel}, started {started}").format(
        case=crisis.case_id,
        tier=crisis.tier,
        event=crisis.event,
        channel=crisis.channel,
        started=moment(crisis.started_at),
    )


def history_span(history_from: str | None, history_until: str | None) -> str:
    """``history from 2026-03-02 09:00 UTC to 2026-03-03 12:00 UTC``, or ``no history yet``:
    the period the figures cover (never when the report was made, so equal histories give
    equal reports)."""
    if history_from is None or history_until is None:
        return _("no history yet")
    return _("history from {start} to {end}").format(
        start=moment(history_from), end=moment(history_until)
    )


def kpi_cells(figures: Figures) -> tuple[str, ...]:
    """One KPI row's cells, after the name: cases, resolved, first response (median, p90,
    mean), FCR, within 24 h, CSAT, breaches, warnings, escalated cases; text and HTML alike."""
    response = figures.first_response
    return (
        number(figures.cases),
        number(figures.resolved),
        duration(response.median),
        duration(response.p90),
        duration(response.mean),
        percent(figures.first_contact_resolution.rate),
        percent(figures.resolved_within_24h.rate),
        percent(figures.csat.rate),
        number(figures.breaches),
        number(figures.warnings),
        number(figures.escalated_cases),
    )


SURVEY_HEAD = (
    "NPS",
    "n",
    N_("prom"),
    N_("detr"),
    N_("prev"),
    N_("change"),
    "CSAT",
    "n",
    N_("prev"),
    N_("change"),
)
"""The column titles of :func:`survey_cells`, after the group's name (translate with ``_``)."""


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
        number(nps.answered),
        _share(nps.promoters, nps.answered),
        _share(nps.detractors, nps.answered),
        nps_score(found.nps_previous.score),
        change(found.nps_change),
        percent(found.csat.rate),
        number(found.csat.total),
        percent(found.csat_previous.rate),
        change(found.csat_change, points=True),
    )


def _share(count: int, total: int) -> str:
    return whole_percent(count / total) if total else "-"


def care_lines(care: Care, target: float) -> list[str]:
    """Two sentences on churn-risk cases and their callbacks (``target`` is the share of
    callbacks to make within target), or one saying there were none."""
    if not care.opened:
        return [_("No churn-risk cases (workflow care_retention) in this history.")]
    reasons = ", ".join(f"{reason} {number(count)}" for reason, count in care.reasons.items())
    callbacks = care.callbacks_in_time
    return [
        _(
            "Churn-risk cases: {opened} opened ({reasons}); {saved} saved, {lost} lost, "
            "{open} open; saved {rate} of those decided."
        ).format(
            opened=number(care.opened),
            reasons=reasons,
            saved=number(care.saved),
            lost=number(care.lost),
            open=number(care.open),
            rate=percent(care.saved_rate.rate),
        ),
        _(
            "Retention callbacks within target: {count} of {total} ({rate}, target {target}); "
            "{late} late or missed, {due} still due."
        ).format(
            count=number(callbacks.count),
            total=number(callbacks.total),
            rate=percent(callbacks.rate),
            target=whole_percent(target),
            late=number(care.callbacks_late),
            due=number(care.callbacks_due),
        ),
    ]
