"""The KPI report, rebuilt from history alone for the hand-checked week in
``tests/support/report_scenario.py`` (cases A, B, C, D, E and crisis X; read its docstring
first). Every expected number below is worked out by hand in the comments."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from support.report_scenario import DESK, run_scenario, scenario_engine
from support.workflows import ROOT
from svcflow import StoreError, WorkflowDefinitionError, load_workflow_text
from svcflow.cli import main
from svcflow.report import Report, build_report, render_html, render_text
from svcflow.report.figures import nearest_rank
from svcflow.report.text import WIDTH
from svcflow.spec.kpi import KpiSpec
from svcflow.store.registry import open_store


def scenario_desk_text() -> str:
    return DESK


def scenario_store(path: Path) -> str:
    url = f"sqlite:///{path}"
    engine = scenario_engine(url)
    run_scenario(engine)
    engine.close()
    return url


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    return scenario_store(tmp_path_factory.mktemp("report") / "week.db")


@pytest.fixture(scope="module")
def report(store: str) -> Report:
    return build_report(store)


@pytest.fixture(scope="module")
def figures(report: Report) -> dict[str, Any]:
    """The report as its JSON output reads."""
    found: dict[str, Any] = json.loads(report.to_json())
    return found


def kpis(figures: dict[str, Any]) -> tuple[Any, ...]:
    """One group's headline figures: cases, resolved, first response (median, p90, mean),
    FCR, within 24 h and CSAT as (count, total), breaches, warnings, escalated cases."""
    response = figures["first_response"]
    return (
        figures["cases"],
        figures["resolved"],
        (response["median"], response["p90"], response["mean"]),
        tuple(figures["first_contact_resolution"][k] for k in ("count", "total")),
        tuple(figures["resolved_within_24h"][k] for k in ("count", "total")),
        tuple(figures["csat"][k] for k in ("count", "total")),
        figures["breaches"],
        figures["warnings"],
        figures["escalated_cases"],
    )


def sla(met: int, breached: int, warnings: int, attainment: float | None) -> dict[str, Any]:
    return {
        "met": met,
        "breached": breached,
        "open": 0,
        "cancelled": 0,
        "warnings": warnings,
        "attainment": attainment,
    }


def test_nearest_rank_is_the_smallest_value_with_that_share_at_or_below_it() -> None:
    assert nearest_rank([60, 240, 540, 1200], 50) == 240  # rank ceil(2) = 2
    assert nearest_rank([60, 240, 540, 1200], 90) == 1200  # rank ceil(3.6) = 4
    assert nearest_rank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90) == 9  # rank 9, not 10
    assert nearest_rank([7], 90) == 7


def test_overall_figures_equal_the_hand_computed_ones(figures: dict[str, Any]) -> None:
    assert figures["cases"] == 6
    assert figures["history_until"] == "2026-03-03T12:00:00+00:00"  # C resolved, Tuesday 12:00
    assert figures["overall"] == {
        "cases": 6,
        "resolved": 4,  # A, B, C, E stopped `resolution`; D never did, X has no such clock
        # first responses: E 1m, A 4m, C 9m, B 20m (its stop at 09:20, not its breach at 09:15);
        # D has none. Median rank ceil(0.5*4)=2 -> 240 s; p90 rank ceil(0.9*4)=4 -> 1200 s;
        # mean (60+240+540+1200)/4 = 510 s.
        "first_response": {"count": 4, "median": 240.0, "p90": 1200.0, "mean": 510.0},
        # first resolution stop minus the case start: B 1h (10:00), E 1h, A 2h, C 27h
        # (Tuesday 12:00; the pause does not count against the SLA but does on the wall clock).
        # Median rank 2 -> 3600; p90 rank 4 -> 97200; mean 111600/4 = 27900.
        "resolution_time": {"count": 4, "median": 3600.0, "p90": 97200.0, "mean": 27900.0},
        "resolved_within_24h": {"count": 3, "total": 4, "rate": 0.75},  # all but C
        # Only E: A has E raised from it, B escalated and reopened, C waited on the customer.
        "first_contact_resolution": {"count": 1, "total": 4, "rate": 0.25},
        "csat": {"count": 2, "total": 3, "rate": 0.6667},  # A yes, B no, E yes
        # A 10 (promoter), B 3 (detractor), E 8 (passive): (1 - 1) / 3 = 0
        "nps": {"answered": 3, "promoters": 1, "passives": 1, "detractors": 1, "score": 0.0},
        # breached cycles: B and D first_response, D resolution (Tuesday 09:00), X social_reply
        "breaches": 4,
        "warnings": 3,  # the 50% first-response warnings of B, C and D at 09:07:30
        "escalated_cases": 2,  # B (team lead), D (team lead, service manager)
        "escalations": {"service_manager": 1, "team_lead": 2},
        "sla": {
            "first_response": sla(3, 2, 3, 0.6),  # A, C, E met; B, D breached
            # A, B (two cycles: reopened), C, E met; D breached while still running
            "resolution": sla(5, 1, 0, 0.8333),
            "internal_alert": sla(1, 0, 0, 1.0),
            "response_plan": sla(1, 0, 0, 1.0),
            "social_reply": sla(0, 1, 0, 0.0),
        },
    }


def test_figures_per_workflow_channel_category_and_segment(figures: dict[str, Any]) -> None:
    groups = {
        grouping: {name: kpis(found) for name, found in named.items()}
        for grouping, named in figures["groups"].items()
    }
    nothing = (None, None, None)
    assert groups["workflow"] == {
        "crisis": (1, 0, nothing, (0, 0), (0, 0), (0, 0), 1, 0, 0),
        "desk": (5, 4, (240.0, 1200.0, 510.0), (1, 4), (3, 4), (2, 3), 3, 3, 2),
    }
    assert groups["channel"] == {
        # B and D: only B answered (20m) and resolved; B breached once, D twice; both warned and
        # escalated; B was unsatisfied.
        "chat": (2, 1, (1200.0, 1200.0, 1200.0), (0, 1), (1, 1), (0, 1), 3, 2, 2),
        # C: answered in 9m after a warning, resolved after 27h, waited: no FCR; no answer.
        "email": (1, 1, (540.0, 540.0, 540.0), (0, 1), (0, 1), (0, 0), 0, 1, 0),
        # A (4m) and E (1m): median rank 1 -> 60, p90 rank 2 -> 240, mean 150; A is not FCR.
        "phone": (2, 2, (60.0, 240.0, 150.0), (1, 2), (2, 2), (2, 2), 0, 0, 0),
        "social": (1, 0, nothing, (0, 0), (0, 0), (0, 0), 1, 0, 0),  # X, the crisis
    }
    assert groups["category"] == {
        # A 4m, B 20m: median 240, p90 1200, mean 720
        "billing": (2, 2, (240.0, 1200.0, 720.0), (0, 2), (2, 2), (1, 2), 1, 1, 1),
        # C 9m, E 1m (D none): median 60, p90 540, mean 300; C and E resolved, E is FCR
        "delivery": (3, 2, (60.0, 540.0, 300.0), (1, 2), (1, 2), (1, 1), 2, 2, 1),
        "unknown": (1, 0, nothing, (0, 0), (0, 0), (0, 0), 1, 0, 0),  # X has no category
    }
    assert groups["segment"] == {
        # B 20m, C 9m: median 540, p90 1200, mean 870
        "standard": (2, 2, (540.0, 1200.0, 870.0), (0, 2), (1, 2), (0, 1), 1, 2, 1),
        "unknown": (2, 1, (60.0, 60.0, 60.0), (1, 1), (1, 1), (1, 1), 1, 0, 0),  # E and X
        "vip": (2, 1, (240.0, 240.0, 240.0), (0, 1), (1, 1), (1, 1), 2, 1, 1),  # A and D
    }


def test_sla_attainment_per_workflow_and_metric(figures: dict[str, Any]) -> None:
    rows = [(row["workflow"], row["metric"], row["counts"]) for row in figures["sla"]]
    assert {row["target"] for row in figures["sla"]} == {1.0}  # no workflow kpi: the default
    assert rows == [
        ("crisis", "internal_alert", sla(1, 0, 0, 1.0)),
        ("crisis", "response_plan", sla(1, 0, 0, 1.0)),
        ("crisis", "social_reply", sla(0, 1, 0, 0.0)),
        ("desk", "first_response", sla(3, 2, 3, 0.6)),  # 3 / (3 + 2)
        ("desk", "resolution", sla(5, 1, 0, 0.8333)),  # 5 / (5 + 1)
    ]


def test_open_and_cancelled_cycles_are_counted_apart(tmp_path: Path) -> None:
    engine = scenario_engine(f"sqlite:///{tmp_path / 'open.db'}")
    engine.start("desk", {"customer": "c"})  # A: both clocks running, nothing breached yet
    engine.start("desk", {"customer": "c"})  # B: answered, resolved, closed
    engine.fire("B", "respond")
    engine.fire("B", "resolve")
    engine.fire("B", "close")
    found = build_report(engine.store)
    engine.close()
    counts = {row.metric: row.counts for row in found.sla}
    assert (counts["first_response"].met, counts["first_response"].open) == (1, 1)
    assert counts["first_response"].attainment == 1.0  # open cycles are not in attainment
    assert (counts["resolution"].met, counts["resolution"].open) == (1, 1)
    assert found.overall.first_response.count == 1


def test_escalations_by_level_and_by_chain(figures: dict[str, Any]) -> None:
    assert figures["escalations"] == {
        "by_level": [  # in level order: team lead is level 0, the service manager level 1
            {"level_name": "team_lead", "level": 0, "count": 2},  # B and D at 09:10
            {"level_name": "service_manager", "level": 1, "count": 1},  # D at 09:30
        ],
        "by_chain": {"unanswered": {"service_manager": 1, "team_lead": 2}},
        "escalated_cases": 2,
        "raised_cases": 1,  # E, raised from A
    }


def test_crisis_timeline_against_its_marks(figures: dict[str, Any]) -> None:
    def clock(
        metric: str,
        budget: float,
        deadline: str,
        stopped: str,
        elapsed: float,
        breached_at: str | None,
    ) -> dict[str, Any]:
        return {
            "metric": metric,
            "started_at": "2026-03-02T10:00:00+00:00",
            "budget_seconds": budget,
            "deadline": f"2026-03-02T{deadline}:00+00:00",  # start + budget (24x7)
            "stopped_at": f"2026-03-02T{stopped}:00+00:00",
            "elapsed_seconds": elapsed,
            "breached_at": breached_at and f"2026-03-02T{breached_at}:00+00:00",
            "outcome": "breached" if breached_at else "met",
            "start_offset": 0.0,
            "deadline_offset": budget,
            "stop_offset": elapsed,
        }

    assert figures["crises"] == [
        {
            "case_id": "X",
            "started_at": "2026-03-02T10:00:00+00:00",
            "tier": "1",
            "event": "payment outage",
            "channel": "social",
            "last_offset": 3600.0,  # closed at 11:00
            "metrics": [
                # alerted at 10:20: +20m against the 30-minute mark
                clock("internal_alert", 1800.0, "10:30", "10:20", 1200.0, None),
                # plan at 10:50: +50m against the 1-hour mark
                clock("response_plan", 3600.0, "11:00", "10:50", 3000.0, None),
                # breached at its deadline 10:30, the reply went out at 10:45 (+45m)
                clock("social_reply", 1800.0, "10:30", "10:45", 2700.0, "10:30"),
            ],
        }
    ]


def test_text_output_shows_the_figures_within_100_columns(report: Report) -> None:
    text = render_text(report)
    assert max(len(line) for line in text.splitlines()) <= WIDTH
    for line in (
        "svcflow KPI report: 6 cases, history from 2026-03-02 09:00 UTC to 2026-03-03 12:00 UTC",
        "overall                    6        4      4m     20m   8m30s  25.0%  75.0%  66.7%"
        "      4     3    2",
        "  phone                    2        2      1m      4m   2m30s  50.0% 100.0% 100.0%"
        "      0     0    0",
        "desk / first_response                       3         2      0          0    60.0%"
        "    100%         3",
        "team_lead                                      2",
        "Crisis X: tier 1, payment outage, via social, started 2026-03-02 10:00 UTC",
        "  social_reply                     +0s     30m      +30m      +45m       45m  breached",
    ):
        assert line in text.splitlines()


def test_the_report_is_identical_when_built_twice_and_on_either_store(
    report: Report, store: str
) -> None:
    again = build_report(store)
    memory = scenario_engine("memory://")
    run_scenario(memory)
    from_memory = build_report(memory.store)
    memory.close()
    assert again.to_json() == report.to_json() == from_memory.to_json()
    assert render_text(again) == render_text(from_memory) == render_text(report)
    assert render_html(again) == render_html(from_memory) == render_html(report)


def test_a_store_with_no_cases_gives_an_empty_report(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    open_store(url).close()
    empty = build_report(url)
    assert (empty.cases, empty.history_until, empty.sla, empty.crises) == (0, None, [], [])
    assert empty.overall.first_response.median is None
    assert empty.overall.first_contact_resolution.rate is None
    assert render_text(empty) == (
        "svcflow KPI report: 0 cases, no history yet\n"
        "No cases: the store holds no history yet, so there is nothing to report.\n"
    )
    assert "No cases: the store holds no history yet" in render_html(empty)
    assert json.loads(empty.to_json())["groups"] == {
        "workflow": {},
        "channel": {},
        "category": {},
        "segment": {},
    }


def test_histories_read_every_case_in_one_pass_on_both_stores(store_url: str) -> None:
    engine = scenario_engine(store_url)
    run_scenario(engine)
    found = list(engine.store.histories())
    assert [(h.case_id, h.workflow) for h in found] == [
        ("A", "desk"),
        ("B", "desk"),
        ("C", "desk"),
        ("D", "desk"),
        ("E", "desk"),
        ("X", "crisis"),
    ]
    for history in found:
        assert history.entries == engine.history(history.case_id)
        assert [entry.seq for entry in history.entries] == list(range(1, len(history.entries) + 1))
    engine.close()


def test_an_entry_without_details_reads_back_as_an_empty_mapping(store_url: str) -> None:
    engine = scenario_engine(store_url)
    engine.start("crisis", {"tier": 2})
    engine.fire("A", "reply_social")  # stops social_reply: details hold its SLA event
    engine.fire("A", "reply_social")  # nothing changes: no details at all
    last = engine.history("A")[-1]
    assert dict(last.details) == {}
    assert last.details.get("sla", ()) == ()
    engine.close()


def test_cli_report_writes_each_format(store: str, tmp_path: Path, capsys: Any) -> None:
    assert main(["report", "--store", store]) == 0
    assert capsys.readouterr().out == render_text(build_report(store))
    for kind in ("json", "html"):
        target = tmp_path / f"report.{kind}"
        assert main(["report", "--store", store, "--format", kind, "-o", str(target)]) == 0
        assert f"{kind} report of 6 cases written to {target}" in capsys.readouterr().out
        assert target.stat().st_size > 1000
    assert json.loads((tmp_path / "report.json").read_text())["cases"] == 6
    assert (tmp_path / "report.html").read_text().count("<svg ") == 8


def test_cli_report_on_a_missing_store_is_an_error_not_a_new_store(
    tmp_path: Path, capsys: Any
) -> None:
    missing = tmp_path / "nowhere.db"
    assert main(["report", "--store", f"sqlite:///{missing}"]) == 1
    assert f"error: no store at {missing}" in capsys.readouterr().err
    assert not missing.exists()
    with pytest.raises(StoreError, match="run `svcflow demo`"):
        build_report(f"sqlite:///{missing}")
    with pytest.raises(StoreError, match="opens a new, empty store"):
        build_report("memory://")


def test_the_docs_example_is_the_real_output_of_the_scenario(report: Report) -> None:
    page = (ROOT / "docs" / "report.md").read_text(encoding="utf-8")
    example = re.search(r"^```text scenario\n(.*?)^```$", page, re.DOTALL | re.MULTILINE)
    assert example, "docs/report.md has no ```text scenario block"
    assert example.group(1) == render_text(report)


def test_the_report_needs_no_engine_and_no_workflow_files(store: str) -> None:
    """A store is read as it is: the report opens it without an engine (no data codec)."""
    opened = open_store(store)
    try:
        assert build_report(opened).cases == 6
    finally:
        opened.close()


def test_the_report_shows_its_period_and_each_day(report: Report) -> None:
    assert (report.history_from, report.history_until) == (
        "2026-03-02T09:00:00+00:00",
        "2026-03-03T12:00:00+00:00",
    )
    # Monday: A-E and X open; A, B (first resolution 10:00) and E resolved; B and D's first
    # response and X's social reply breach. Tuesday: C resolved, D's resolution breaches.
    assert [(d.day, d.opened, d.resolved, d.breaches) for d in report.daily] == [
        ("2026-03-02", 6, 3, 3),
        ("2026-03-03", 0, 1, 1),
    ]
    page = render_html(report)
    assert "history from 2026-03-02 09:00 UTC to 2026-03-03 12:00 UTC" in page
    assert 'data-chart="daily-trend"' in page


KPI = {
    "desk": KpiSpec.model_validate({"sla_attainment": {"resolution": "80%"}}),
    "crisis": KpiSpec.model_validate({"first_response": "internal_alert"}),
}


def test_each_metric_is_measured_against_its_workflows_target(store: str) -> None:
    report = build_report(store, kpi=KPI)
    targets = {(row.workflow, row.metric): row.target for row in report.sla}
    assert targets[("desk", "resolution")] == 0.8
    assert targets[("desk", "first_response")] == 1.0  # not named: the default
    page = render_html(report)
    # 83.3% against 80% is met (green); 60% against 100% is short (orange)
    assert "desk / resolution: 83.3% (5/6), target 80%" in page
    resolution_bar = page.split("desk / resolution: 83.3%")[0].rsplit("<rect", 1)[1]
    assert 'fill="#2e7d32"' in resolution_bar
    [line] = [x for x in render_text(report).splitlines() if x.startswith("desk / resolution")]
    assert line.split()[-2:] == ["80%", "0"]  # target, warnings


def test_the_crisis_row_has_a_first_response_on_its_own_clock(store: str) -> None:
    report = build_report(store, kpi=KPI)
    crisis = report.groups["workflow"]["crisis"]
    assert (crisis.first_response.count, crisis.first_response.median) == (1, 1200.0)  # 10:20
    plain = build_report(store)
    assert plain.groups["workflow"]["crisis"].first_response.count == 0


def test_the_cli_reads_the_kpi_sections_of_the_workflows(
    store: str, tmp_path: Path, capsys: Any
) -> None:
    folder = tmp_path / "workflows"
    folder.mkdir()
    desk = scenario_desk_text().replace("version: 1\n", "version: 1\nkpi: {sla_attainment: 80%}\n")
    (folder / "desk.yaml").write_text(desk)
    assert main(["report", "--store", store, "--workflows", str(folder)]) == 0
    out = capsys.readouterr().out
    assert (
        "desk / resolution                           5         1      0          0    83.3%     80%"
        in out
    )


def test_a_hostile_category_is_escaped_in_the_html(tmp_path: Path) -> None:
    engine = scenario_engine(f"sqlite:///{tmp_path / 'x.db'}")
    engine.start("desk", {"customer": "x", "category": "<script>alert(1)</script>"})
    page = render_html(build_report(engine.store))
    engine.close()
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize(
    ("kpi", "message"),
    [
        (
            "kpi: {first_response: frist_response}",
            "kpi.first_response: unknown SLA metric 'frist_response'; did you mean "
            "'first_response'? SLA metrics: first_response, resolution",
        ),
        (
            "kpi: {sla_attainment: {resolutoin: 95%}}",
            "kpi.sla_attainment.resolutoin: unknown SLA metric 'resolutoin'; did you mean "
            "'resolution'? SLA metrics: first_response, resolution",
        ),
        (
            "kpi: {sla_attainment: 120%}",
            "kpi.sla_attainment: a target share is above 0% and at most 100%, got 120%",
        ),
        (
            "kpi: {sla_attainment: lots}",
            "kpi.sla_attainment: invalid percentage 'lots', write e.g. 95%",
        ),
    ],
)
def test_a_wrong_kpi_section_is_a_load_error(kpi: str, message: str) -> None:
    with pytest.raises(WorkflowDefinitionError) as caught:
        load_workflow_text(scenario_desk_text() + kpi + "\n", "desk.yaml")
    assert message in str(caught.value)
