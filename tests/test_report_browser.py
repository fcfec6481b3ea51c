"""The HTML report in a real browser: Debian's headless Chromium opens the page for the
hand-checked week (``tests/support/report_scenario.py``) and draws every chart.

Two looks: the DOM after layout (an injected script measures each ``svg[data-chart]`` and its
marks with ``getBBox()``), and a screenshot whose chart areas must hold the bar colours. The
report page itself has no script; the measuring one is added to a copy for the test only.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.apt import terminal_announcer
from support.browser import chromium, run_chromium
from support.png import read_png
from support.report_scenario import run_scenario, scenario_engine
from svcflow.report import build_report, render_html
from svcflow.report.html import CHARTS
from svcflow.report.svg import COLORS
from svcflow.spec.kpi import KpiSpec

MEASURE = """
<script>
(() => {
  const charts = {};
  for (const svg of document.querySelectorAll("svg[data-chart]")) {
    const box = svg.getBBox();
    const page = svg.getBoundingClientRect();
    const marks = [...svg.querySelectorAll(".mark")].map((mark) => {
      const size = mark.getBBox();
      return [mark.dataset.series, size.width, size.height];
    });
    charts[svg.dataset.chart] = {
      box: [box.width, box.height],
      page: [page.left + scrollX, page.top + scrollY, page.width, page.height],
      marks,
      targets: svg.querySelectorAll(".target").length,
      deadlines: svg.querySelectorAll(".deadline").length,
      labelled: !!svg.querySelector("title") && svg.getAttribute("role") === "img",
    };
  }
  document.documentElement.dataset.rendered = JSON.stringify({
    charts, height: document.documentElement.scrollHeight,
  });
})();
</script>
"""


@pytest.fixture(scope="module")
def browser(pytestconfig: pytest.Config) -> Path:
    """Chromium, installed first when missing and allowed (said on the terminal, not hidden by
    output capture)."""
    return chromium(terminal_announcer(pytestconfig, "test_report_browser"))


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("browser")
    engine = scenario_engine(f"sqlite:///{folder / 'week.db'}")
    run_scenario(engine)
    # the desk workflow aims at 80% attainment of its resolution clock; every other clock at
    # the default 100%: two target lines
    kpi = {"desk": KpiSpec.model_validate({"sla_attainment": {"resolution": "80%"}})}
    text = render_html(build_report(engine.store, kpi=kpi))
    engine.close()
    assert "<script" not in text  # the report itself is static
    target = folder / "report.html"
    target.write_text(text.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    yield target


@pytest.fixture(scope="module")
def rendered(browser: Path, page: Path) -> dict[str, Any]:
    done = run_chromium(page, ["--dump-dom", "--window-size=900,1200"])
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'data-rendered="([^"]*)"', done.stdout)
    assert found, "the measuring script did not run:\n" + done.stdout[:2000]
    measured: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return measured


def series(chart: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name, _, _ in chart["marks"]:
        counts[name] = counts.get(name, 0) + 1
    return counts


def widths(chart: dict[str, Any]) -> list[float]:
    return [round(width, 1) for _, width, _ in chart["marks"]]


def test_every_chart_is_drawn_with_a_size_and_a_title(rendered: dict[str, Any]) -> None:
    charts = rendered["charts"]
    assert list(charts) == list(CHARTS)
    for name, chart in charts.items():
        assert chart["box"][0] > 300 and chart["box"][1] > 50, name
        assert chart["labelled"], name
        assert all(width > 0 and height > 0 for _, width, height in chart["marks"]), name


def test_each_chart_draws_one_mark_per_figure(rendered: dict[str, Any]) -> None:
    charts = rendered["charts"]
    # Monday and Tuesday: opened, resolved and breaches each
    assert series(charts["daily-trend"]) == {"opened": 2, "resolved": 2, "SLA breaches": 2}
    # all cases, desk, chat, email, phone: a median bar, a p90 bar and a mean dot each
    assert series(charts["first-response"]) == {"p90": 5, "median": 5, "mean": 5}
    assert series(charts["sla-attainment"]) == {"rate": 5}  # five workflow/metric pairs
    # all cases + chat, email, phone + billing, delivery + standard, unknown, vip (social and
    # the unknown category have no resolved case)
    assert series(charts["resolution-24h"]) == {"rate": 9}
    assert series(charts["fcr"]) == {"rate": 9}
    assert series(charts["csat"]) == {"rate": 8}  # email has no answer either
    assert series(charts["escalations"]) == {"count": 2}
    assert series(charts["crisis-timeline"]) == {"met": 2, "breached": 1}
    assert charts["crisis-timeline"]["deadlines"] == 3
    assert charts["crisis-timeline"]["targets"] == 2  # the 30-minute and 1-hour marks
    assert charts["sla-attainment"]["targets"] == 2  # 80% (desk resolution) and 100%
    for name in ("resolution-24h", "fcr", "csat"):
        assert charts[name]["targets"] == 1, name


def test_bar_lengths_follow_the_figures(rendered: dict[str, Any]) -> None:
    charts = rendered["charts"]
    alert, plan, reply, first_response, resolution = widths(charts["sla-attainment"])
    assert alert == plan  # both 100%
    assert reply < 2  # 0%: a sliver
    assert first_response / alert == pytest.approx(0.6, abs=0.01)
    assert resolution / alert == pytest.approx(5 / 6, abs=0.01)
    monday = [height for _, _, height in charts["daily-trend"]["marks"][:3]]
    opened, resolved, breached = monday  # 6, 3 and 3 on Monday
    assert opened == pytest.approx(2 * resolved, abs=0.5) and resolved == breached
    team_lead, manager = widths(charts["escalations"])
    assert team_lead == pytest.approx(2 * manager, abs=0.5)
    alerted, planned, replied = widths(charts["crisis-timeline"])  # 20m, 50m, 45m
    assert planned / alerted == pytest.approx(2.5, abs=0.02)
    assert replied / alerted == pytest.approx(2.25, abs=0.02)


def test_the_screenshot_shows_the_charts(
    browser: Path, page: Path, rendered: dict[str, Any], tmp_path: Path
) -> None:
    shot = tmp_path / "report.png"
    height = int(rendered["height"]) + 20
    done = run_chromium(page, [f"--screenshot={shot}", f"--window-size=900,{height}"])
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    image = read_png(shot)
    assert image.width == 900
    expected = {
        "daily-trend": (COLORS["bar"], COLORS["good"], COLORS["breached"]),
        "first-response": (COLORS["bar"], COLORS["light"]),
        "sla-attainment": (COLORS["good"], COLORS["short"]),
        "resolution-24h": (COLORS["good"], COLORS["short"]),
        "fcr": (COLORS["good"], COLORS["short"]),
        "csat": (COLORS["good"], COLORS["short"]),
        "escalations": (COLORS["bar"],),
        "crisis-timeline": (COLORS["good"], COLORS["breached"]),
    }
    for name, colors in expected.items():
        left, top, width, tall = (round(value) for value in rendered["charts"][name]["page"])
        counts = image.color_counts(left, top, width, tall)
        painted = sum(count for color, count in counts.items() if color != "#ffffff")
        assert painted > 0.02 * width * tall, f"{name} looks blank"
        for color in colors:
            assert counts[color] > 150, f"{name}: too few {color} pixels ({counts[color]})"


def test_without_chromium_and_without_root_the_helper_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import support.browser as helper

    monkeypatch.setattr(helper, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(helper.BrowserUnavailable, match="apt-get install -y --no-install-rec"):
        helper.chromium()
