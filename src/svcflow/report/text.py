"""The report as terminal tables, at most 100 columns wide, for ``svcflow report``."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from svcflow.report.figures import CRISIS_MARKS, CrisisTimeline, Figures, Report
from svcflow.report.format import (
    GROUPING_TITLES,
    SURVEY_HEAD,
    care_lines,
    duration,
    history_span,
    kpi_cells,
    moment,
    nps_score,
    offset,
    percent,
    survey_cells,
)
from svcflow.report.surveys import Baseline, Surveys

__all__ = ["WIDTH", "render_text"]

WIDTH = 100

_KPI_COLUMNS = (
    ("cases", 6),
    ("resolved", 9),
    ("FR med", 8),
    ("FR p90", 8),
    ("FR avg", 8),
    ("FCR", 7),
    ("in 24h", 7),
    ("CSAT", 7),
    ("breach", 7),
    ("warn", 6),
    ("esc", 5),
)
_NAME = WIDTH - sum(width for _, width in _KPI_COLUMNS)


def render_text(report: Report) -> str:
    """Plain-text tables: the KPIs overall and by group, SLA attainment per metric,
    escalations by level, and each crisis against its marks. Ends with a newline."""
    lines = [
        f"svcflow KPI report: {_cases(report.cases)}, "
        + history_span(report.history_from, report.history_until)
    ]
    if not report.cases:
        lines.append("No cases: the store holds no history yet, so there is nothing to report.")
        return "\n".join(lines) + "\n"
    targets = report.targets
    lines += [
        *textwrap.wrap(
            f"Targets: first-contact resolution {_whole(targets['first_contact_resolution'])}, "
            f"CSAT {_whole(targets['csat'])}, resolved within 24 h "
            f"{_whole(targets['resolved_within_24h'])}, SLA attainment "
            f"{_whole(targets['sla_attainment'])} (unless a workflow's kpi: sets one), average "
            "first response "
            f"{duration(targets['first_response_mean_seconds'])}.",
            WIDTH,
        ),
        "",
        *_kpi_table(report),
        *textwrap.wrap(
            "FR: time to first response (median, p90, mean). FCR (first-contact resolution) and "
            "in 24h (resolved within 24 hours) are shares of resolved cases. breach, warn: SLA "
            "cycles breached, warnings fired. esc: cases escalated.",
            WIDTH,
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


def _whole(rate: float) -> str:
    return f"{rate * 100:.0f}%"


def _cases(count: int) -> str:
    return f"{count} case" + ("" if count == 1 else "s")


def _kpi_table(report: Report) -> list[str]:
    header = "KPIs".ljust(_NAME) + "".join(title.rjust(width) for title, width in _KPI_COLUMNS)
    lines = [header, "-" * WIDTH, _kpi_row("overall", report.overall)]
    for grouping, groups in report.groups.items():
        lines.append(GROUPING_TITLES.get(grouping, grouping))
        lines += [_kpi_row("  " + name, figures) for name, figures in groups.items()]
    return lines


def _kpi_row(name: str, figures: Figures) -> str:
    cells = kpi_cells(figures)
    return _fit(name, _NAME) + "".join(
        cell.rjust(width) for cell, (_, width) in zip(cells, _KPI_COLUMNS, strict=True)
    )


def _sla_table(report: Report) -> list[str]:
    name = 38
    columns = (
        ("met", 7),
        ("breached", 10),
        ("open", 7),
        ("cancelled", 11),
        ("attain", 9),
        ("target", 8),
        ("warnings", 10),
    )
    lines = [
        "SLA attainment".ljust(name) + "".join(title.rjust(width) for title, width in columns),
        "-" * WIDTH,
    ]
    if not report.sla:
        lines.append("no SLA clocks in this history")
    for row in report.sla:
        counts = row.counts
        cells = (
            str(counts.met),
            str(counts.breached),
            str(counts.open),
            str(counts.cancelled),
            percent(counts.attainment),
            _whole(row.target),
            str(counts.warnings),
        )
        lines.append(
            _fit(f"{row.workflow} / {row.metric}", name)
            + "".join(cell.rjust(width) for cell, (_, width) in zip(cells, columns, strict=True))
        )
    if report.sla:
        lines += textwrap.wrap(
            "SLA cycles by outcome; a cycle that breached counts as breached even while it "
            "runs. attain = met / (met + breached).",
            WIDTH,
        )
    return lines


def _escalation_lines(report: Report) -> list[str]:
    found = report.escalations
    events = sum(level.count for level in found.by_level)
    lines = [
        f"Escalations by level: {events} escalated event"
        + ("" if events == 1 else "s")
        + f", {_cases(found.escalated_cases)} escalated, {_cases(found.raised_cases)} raised "
        "from another case",
        "-" * WIDTH,
    ]
    lines += [f"{_fit(level.level_name, 40)}{level.count:>8}" for level in found.by_level]
    for chain, levels in found.by_chain.items():
        listed = ", ".join(f"{name} {count}" for name, count in levels.items())
        lines.append(_fit(f"chain {chain}: {listed}", WIDTH))
    return lines


_SURVEY_WIDTHS = (7, 6, 6, 6, 7, 8, 8, 6, 8, 8)
_SURVEY_NAME = WIDTH - sum(_SURVEY_WIDTHS)


def _survey_lines(surveys: Surveys) -> list[str]:
    """This quarter's NPS and CSAT against the previous quarter, overall and per channel and
    segment, then every quarter with answers."""
    if not surveys.quarters:
        return ["Surveys: no NPS or CSAT answers (nps, satisfied) in this history."]
    lines = [
        f"Surveys: NPS and CSAT in {surveys.quarter}, against {surveys.previous_quarter}",
        _survey_row_of("", SURVEY_HEAD),
        "-" * WIDTH,
        _survey_row("overall", surveys.overall),
    ]
    for grouping, groups in surveys.groups.items():
        lines.append(GROUPING_TITLES.get(grouping, grouping))
        lines += [_survey_row("  " + name, found) for name, found in groups.items()]
    quarters = "; ".join(
        f"{found.quarter} NPS {nps_score(found.nps.score)} (n={found.nps.answered}), CSAT "
        f"{percent(found.csat.rate)} (n={found.csat.total})"
        for found in surveys.quarters
    )
    return lines + _wrapped(
        [
            "NPS: % promoters (9-10) minus % detractors (0-6) of n answers; prom, detr: their "
            "shares; prev: the previous quarter; change in NPS points, CSAT in percentage "
            "points (pp).",
            f"By quarter: {quarters}.",
        ]
    )


def _survey_row(name: str, found: Baseline) -> str:
    return _survey_row_of(name, survey_cells(found))


def _survey_row_of(name: str, cells: Sequence[str]) -> str:
    return _fit(name, _SURVEY_NAME) + "".join(
        cell.rjust(width) for cell, width in zip(cells, _SURVEY_WIDTHS, strict=True)
    )


def _wrapped(paragraphs: Sequence[str]) -> list[str]:
    return [line for text in paragraphs for line in textwrap.wrap(text, WIDTH)]


def _crisis_lines(crisis: CrisisTimeline) -> list[str]:
    marks = ", ".join(f"{name} {offset(at)}" for name, at in CRISIS_MARKS.items())
    lines = [
        _fit(
            f"Crisis {crisis.case_id}: tier {crisis.tier}, {crisis.event}, via {crisis.channel}, "
            f"started {moment(crisis.started_at)}",
            WIDTH,
        ),
        f"marks: {marks}",
    ]
    columns: Sequence[tuple[str, int]] = (
        ("start", 8),
        ("budget", 8),
        ("deadline", 10),
        ("stopped", 10),
        ("elapsed", 10),
        ("outcome", 10),
    )
    name = 30
    lines.append("  metric".ljust(name) + "".join(title.rjust(width) for title, width in columns))
    for metric in crisis.metrics:
        cells = (
            offset(metric.start_offset),
            duration(metric.budget_seconds),
            offset(metric.deadline_offset),
            offset(metric.stop_offset),
            duration(metric.elapsed_seconds),
            metric.outcome,
        )
        lines.append(
            _fit("  " + metric.metric, name)
            + "".join(cell.rjust(width) for cell, (_, width) in zip(cells, columns, strict=True))
        )
    if not crisis.metrics:
        lines.append("  no SLA clocks started")
    return lines


def _fit(text: str, width: int) -> str:
    """``text`` padded to ``width``, or cut with an ellipsis so a column never shifts."""
    return text.ljust(width) if len(text) < width else text[: width - 2] + "… "
