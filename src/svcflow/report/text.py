"""The report as terminal tables, at most 100 columns wide, for ``svcflow report``.

Columns are measured in terminal cells, so Chinese text (two cells a character) lines up too.
"""

from __future__ import annotations

import textwrap
import unicodedata
from collections.abc import Sequence

from svcflow.report.figures import CRISIS_MARKS, CrisisTimeline, Figures, Report
from svcflow.report.format import (
    N_,
    SURVEY_HEAD,
    care_lines,
    cases_count,
    crisis_title,
    duration,
    grouping_title,
    history_span,
    kpi_cells,
    nps_score,
    number,
    offset,
    percent,
    survey_cells,
    whole_percent,
)
from svcflow.report.language import DEFAULT_LOCALE, _, current, speaking
from svcflow.report.surveys import Baseline, Surveys

__all__ = ["WIDTH", "render_text"]

WIDTH = 100

_KPI_COLUMNS = (
    (N_("cases"), 6),
    (N_("resolved"), 9),
    (N_("FR med"), 8),
    (N_("FR p90"), 8),
    (N_("FR avg"), 8),
    ("FCR", 7),
    (N_("in 24h"), 7),
    ("CSAT", 7),
    (N_("breach"), 7),
    (N_("warn"), 6),
    (N_("esc"), 5),
)
_NAME = WIDTH - sum(width for _title, width in _KPI_COLUMNS)


def render_text(report: Report, lang: str = DEFAULT_LOCALE) -> str:
    """Plain-text tables in ``lang`` (``en`` or ``zh-CN``): the KPIs overall and by group,
    SLA attainment per metric, escalations by level, and each crisis against its marks. Ends
    with a newline."""
    with speaking(lang):
        return _render(report)


def _render(report: Report) -> str:
    lines = [
        _("svcflow KPI report: {cases}, {period}").format(
            cases=cases_count(report.cases),
            period=history_span(report.history_from, report.history_until),
        )
    ]
    if not report.cases:
        lines.append(_("No cases: the store holds no history yet, so there is nothing to report."))
        return "\n".join(lines) + "\n"
    targets = report.targets
    lines += [
        *_wrap(
            _(
                "Targets: first-contact resolution {fcr}, CSAT {csat}, resolved within 24 h "
                "{in_24h}, SLA attainment {sla} (unless a workflow's kpi: sets one), average "
                "first response {response}."
            ).format(
                fcr=whole_percent(targets["first_contact_resolution"]),
                csat=whole_percent(targets["csat"]),
                in_24h=whole_percent(targets["resolved_within_24h"]),
                sla=whole_percent(targets["sla_attainment"]),
                response=duration(targets["first_response_mean_seconds"]),
            )
        ),
        "",
        *_kpi_table(report),
        *_wrap(
            _(
                "FR: time to first response (median, p90, mean). FCR (first-contact resolution) "
                "and in 24h (resolved within 24 hours) are shares of resolved cases. breach, "
                "warn: SLA cycles breached, warnings fired. esc: cases escalated."
            )
        ),
        "",
        *_sla_table(report),
        "",
        *_escalation_lines(report),
        "",
        *_survey_lines(report.surveys),
        "",
        *_wrapped(care_lines(report.care, targets["retention_callbacks_in_time"])),
    ]
    for crisis in report.crises:
        lines += ["", *_crisis_lines(crisis)]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _wrap(text: str) -> list[str]:
    """``text`` in lines of at most :data:`WIDTH` cells (Chinese breaks between characters)."""
    if current().babel is None:
        return textwrap.wrap(text, WIDTH)
    lines, line = [], ""
    for character in text:
        if _cells(line + character) > WIDTH:
            lines.append(line.rstrip())
            line = character.lstrip()
        else:
            line += character
    return [*lines, line.rstrip()] if line.strip() else lines


def _cells(text: str) -> int:
    """How many terminal cells ``text`` takes (wide East Asian characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _left(text: str, width: int) -> str:
    return text + " " * max(0, width - _cells(text))


def _right(text: str, width: int) -> str:
    """``text`` right-aligned in ``width`` cells; in Chinese, whose durations can be wider
    than a column, always at least one space from the column before."""
    gap = 0 if current().babel is None else 1
    return " " * max(gap, width - _cells(text)) + text


def _head(first: str, width: int, columns: Sequence[tuple[str, int]]) -> str:
    """A table's heading line: ``first`` over the names, then each column's title."""
    return _left(_(first), width) + "".join(_right(_(title), cells) for title, cells in columns)


def _kpi_table(report: Report) -> list[str]:
    header = _head(N_("KPIs"), _NAME, _KPI_COLUMNS)
    lines = [header, "-" * WIDTH, _kpi_row(_("overall"), report.overall)]
    for grouping, groups in report.groups.items():
        lines.append(grouping_title(grouping))
        lines += [_kpi_row("  " + name, figures) for name, figures in groups.items()]
    return lines


def _kpi_row(name: str, figures: Figures) -> str:
    cells = kpi_cells(figures)
    return _fit(name, _NAME) + "".join(
        _right(cell, width) for cell, (_title, width) in zip(cells, _KPI_COLUMNS, strict=True)
    )


def _sla_table(report: Report) -> list[str]:
    name = 38
    columns = (
        (N_("met"), 7),
        (N_("breached"), 10),
        (N_("open"), 7),
        (N_("cancelled"), 11),
        (N_("attain"), 9),
        (N_("target"), 8),
        (N_("warnings"), 10),
    )
    lines = [_head(N_("SLA attainment"), name, columns), "-" * WIDTH]
    if not report.sla:
        lines.append(_("no SLA clocks in this history"))
    for row in report.sla:
        counts = row.counts
        cells = (
            number(counts.met),
            number(counts.breached),
            number(counts.open),
            number(counts.cancelled),
            percent(counts.attainment),
            whole_percent(row.target),
            number(counts.warnings),
        )
        lines.append(
            _fit(f"{row.workflow} / {row.metric}", name)
            + "".join(
                _right(cell, width) for cell, (_title, width) in zip(cells, columns, strict=True)
            )
        )
    if report.sla:
        lines += _wrap(
            _(
                "SLA cycles by outcome; a cycle that breached counts as breached even while it "
                "runs. attain = met / (met + breached)."
            )
        )
    return lines


def _escalation_lines(report: Report) -> list[str]:
    found = report.escalations
    events = sum(level.count for level in found.by_level)
    lines = [
        current()
        .ngettext(
            "Escalations by level: {events} escalated event, {escalated} escalated, {raised} "
            "raised from another case",
            "Escalations by level: {events} escalated events, {escalated} escalated, {raised} "
            "raised from another case",
            events,
        )
        .format(
            events=number(events),
            escalated=cases_count(found.escalated_cases),
            raised=cases_count(found.raised_cases),
        ),
        "-" * WIDTH,
    ]
    lines += [
        f"{_fit(level.level_name, 40)}{_right(number(level.count), 8)}" for level in found.by_level
    ]
    for chain, levels in found.by_chain.items():
        listed = ", ".join(f"{name} {number(count)}" for name, count in levels.items())
        lines.append(_fit(_("chain {chain}: {levels}").format(chain=chain, levels=listed), WIDTH))
    return lines


_SURVEY_WIDTHS = (7, 6, 6, 6, 7, 8, 8, 6, 8, 8)
_SURVEY_NAME = WIDTH - sum(_SURVEY_WIDTHS)


def _survey_lines(surveys: Surveys) -> list[str]:
    """This quarter's NPS and CSAT against the previous quarter, overall and per channel and
    segment, then every quarter with answers."""
    if not surveys.quarters:
        return [_("Surveys: no NPS or CSAT answers (nps, satisfied) in this history.")]
    lines = [
        _("Surveys: NPS and CSAT in {quarter}, against {previous}").format(
            quarter=surveys.quarter, previous=surveys.previous_quarter
        ),
        _survey_row_of("", [_(title) for title in SURVEY_HEAD]),
        "-" * WIDTH,
        _survey_row(_("overall"), surveys.overall),
    ]
    for grouping, groups in surveys.groups.items():
        lines.append(grouping_title(grouping))
        lines += [_survey_row("  " + name, found) for name, found in groups.items()]
    quarters = "; ".join(
        f"{found.quarter} NPS {nps_score(found.nps.score)} (n={found.nps.answered}), CSAT "
        f"{percent(found.csat.rate)} (n={found.csat.total})"
        for found in surveys.quarters
    )
    return lines + _wrapped(
        [
            _(
                "NPS: % promoters (9-10) minus % detractors (0-6) of n answers; prom, detr: "
                "their shares; prev: the previous quarter; change in NPS points, CSAT in "
                "percentage points (pp)."
            ),
            _("By quarter: {quarters}.").format(quarters=quarters),
        ]
    )


def _survey_row(name: str, found: Baseline) -> str:
    return _survey_row_of(name, survey_cells(found))


def _survey_row_of(name: str, cells: Sequence[str]) -> str:
    return _fit(name, _SURVEY_NAME) + "".join(
        _right(cell, width) for cell, width in zip(cells, _SURVEY_WIDTHS, strict=True)
    )


def _wrapped(paragraphs: Sequence[str]) -> list[str]:
    return [line for text in paragraphs for line in _wrap(text)]


def _crisis_lines(crisis: CrisisTimeline) -> list[str]:
    marks = ", ".join(f"{_(name)} {offset(at)}" for name, at in CRISIS_MARKS.items())
    lines = [
        _fit(
            _("Crisis {title}").format(title=crisis_title(crisis)),
            WIDTH,
        ),
        _("marks: {marks}").format(marks=marks),
    ]
    columns: Sequence[tuple[str, int]] = (
        (N_("start"), 8),
        (N_("budget"), 8),
        (N_("deadline"), 10),
        (N_("stopped"), 10),
        (N_("elapsed"), 10),
        (N_("outcome"), 10),
    )
    name = 30
    lines.append("  " + _head(N_("metric"), name - 2, columns))
    for metric in crisis.metrics:
        cells = (
            offset(metric.start_offset),
            duration(metric.budget_seconds),
            offset(metric.deadline_offset),
            offset(metric.stop_offset),
            duration(metric.elapsed_seconds),
            _(metric.outcome),
        )
        lines.append(
            _fit("  " + metric.metric, name)
            + "".join(
                _right(cell, width) for cell, (_title, width) in zip(cells, columns, strict=True)
            )
        )
    if not crisis.metrics:
        lines.append("  " + _("no SLA clocks started"))
    return lines


def _fit(text: str, width: int) -> str:
    """``text`` padded to ``width`` cells, or cut with an ellipsis so a column never shifts."""
    if _cells(text) < width:
        return _left(text, width)
    while _cells(text) > width - 2:
        text = text[:-1]
    return _left(text + "…", width - 1) + " "
