"""Inline SVG charts drawn in Python: horizontal bar charts with target lines, the per-day
trend (vertical bars), and the crisis Gantt chart. No script, no external file: the page reads
the same offline, printed, or with scripts blocked.

Every chart is an ``<svg data-chart="<name>" role="img">`` with a ``<title>`` and ``<desc>``;
every drawn data mark (a bar, a dot) has the class ``mark``, so a test or a reader's tool can
count what was drawn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from svcflow.report.language import _

__all__ = [
    "COLORS",
    "Bar",
    "BarRow",
    "GanttRow",
    "Section",
    "Series",
    "bar_chart",
    "count_ticks",
    "duration_ticks",
    "gantt_chart",
    "trend_chart",
]

COLORS = {
    "bar": "#1f5f99",
    "light": "#9cc3e6",
    "good": "#2e7d32",
    "short": "#d9822b",
    "breached": "#c62828",
    "open": "#8a8a8a",
    "cancelled": "#bdbdbd",
    "target": "#6a1b9a",
    "grid": "#e3e3e3",
    "text": "#222222",
    "muted": "#666666",
}

WIDTH = 860
_LABEL = 230
_VALUE = 170
_PLOT = WIDTH - _LABEL - _VALUE - 10
_ROW = 24
_BAR = 14
_TOP = 34
_SECTION = 22
_BOTTOM = 30


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar from 0 (or ``start``) to ``value`` in the chart's unit, in a named series."""

    value: float
    series: str
    color: str
    start: float = 0.0
    thickness: float = _BAR


@dataclass(frozen=True, slots=True)
class BarRow:
    """A labelled row: its bars (drawn in order, so the longest first), an optional dot, and
    the text shown at its right end (``note``)."""

    label: str
    bars: Sequence[Bar]
    note: str
    dot: float | None = None


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    rows: Sequence[BarRow]


@dataclass(frozen=True, slots=True)
class GanttRow:
    """One clock of a crisis: a bar from ``start`` to ``end`` (seconds), coloured by outcome,
    and its deadline tick."""

    label: str
    start: float
    end: float
    deadline: float | None
    outcome: str
    note: str


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _open(name: str, title: str, description: str, height: float) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" data-chart="{name}" role="img" '
        f'aria-labelledby="{name}-title {name}-desc" width="{WIDTH}" height="{_n(height)}" '
        f'viewBox="0 0 {WIDTH} {_n(height)}" font-family="system-ui, sans-serif" font-size="12">',
        f'<title id="{name}-title">{escape(title)}</title>',
        f'<desc id="{name}-desc">{escape(description)}</desc>',
    ]


def _text(x: float, y: float, text: str, **attributes: str) -> str:
    extra = "".join(f' {key.replace("_", "-")}="{value}"' for key, value in attributes.items())
    return f'<text x="{_n(x)}" y="{_n(y)}"{extra}>{escape(text)}</text>'


def _axis(
    scale_max: float,
    ticks: Sequence[float],
    label: Callable[[float], str],
    top: float,
    bottom: float,
) -> list[str]:
    parts = []
    for tick in ticks:
        x = _LABEL + _PLOT * tick / scale_max
        parts.append(
            f'<line x1="{_n(x)}" y1="{_n(top)}" x2="{_n(x)}" y2="{_n(bottom)}" '
            f'stroke="{COLORS["grid"]}"/>'
        )
        parts.append(_text(x, bottom + 14, label(tick), text_anchor="middle", fill=COLORS["muted"]))
    return parts


def _target(
    scale_max: float, at: float, text: str, top: float, bottom: float, row: int = 0
) -> list[str]:
    """A dashed vertical line at ``at`` with its label above the plot; labels of later lines
    sit one ``row`` higher, so neighbouring lines never print over each other."""
    x = _x(at, scale_max)
    return [
        f'<line class="target" x1="{_n(x)}" y1="{_n(top - 6)}" x2="{_n(x)}" y2="{_n(bottom)}" '
        f'stroke="{COLORS["target"]}" stroke-width="2" stroke-dasharray="5 3"/>',
        _text(
            x,
            top - 10 - 13 * row,
            text,
            text_anchor="end" if x > WIDTH / 2 else "start",
            fill=COLORS["target"],
            font_weight="600",
        ),
    ]


def _x(value: float, scale_max: float) -> float:
    return _LABEL + _PLOT * min(max(value, 0.0), scale_max) / scale_max


def _legend(entries: Sequence[tuple[str, str]], height: float, left: float = _LABEL) -> list[str]:
    """Keys along the bottom edge: a swatch of each colour (``"circle"``: the mean's ring)."""
    parts, x, y = [], float(left), height - 14
    for color, text in entries:
        if color == "circle":
            parts.append(
                f'<circle cx="{_n(x + 6)}" cy="{_n(y + 5)}" r="4" fill="#ffffff" '
                f'stroke="{COLORS["text"]}" stroke-width="1.5"/>'
            )
        else:
            parts.append(f'<rect x="{_n(x)}" y="{_n(y)}" width="12" height="10" fill="{color}"/>')
        parts.append(_text(x + 16, y + 9, text, fill=COLORS["text"]))
        x += 28 + 6.5 * len(text)
    return parts


def _bar(
    x0: float, x1: float, middle: float, thickness: float, color: str, series: str, tooltip: str
) -> str:
    return (
        f'<rect class="mark" data-series="{escape(series)}" x="{_n(x0)}" '
        f'y="{_n(middle - thickness / 2)}" width="{_n(max(x1 - x0, 1.5))}" '
        f'height="{_n(thickness)}" fill="{color}"><title>{escape(tooltip)}</title></rect>'
    )


def bar_chart(
    name: str,
    title: str,
    description: str,
    sections: Sequence[Section],
    scale_max: float,
    ticks: Sequence[float],
    tick_label: Callable[[float], str],
    targets: Sequence[tuple[float, str]] = (),
    legend: Sequence[tuple[str, str]] = (),
) -> str:
    """A horizontal bar chart: sections of labelled rows on one shared axis from 0 to
    ``scale_max``, with dashed target lines and an optional legend (see :func:`_legend`)."""
    rows = sum(len(section.rows) for section in sections)
    titled = sum(1 for section in sections if section.title)
    plot_bottom = _TOP + titled * _SECTION + max(rows, 1) * _ROW
    height = plot_bottom + _BOTTOM + (18 if legend else 0)
    parts = _open(name, title, description, height)
    parts += _axis(scale_max, ticks, tick_label, _TOP, plot_bottom)
    y = float(_TOP)
    if not rows:
        parts.append(_text(_LABEL, y + 16, _("no data in this history"), fill=COLORS["muted"]))
    for section in sections:
        if section.title:
            parts.append(_text(4, y + 15, section.title, font_weight="700", fill=COLORS["text"]))
            y += _SECTION
        for row in section.rows:
            middle = y + _ROW / 2
            parts.append(_text(12, middle + 4, _short(row.label), fill=COLORS["text"]))
            tooltip = f"{row.label}: {row.note}"
            for bar in row.bars:
                parts.append(
                    _bar(
                        _x(bar.start, scale_max),
                        _x(bar.value, scale_max),
                        middle,
                        bar.thickness,
                        bar.color,
                        bar.series,
                        tooltip,
                    )
                )
            if row.dot is not None:
                parts.append(
                    f'<circle class="mark" data-series="mean" cx="{_n(_x(row.dot, scale_max))}" '
                    f'cy="{_n(middle)}" r="4" fill="#ffffff" stroke="{COLORS["text"]}" '
                    'stroke-width="1.5"/>'
                )
            parts.append(_text(_LABEL + _PLOT + 8, middle + 4, row.note, fill=COLORS["text"]))
            y += _ROW
    for level, (at, text) in enumerate(targets):
        parts += _target(scale_max, at, text, _TOP, plot_bottom, level)
    parts += _legend(legend, height)
    parts.append("</svg>")
    return "\n".join(parts)


def gantt_chart(
    name: str,
    title: str,
    description: str,
    sections: Sequence[tuple[str, Sequence[GanttRow]]],
    scale_max: float,
    ticks: Sequence[float],
    tick_label: Callable[[float], str],
    marks: Sequence[tuple[float, str]],
) -> str:
    """Clocks as bars on a time axis from the crisis start, coloured by outcome, with deadline
    ticks (▼), and the marks (e.g. 30 minutes, 1 hour) as dashed lines across every row."""
    rows = sum(len(found) for _, found in sections)
    plot_bottom = _TOP + len(sections) * _SECTION + max(rows, 1) * _ROW
    height = plot_bottom + _BOTTOM + 18
    parts = _open(name, title, description, height)
    parts += _axis(scale_max, ticks, tick_label, _TOP, plot_bottom)
    y = float(_TOP)
    if not rows:
        parts.append(
            _text(_LABEL, y + 16, _("no crisis cases in this history"), fill=COLORS["muted"])
        )
    deadline_of = _("deadline of {metric}")
    for heading, found in sections:
        parts.append(_text(4, y + 15, heading, font_weight="700", fill=COLORS["text"]))
        y += _SECTION
        for row in found:
            middle = y + _ROW / 2
            parts.append(_text(12, middle + 4, _short(row.label), fill=COLORS["text"]))
            parts.append(
                _bar(
                    _x(row.start, scale_max),
                    _x(row.end, scale_max),
                    middle,
                    _BAR,
                    _outcome_color(row.outcome),
                    row.outcome,
                    f"{row.label}: {row.note}",
                )
            )
            if row.deadline is not None:
                x, tip = _x(row.deadline, scale_max), deadline_of.format(metric=row.label)
                parts.append(
                    f'<path class="deadline" d="M{_n(x)} {_n(middle - 3)} l-5 -7 h10 z" '
                    f'fill="{COLORS["text"]}"><title>{escape(tip)}</title></path>'
                )
            parts.append(_text(_LABEL + _PLOT + 8, middle + 4, row.note, fill=COLORS["text"]))
            y += _ROW
    for level, (at, text) in enumerate(reversed(marks)):
        parts += _target(scale_max, at, text, _TOP, plot_bottom, level)
    parts += _gantt_legend(height)
    parts.append("</svg>")
    return "\n".join(parts)


def _gantt_legend(height: float) -> list[str]:
    """The outcomes' colours and what the deadline tick means."""
    parts = _legend([(_outcome_color(k), _(k)) for k in ("met", "breached", "open")], height)
    explained = _("▼ deadline (start + budget)")
    parts.append(_text(WIDTH - 10, height - 5, explained, text_anchor="end", fill=COLORS["text"]))
    return parts


@dataclass(frozen=True, slots=True)
class Series:
    """One series of a trend chart: a count per day, drawn as one bar per day."""

    label: str
    color: str
    values: Sequence[int]


_TREND_LEFT = 48
_TREND_PLOT_HEIGHT = 180


def trend_chart(
    name: str, title: str, description: str, days: Sequence[str], series: Sequence[Series]
) -> str:
    """Vertical bars per day (``days`` as labels, one group per day, one bar per series) on a
    count axis, for a trend over the period a report covers."""
    most = max((value for found in series for value in found.values), default=0)
    scale_max, ticks = count_ticks(max(most, 1))
    top, bottom = float(_TOP), float(_TOP + _TREND_PLOT_HEIGHT)
    height = bottom + _BOTTOM + 18
    parts = _open(name, title, description, height)
    plot_width = WIDTH - _TREND_LEFT - 10
    for tick in ticks:
        y = bottom - _TREND_PLOT_HEIGHT * tick / scale_max
        parts.append(
            f'<line x1="{_TREND_LEFT}" y1="{_n(y)}" x2="{WIDTH - 10}" y2="{_n(y)}" '
            f'stroke="{COLORS["grid"]}"/>'
        )
        parts.append(
            _text(_TREND_LEFT - 6, y + 4, str(int(tick)), text_anchor="end", fill=COLORS["muted"])
        )
    if not days:
        parts.append(
            _text(_TREND_LEFT + 8, top + 16, _("no data in this history"), fill=COLORS["muted"])
        )
    group = plot_width / max(len(days), 1)
    width = group * 0.8 / max(len(series), 1)
    every = max(1, -(-len(days) // 14))  # at most 14 day labels
    for index, day in enumerate(days):
        left = _TREND_LEFT + index * group + group * 0.1
        for number, found in enumerate(series):
            value = found.values[index]
            size = _TREND_PLOT_HEIGHT * value / scale_max
            parts.append(
                f'<rect class="mark" data-series="{escape(found.label)}" '
                f'x="{_n(left + number * width)}" y="{_n(bottom - size)}" '
                f'width="{_n(max(width - 1, 1.0))}" height="{_n(max(size, 0.5))}" '
                f'fill="{found.color}"><title>{escape(f"{day}: {value} {found.label}")}'
                "</title></rect>"
            )
        if index % every == 0:
            parts.append(
                _text(
                    left + group * 0.4,
                    bottom + 14,
                    day[5:],
                    text_anchor="middle",
                    fill=COLORS["muted"],
                )
            )
    parts += _legend([(found.color, found.label) for found in series], height, _TREND_LEFT)
    parts.append("</svg>")
    return "\n".join(parts)


def _short(label: str, longest: int = 34) -> str:
    """A row label that fits the label column (the bar's tooltip keeps it whole)."""
    return label if len(label) <= longest else label[: longest - 1] + "…"


def _outcome_color(outcome: str) -> str:
    return COLORS["good"] if outcome == "met" else COLORS.get(outcome, COLORS["open"])


def count_ticks(most: int) -> tuple[float, list[float]]:
    """A scale end and at most 6 round ticks (steps of 1, 2, 5, 10, 20, 50...) for counts up
    to ``most``."""
    magnitude = 1
    while True:
        for base in (1, 2, 5):
            step = base * magnitude
            count = max(1, -(-most // step))
            if count <= 5:
                return float(step * count), [float(step * i) for i in range(count + 1)]
        magnitude *= 10


def duration_ticks(longest: float) -> tuple[float, list[float]]:
    """A scale end and 3-7 round ticks (seconds) for durations up to ``longest``."""
    steps = (
        1,
        2,
        5,
        10,
        15,
        30,
        60,
        120,
        300,
        600,
        900,
        1800,
        3600,
        7200,
        10800,
        21600,
        43200,
        86400,
        172800,
        604800,
    )
    longest = max(longest, 1.0)
    step = next((s for s in steps if longest / s <= 6), steps[-1])
    count = int(-(-longest // step))
    scale = step * max(count, 1)
    return float(scale), [float(step * i) for i in range(count + 1)]
