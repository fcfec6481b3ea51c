"""The report as one self-contained HTML page: inline CSS and inline SVG charts, no script and
no external file, so it can be mailed, archived or opened offline.

The page is the Jinja2 template ``templates/report.html.j2`` with autoescaping on, so every
value that comes from a case's history (a category, a channel, a case id) is escaped by the
template, not by hand. The charts are SVG built by :mod:`svcflow.report.svg`, which escapes its
own text; they reach the template as markup.

Charts (each ``<svg data-chart="...">``): ``daily-trend``, ``first-response``,
``sla-attainment``, ``resolution-24h``, ``fcr``, ``csat``, ``escalations`` and
``crisis-timeline``. The tables below them hold every number the charts show.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import jinja2
from markupsafe import Markup

from svcflow.report.figures import CRISIS_MARKS, Figures, Rate, Report
from svcflow.report.format import (
    SURVEY_HEAD,
    care_lines,
    cases_count,
    crisis_title,
    duration,
    grouping_title,
    history_span,
    kpi_cells,
    moment,
    nps_score,
    number,
    offset,
    percent,
    survey_cells,
    whole_percent,
)
from svcflow.report.language import DEFAULT_LOCALE, _, current, speaking
from svcflow.report.svg import (
    COLORS,
    Bar,
    BarRow,
    GanttRow,
    Section,
    Series,
    bar_chart,
    count_ticks,
    duration_ticks,
    gantt_chart,
    trend_chart,
)

__all__ = ["CHARTS", "render_html"]

CHARTS = (
    "daily-trend",
    "first-response",
    "sla-attainment",
    "resolution-24h",
    "fcr",
    "csat",
    "escalations",
    "crisis-timeline",
)
"""The ``data-chart`` names of the charts a non-empty report draws, in page order."""

_RATE_TICKS = [0.0, 0.25, 0.5, 0.75, 1.0]
_BREAKDOWN = ("channel", "category", "segment")

_PAGE = jinja2.Environment(
    loader=jinja2.PackageLoader("svcflow.report", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def render_html(report: Report, lang: str = DEFAULT_LOCALE) -> str:
    """The whole page as text (UTF-8, ``<!doctype html>``) in ``lang`` (``en`` or ``zh-CN``).
    Equal reports give equal text."""
    with speaking(lang) as language:
        return _page(report, language.locale)


def _page(report: Report, locale: str) -> str:
    page: dict[str, Any] = {
        "_": _,
        "lang": locale,
        "report": report,
        "cases": cases_count(report.cases),
        "period": history_span(report.history_from, report.history_until),
    }
    if report.cases:
        page |= {
            "tiles": _tiles(report),
            "sections": _chart_sections(report),
            "kpi": _kpi_table(report),
            "sla": _sla_table(report),
            "crisis": _crisis_table(report),
            "surveys": _survey_table(report),
            "care": care_lines(report.care, report.targets["retention_callbacks_in_time"]),
        }
    return _PAGE.get_template("report.html.j2").render(page)


def _chart_sections(report: Report) -> list[dict[str, str]]:
    """Each chart with its heading and a sentence on what it shows, in page order."""
    return [
        _section(
            _("Day by day"),
            _("Cases opened, cases resolved and SLA breaches on each day of the period (UTC)."),
            _trend_chart(report),
        ),
        _section(
            _("First response"),
            _(
                "Median (dark) and 90th percentile (light) of the time to the first response; "
                "the circle is the mean."
            ),
            _first_response_chart(report),
        ),
        _section(
            _("SLA attainment"),
            _("Share of finished SLA cycles that met their target, per workflow and metric."),
            _sla_chart(report),
        ),
        *_rate_sections(report),
        _section(_("Escalations"), _("Escalation events by level."), _escalation_chart(report)),
        _section(
            _("Crisis timelines"),
            _(
                "Each crisis case's clocks from the crisis start, against the 30-minute and "
                "1-hour marks."
            ),
            _crisis_chart(report),
        ),
    ]


def _rate_sections(report: Report) -> list[dict[str, str]]:
    """The sections of the three rates charted against their targets."""
    return [
        _section(
            _("Resolved within 24 hours"),
            _(
                "Share of resolved cases whose first resolution came within 24 hours of the "
                "case's start."
            ),
            _rate_chart(
                report,
                "resolution-24h",
                _("Resolved within 24 hours"),
                lambda f: f.resolved_within_24h,
                "resolved_within_24h",
            ),
        ),
        _section(
            _("First-contact resolution"),
            _("Share of resolved cases never reopened, escalated or put on hold for the customer."),
            _rate_chart(
                report,
                "fcr",
                _("First-contact resolution"),
                lambda f: f.first_contact_resolution,
                "first_contact_resolution",
            ),
        ),
        _section(
            _("Customer satisfaction"),
            _("Share of satisfied answers among the cases whose satisfaction was recorded."),
            _rate_chart(
                report, "csat", _("Customer satisfaction (CSAT)"), lambda f: f.csat, "csat"
            ),
        ),
    ]


def _section(title: str, caption: str, chart: str) -> dict[str, str]:
    return {"title": title, "caption": caption, "chart": Markup(chart)}


def _target(value: str) -> str:
    return _("target {value}").format(value=value)


def _tiles(report: Report) -> list[dict[str, Any]]:
    overall, targets = report.overall, report.targets
    tiles = [
        (_("cases"), number(report.cases), "", None),
        (_("first response, median"), duration(overall.first_response.median), "", None),
        (
            _("first response, average"),
            duration(overall.first_response.mean),
            _target(duration(targets["first_response_mean_seconds"])),
            None
            if overall.first_response.mean is None
            else overall.first_response.mean <= targets["first_response_mean_seconds"],
        ),
        *(
            (
                label,
                percent(rate.rate),
                _target(whole_percent(targets[key])),
                None if rate.rate is None else rate.rate >= targets[key],
            )
            for label, rate, key in (
                (
                    _("first-contact resolution"),
                    overall.first_contact_resolution,
                    "first_contact_resolution",
                ),
                (_("resolved within 24 h"), overall.resolved_within_24h, "resolved_within_24h"),
                ("CSAT", overall.csat, "csat"),
            )
        ),
        _nps_tile(report),
        _callback_tile(report),
        (
            _("SLA breaches"),
            number(overall.breaches),
            _("{count} warnings").format(count=number(overall.warnings)),
            None,
        ),
        (_("escalated cases"), number(overall.escalated_cases), "", None),
    ]
    return [
        {"label": label, "value": value, "target": target, "met": met}
        for label, value, target, met in tiles
    ]


def _nps_tile(report: Report) -> tuple[str, str, str, bool | None]:
    """This quarter's NPS with its sample size and the change against the previous quarter."""
    surveys = report.surveys
    nps = surveys.overall.nps
    if not nps.answered:
        return ("NPS", "-", _("no answers this quarter"), None)
    change = surveys.overall.nps_change
    since = (
        ""
        if change is None
        else _(", {change} on {quarter}").format(
            change=f"{change:+.1f}", quarter=surveys.previous_quarter
        )
    )
    return (f"NPS {surveys.quarter}", nps_score(nps.score), f"n={nps.answered}{since}", None)


def _callback_tile(report: Report) -> tuple[str, str, str, bool | None]:
    callbacks, target = report.care.callbacks_in_time, report.targets["retention_callbacks_in_time"]
    return (
        _("retention callbacks in time"),
        percent(callbacks.rate),
        f"{callbacks.count}/{callbacks.total}, " + _target(whole_percent(target)),
        None if callbacks.rate is None else callbacks.rate >= target,
    )


def _first_response_chart(report: Report) -> str:
    sections = [Section("", [_response_row(_("all cases"), report.overall)])]
    for grouping in ("workflow", "channel"):
        rows = [
            _response_row(name, figures)
            for name, figures in report.groups.get(grouping, {}).items()
            if figures.first_response.count
        ]
        if rows:
            sections.append(Section(grouping_title(grouping), rows))
    longest = max(
        (bar.value for section in sections for row in section.rows for bar in row.bars),
        default=0.0,
    )
    target = report.targets["first_response_mean_seconds"]
    scale, ticks = duration_ticks(max(longest, target))
    return bar_chart(
        "first-response",
        _("First response time: median and 90th percentile"),
        _(
            "Per workflow and per channel: the median and the 90th percentile (nearest rank) "
            "of the time from the first_response clock's start to its first stop; the dashed "
            "line is the {target} target for the average."
        ).format(target=duration(target)),
        sections,
        scale,
        ticks,
        duration,
        targets=[(target, _("average target {value}").format(value=duration(target)))],
        legend=[
            (COLORS["bar"], _("median")),
            (COLORS["light"], _("90th percentile")),
            ("circle", _("mean")),
        ],
    )


def _response_row(label: str, figures: Figures) -> BarRow:
    found = figures.first_response
    if not found.count or found.median is None or found.p90 is None:
        return BarRow(label, [], _("no first response"))
    return BarRow(
        label,
        [Bar(found.p90, "p90", COLORS["light"]), Bar(found.median, "median", COLORS["bar"])],
        f"{duration(found.median)} / {duration(found.p90)} (n={found.count})",
        dot=found.mean,
    )


def _rate_bar(label: str, rate: Rate, target: float) -> BarRow:
    if rate.rate is None:
        return BarRow(label, [], _("none yet"))
    color = COLORS["good"] if rate.rate >= target else COLORS["short"]
    return BarRow(
        label, [Bar(rate.rate, "rate", color)], f"{percent(rate.rate)} ({rate.count}/{rate.total})"
    )


def _sla_chart(report: Report) -> str:
    """Each row is coloured against its own target (the workflow's ``kpi.sla_attainment``, else
    the default); a dashed line marks each distinct target."""
    rows = []
    for row in report.sla:
        counts = row.counts
        finished = counts.met + counts.breached
        rate = Rate(counts.met, finished, counts.attainment)
        bar = _rate_bar(f"{row.workflow} / {row.metric}", rate, row.target)
        rows.append(replace(bar, note=f"{bar.note}, " + _target(whole_percent(row.target))))
    targets = sorted({row.target for row in report.sla}) or [report.targets["sla_attainment"]]
    return bar_chart(
        "sla-attainment",
        _("SLA attainment per metric"),
        _(
            "Met cycles as a share of finished cycles (met or breached) for each workflow's "
            "SLA metric, coloured against that metric's target (set by the workflow's kpi: "
            "section); the dashed lines are the targets."
        ),
        [Section("", rows)],
        1.0,
        _RATE_TICKS,
        whole_percent,
        targets=[(target, _target(whole_percent(target))) for target in targets],
        legend=_target_legend(),
    )


def _trend_chart(report: Report) -> str:
    days = report.daily
    return trend_chart(
        "daily-trend",
        _("Cases opened, resolved and breached per day"),
        _(
            "For each UTC day from {first} to {last}: cases opened, cases first resolved and "
            "SLA breaches."
        ).format(first=days[0].day if days else "-", last=days[-1].day if days else "-"),
        [day.day for day in days],
        [
            Series(_("opened"), COLORS["bar"], [day.opened for day in days]),
            Series(_("resolved"), COLORS["good"], [day.resolved for day in days]),
            Series(_("SLA breaches"), COLORS["breached"], [day.breaches for day in days]),
        ],
    )


def _rate_chart(
    report: Report, name: str, title: str, pick: Callable[[Figures], Rate], key: str
) -> str:
    target = report.targets[key]
    sections = [Section("", [_rate_bar(_("all cases"), pick(report.overall), target)])]
    for grouping in _BREAKDOWN:
        rows = [
            _rate_bar(group, pick(figures), target)
            for group, figures in report.groups.get(grouping, {}).items()
        ]
        sections.append(Section(grouping_title(grouping), rows))
    return bar_chart(
        name,
        _("{title} by channel, category and segment").format(title=title),
        _(
            "{title} overall and per channel, category and segment; the dashed line is the "
            "{target} target."
        ).format(title=title, target=percent(target)),
        sections,
        1.0,
        _RATE_TICKS,
        whole_percent,
        targets=[(target, _target(whole_percent(target)))],
        legend=_target_legend(),
    )


def _target_legend() -> list[tuple[str, str]]:
    return [(COLORS["good"], _("at target")), (COLORS["short"], _("below target"))]


def _escalation_chart(report: Report) -> str:
    levels = report.escalations.by_level
    rows = [
        BarRow(
            level.level_name,
            [Bar(float(level.count), "count", COLORS["bar"])],
            _events(level.count),
        )
        for level in levels
    ]
    scale, ticks = count_ticks(max((level.count for level in levels), default=1))
    return bar_chart(
        "escalations",
        _("Escalations by level"),
        _(
            "How many times cases were escalated to each level of their escalation chains, in "
            "level order; {count} cases escalated."
        ).format(count=number(report.escalations.escalated_cases)),
        [Section("", rows)],
        scale,
        ticks,
        lambda value: number(int(value)),
    )


def _events(count: int) -> str:
    return current().ngettext("{count} event", "{count} events", count).format(count=number(count))


def _crisis_chart(report: Report) -> str:
    sections: list[tuple[str, Sequence[GanttRow]]] = []
    longest = float(max(CRISIS_MARKS.values()))
    for crisis in report.crises:
        rows = []
        for metric in crisis.metrics:
            end = crisis.last_offset if metric.stop_offset is None else metric.stop_offset
            longest = max(longest, end, metric.deadline_offset or 0.0)
            rows.append(
                GanttRow(
                    label=metric.metric,
                    start=metric.start_offset,
                    end=end,
                    deadline=metric.deadline_offset,
                    outcome=metric.outcome,
                    note=_(metric.outcome)
                    + (
                        ""
                        if metric.elapsed_seconds is None
                        else _(" in {elapsed}").format(elapsed=duration(metric.elapsed_seconds))
                    ),
                )
            )
        sections.append(
            (
                _("{case}: tier {tier}, {event}, {started}").format(
                    case=crisis.case_id,
                    tier=crisis.tier,
                    event=crisis.event,
                    started=moment(crisis.started_at),
                ),
                rows,
            )
        )
    scale, ticks = duration_ticks(longest)
    return gantt_chart(
        "crisis-timeline",
        _("Crisis timelines against the 30-minute and 1-hour marks"),
        _(
            "For each crisis case, each SLA clock from its start to its stop (or to the latest "
            "history entry while open), coloured by outcome, with its deadline; dashed lines "
            "mark 30 minutes and 1 hour after the crisis started."
        ),
        sections,
        scale,
        ticks,
        lambda value: offset(value) if value else _("start"),
        [(at, f"{_(name)} {offset(at)}") for name, at in CRISIS_MARKS.items()],
    )


def _table(
    head: Sequence[str], rows: Sequence[Sequence[str] | str], caption: str
) -> dict[str, Any]:
    """A table for the page's ``table`` macro: a text row is a section heading."""
    return {"head": head, "rows": rows, "caption": caption}


def _kpi_cells(name: str, figures: Figures) -> list[str]:
    return [name, *kpi_cells(figures)]


def _kpi_table(report: Report) -> dict[str, Any]:
    rows: list[Sequence[str] | str] = [_kpi_cells(_("overall"), report.overall)]
    for grouping, groups in report.groups.items():
        rows.append(grouping_title(grouping))
        rows += [_kpi_cells(name, figures) for name, figures in groups.items()]
    return _table(
        [
            _("group"),
            _("cases"),
            _("resolved"),
            _("FR median"),
            _("FR p90"),
            _("FR mean"),
            "FCR",
            _("in 24 h"),
            "CSAT",
            _("breaches"),
            _("warnings"),
            _("escalated"),
        ],
        rows,
        _(
            "KPIs overall and by group. FR: first response; FCR and in 24 h are shares of "
            "resolved cases."
        ),
    )


def _sla_table(report: Report) -> dict[str, Any]:
    rows = [
        [
            f"{row.workflow} / {row.metric}",
            number(row.counts.met),
            number(row.counts.breached),
            number(row.counts.open),
            number(row.counts.cancelled),
            percent(row.counts.attainment),
            whole_percent(row.target),
            number(row.counts.warnings),
        ]
        for row in report.sla
    ]
    return _table(
        [
            _("workflow / metric"),
            _("met"),
            _("breached"),
            _("open"),
            _("cancelled"),
            _("attainment"),
            _("target"),
            _("warnings"),
        ],
        rows,
        _("SLA cycles by outcome; attainment = met / (met + breached)."),
    )


def _survey_table(report: Report) -> dict[str, Any]:
    surveys = report.surveys
    rows: list[Sequence[str] | str] = [[_("overall"), *survey_cells(surveys.overall)]]
    for grouping, groups in surveys.groups.items():
        rows.append(grouping_title(grouping))
        rows += [[name, *survey_cells(found)] for name, found in groups.items()]
    rows.append(_("by quarter (all answers)"))
    rows += [
        [
            found.quarter,
            nps_score(found.nps.score),
            number(found.nps.answered),
            *([""] * 4),
            percent(found.csat.rate),
            number(found.csat.total),
            "",
            "",
        ]
        for found in surveys.quarters
    ]
    against = _("{quarter} against {previous}").format(
        quarter=surveys.quarter, previous=surveys.previous_quarter
    )
    return _table(
        [against, *(_(title) for title in SURVEY_HEAD)],
        rows,
        _(
            "NPS: % promoters (9-10) minus % detractors (0-6) of n answers; prev: the previous "
            "quarter; change in NPS points, CSAT in percentage points (pp)."
        ),
    )


def _crisis_table(report: Report) -> dict[str, Any]:
    rows: list[Sequence[str] | str] = []
    for crisis in report.crises:
        rows.append(crisis_title(crisis))
        rows += [
            [
                metric.metric,
                offset(metric.start_offset),
                duration(metric.budget_seconds),
                offset(metric.deadline_offset),
                offset(metric.stop_offset),
                duration(metric.elapsed_seconds),
                _(metric.outcome),
            ]
            for metric in crisis.metrics
        ]
    return _table(
        [
            _("crisis clock"),
            _("start"),
            _("budget"),
            _("deadline"),
            _("stopped"),
            _("elapsed"),
            _("outcome"),
        ],
        rows,
        _("Crisis clocks, as offsets from the crisis start."),
    )
