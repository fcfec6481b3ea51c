"""The KPI report: figures rebuilt from case history alone, as terminal tables, JSON or a
self-contained HTML page with charts.

``build_report(store_or_url)`` reads every case's history and returns a :class:`Report`;
``render_text(report)``, ``render_html(report)`` and ``report.to_json()`` render it. The same
history always gives the same output: no generation time, stable ordering. What each figure
means is in ``docs/report.md``.
"""

from svcflow.report.collect import build_report, kpi_sections
from svcflow.report.figures import Report, compute_report
from svcflow.report.html import render_html
from svcflow.report.text import render_text

__all__ = [
    "Report",
    "build_report",
    "compute_report",
    "kpi_sections",
    "render_html",
    "render_text",
]
