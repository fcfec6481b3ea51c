"""Running cases moved to a new version: a plan checked against both versions, a dry run, one
transaction per case with a ``migrated`` entry, clocks keeping their time used, unmovable cases
left alone, a SIGKILL in the middle, and the KPI report over histories spanning two versions."""

from __future__ import annotations

import json
import os
import re
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import IO

import pytest

from support.calendars import at
from support.workflows import ROOT
from svcflow import Engine, ManualClock, WorkflowDefinitionError, load_workflow_text
from svcflow.cli import main
from svcflow.definitions.migration import read_migration_text
from svcflow.definitions.workflow import load_workflow_file
from svcflow.records import Case
from svcflow.report import build_report
from svcflow.sla.words import sla_words
from svcflow.store.registry import open_store

FIXTURES = ROOT / "tests" / "fixtures" / "migration"
PLAN = FIXTURES / "plan.yaml"
V2, V3 = (
    load_workflow_file(FIXTURES / "repair_v2.yaml"),
    load_workflow_file(FIXTURES / "repair_v3.yaml"),
)


def on_both_versions(store_url: str, clock: ManualClock) -> Engine:
    """An engine of v2 and v3 on a store where v2 cases were opened (by a v2-only engine on
    the same store object, as a host upgrading its workflows would have)."""
    store = open_store(store_url)
    first = Engine([V2], store, clock)
    open_cases(first, clock)
    first.plugins.close()
    return Engine([V2, V3], store, clock)


@pytest.fixture
def engine(store_url: str, clock: ManualClock) -> Iterator[Engine]:
    with on_both_versions(store_url, clock) as both:
        yield both


def open_cases(engine: Engine, clock: ManualClock) -> dict[str, str]:
    """Five v2 cases: received, working (two: parts or not), waiting, done, and one whose
    device v3 does not know. Returns their ids by name; the clock ends 2 hours on."""
    ids = {}
    ids["received"] = engine.start("repair", {"customer": "Ann"}).id
    for name, data in [
        ("working", {"customer": "Bo", "device": "laptop"}),
        ("parts", {"customer": "Cy", "parts_needed": True}),
        ("waiting", {"customer": "Di"}),
        ("done", {"customer": "Ed"}),
        ("toaster", {"customer": "Fay", "device": "toaster"}),
    ]:
        ids[name] = engine.start("repair", data).id
        engine.fire(ids[name], "start_work")
    clock.advance("1h")
    engine.fire(ids["waiting"], "ask")
    engine.fire(ids["done"], "finish")
    clock.advance("1h")
    return ids


def by_customer(engine: Engine) -> dict[str, str]:
    return {case.data["customer"]: case.id for case in engine.find("repair")}


def test_a_dry_run_lists_moves_and_deadlines_and_writes_nothing(engine: Engine) -> None:
    before = {case.id: case for case in engine.find("repair")}
    report = engine.migrate_cases(PLAN, dry_run=True)
    assert report.dry_run and report.finished == 1
    ids = by_customer(engine)
    moves = {m.case_id: (m.from_state, m.to_state) for m in report.moved}
    assert moves == {
        ids["Ann"]: ("received", "received"),
        ids["Bo"]: ("working", "diagnosing"),
        ids["Cy"]: ("working", "repairing"),
        ids["Di"]: ("waiting_on_customer", "waiting_on_customer"),
    }
    deadline = {m.case_id: m.deadlines["resolution"] for m in report.moved}
    start = before[ids["Bo"]].created_at
    assert deadline[ids["Bo"]] == start + timedelta(hours=8)
    assert deadline[ids["Cy"]] == start + timedelta(hours=8)  # keep: the target stays
    assert deadline[ids["Di"]] is None  # paused
    [stuck] = report.unmovable
    assert stuck.case_id == ids["Fay"]
    assert {case.id: case for case in engine.find("repair")} == before


def test_cases_move_one_transaction_each_with_a_migrated_entry(engine: Engine) -> None:
    ids = by_customer(engine)
    timers_before = engine.timers(ids["Bo"])
    sla_before = {s.metric: s for s in engine.sla(ids["Di"])}
    report = engine.migrate_cases(PLAN, actor="ops-lead")
    assert len(report.moved) == 4 and not report.dry_run
    bo = engine.get(ids["Bo"])
    assert (bo.version, bo.state, bo.data["technician"]) == (3, "diagnosing", "lab")
    assert engine.get(ids["Cy"]).state == "repairing"
    assert engine.get(ids["Cy"]).data["technician"] == "counter"
    entry = engine.history(ids["Bo"])[-1]
    assert (entry.kind, entry.actor, entry.from_state, entry.to_state, entry.version) == (
        "migrated",
        "ops-lead",
        "working",
        "diagnosing",
        3,
    )
    assert entry.details["migrated"] == {
        "from_version": 2,
        "to_version": 3,
        "plan": str(PLAN),
    }
    assert entry.details["notes"] == ["fields v3 does not have: legacy_code"]
    assert entry.details["set"] == {"technician": "lab"}
    # the state timer keeps its due time; the SLA timers are planned again at the same moments
    assert {(t.trigger, t.due_at) for t in engine.timers(ids["Bo"])} == {
        (t.trigger, t.due_at) for t in timers_before
    }
    # clocks keep the time used: two hours running, one of them before the pause
    [bo_clock] = engine.sla(ids["Bo"])
    assert bo_clock.elapsed == timedelta(hours=2)
    [di_clock] = engine.sla(ids["Di"])
    assert (di_clock.status, di_clock.elapsed) == ("paused", sla_before["resolution"].elapsed)
    assert di_clock.elapsed == timedelta(hours=1)
    # from now on the case runs on v3
    assert engine.fire(ids["Bo"], "order_parts").state == "repairing"


def test_an_unmovable_case_is_listed_and_untouched(engine: Engine) -> None:
    ids = by_customer(engine)
    before, history = engine.get(ids["Fay"]), engine.history(ids["Fay"])
    report = engine.migrate_cases(PLAN)
    [stuck] = report.unmovable
    assert (stuck.case_id, stuck.state) == (ids["Fay"], "working")
    assert stuck.reason == (
        "invalid case data for workflow 'repair' v3: device: Input should be 'phone', 'laptop' "
        "or 'tablet' (got 'toaster')"
    )
    assert engine.get(ids["Fay"]) == before
    assert engine.history(ids["Fay"]) == history
    assert engine.migrate_cases(PLAN).moved == []  # nothing left that can move


def test_restart_and_retarget_clocks(engine: Engine, clock: ManualClock) -> None:
    ids = by_customer(engine)
    text = PLAN.read_text().replace("resolution: keep", "resolution: retarget")
    engine.migrate_cases(read_migration_text(text, "retarget.yaml"))
    [cy] = engine.sla(ids["Cy"])  # parts needed: v3 gives 24 hours, two already used
    assert (cy.elapsed, cy.remaining) == (timedelta(hours=2), timedelta(hours=22))
    [bo] = engine.sla(ids["Bo"])
    assert bo.remaining == timedelta(hours=6)


def test_a_restarted_clock_starts_a_new_cycle(store_url: str, clock: ManualClock) -> None:
    with on_both_versions(store_url, clock) as both:
        text = PLAN.read_text().replace("resolution: keep", "resolution: restart")
        both.migrate_cases(read_migration_text(text, "restart.yaml"))
        [bo] = both.sla(by_customer(both)["Bo"])
        assert (bo.elapsed, bo.remaining) == (timedelta(0), timedelta(hours=8))


def test_a_plan_is_checked_against_both_versions_with_positions(engine: Engine) -> None:
    text = """\
migration: repair
from: 2
to: 3
states:
  workin: diagnosing
  waiting_on_customer: {to: waiting, when: parts_neded}
data:
  technicain: lab
  parts_needed: maybe
clocks:
  resolutoin: restart
"""
    with pytest.raises(WorkflowDefinitionError) as error:
        engine.migrate_cases(read_migration_text(text, "plan.yaml"), dry_run=True)
    assert str(error.value).splitlines() == [
        "6 problems in plan.yaml",
        "plan.yaml:5:3: states.workin: unknown v2 state 'workin'; did you mean 'working'? v2 "
        "states: done, received, waiting_on_customer, working",
        "plan.yaml:6:29: states.waiting_on_customer.to: unknown v3 state 'waiting'; did you "
        "mean 'repairing'? v3 states: diagnosing, done, received, repairing, "
        "waiting_on_customer",
        "plan.yaml:6:44: states.waiting_on_customer.when: unknown name 'parts_neded' in "
        "expression `parts_neded`; did you mean 'parts_needed'? known names: actor, customer, "
        "device, legacy_code, now, parts_needed, state",
        "plan.yaml:8:3: data.technicain: unknown v3 field 'technicain'; did you mean "
        "'technician'? v3 fields: customer, device, parts_needed, technician",
        "plan.yaml:9:17: data.parts_needed: invalid value for field 'parts_needed': Input "
        "should be a valid boolean, unable to interpret input (got 'maybe')",
        "plan.yaml:11:3: clocks.resolutoin: unknown v3 SLA metric 'resolutoin'; did you mean "
        "'resolution'? v3 SLA metrics: resolution",
    ]
    assert engine.find("repair", state="working")[0].version == 2  # nothing moved


def test_the_kpi_report_reads_histories_spanning_two_versions(
    engine: Engine, clock: ManualClock
) -> None:
    ids = by_customer(engine)
    engine.migrate_cases(PLAN)
    clock.advance("1h")
    engine.fire(ids["Bo"], "finish")
    engine.fire(ids["Di"], "answer")
    report = json.loads(build_report(engine.store).to_json())
    assert report["cases"] == 6
    everyone = report["groups"]["channel"]["unknown"]
    # Ed resolved after 1 hour on v2; Bo started on v2 and was resolved on v3 after 3 hours
    assert everyone["resolved"] == 2
    assert everyone["resolution_time"]["mean"] == 7200.0
    assert everyone["sla"]["resolution"] == {
        "attainment": 1.0,
        "breached": 0,
        "cancelled": 0,
        "met": 2,
        "open": 4,
        "warnings": 0,
    }


def test_the_cli_dry_run_and_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    clock = ManualClock("2026-03-02T09:00:00+00:00")
    with Engine([V2], url, clock) as first:
        open_cases(first, clock)
    folder = tmp_path / "workflows"
    folder.mkdir()
    (folder / "repair.yaml").write_text((FIXTURES / "repair_v3.yaml").read_text())
    args = ["migrate-cases", str(PLAN), "--workflows", str(folder), "--store", url]
    assert main([*args, "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert (
        lines[0] == "would move 4 cases of repair from v2 to v3; 1 cannot move; 1 already finished"
    )
    moves = sorted(line.split(maxsplit=1)[1] for line in lines[1:5])
    assert moves == [
        "received -> received  resolution due 2026-03-02 17:00 UTC",
        "waiting_on_customer -> waiting_on_customer  resolution due (paused)",
        "working -> diagnosing  resolution due 2026-03-02 17:00 UTC",
        "working -> repairing  resolution due 2026-03-02 17:00 UTC",
    ]
    assert lines[5].startswith("  cannot move ") and lines[5].endswith("(got 'toaster')")
    with Engine([V2], url, clock) as engine:
        assert {case.version for case in engine.find("repair")} == {2}
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.startswith("moved 4 cases of repair from v2 to v3; 1 cannot move;")
    with Engine([V2], url, clock) as engine:
        assert sorted(case.version for case in engine.find("repair")) == [2, 2, 3, 3, 3, 3]


def test_the_migrations_page_shows_the_fixture_plan_and_runs(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = (ROOT / "docs" / "migrations.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```(\w+)(?: (\w+))?\n(.*?)^```$", page, re.S | re.M)
    [plan] = [body for language, kind, body in blocks if (language, kind) == ("yaml", "plan")]
    assert plan == PLAN.read_text(encoding="utf-8")
    [shown] = [body for language, _, body in blocks if language == "text"]
    misspelled = plan.replace("  working:", "  workin:")
    with pytest.raises(WorkflowDefinitionError) as error:
        engine.migrate_cases(read_migration_text(misspelled, "plan.yaml"))
    assert shown.strip() in str(error.value).splitlines()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plan.yaml").write_text(plan, encoding="utf-8")
    namespace: dict[str, object] = {"engine": engine}
    for language, _, body in blocks:
        if language == "python":
            exec(compile(body, "docs/migrations.md", "exec"), namespace)
    assert {case.version for case in engine.find("repair", state="diagnosing")} == {3}


# -- a crash in the middle ------------------------------------------------------------------------

WORKER = ROOT / "tests" / "migration_crash_worker.py"


def _read_lines(stream: IO[bytes], count: int, *, seconds: float) -> None:
    """Block on the worker's output until it has written ``count`` journal lines (one per
    committed case) or ended; fails after ``seconds`` without them. Never sleeps."""
    seen = 0
    deadline = time.monotonic() + seconds
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        while seen < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                pytest.fail(f"the worker wrote {seen} journal lines in {seconds}s, wanted {count}")
            chunk = os.read(stream.fileno(), 65536)
            if not chunk:
                return
            seen += chunk.count(b"\n")


def test_a_sigkill_in_the_middle_leaves_every_case_on_one_version(tmp_path: Path) -> None:
    path = tmp_path / "cases.db"
    url = f"sqlite:///{path}"
    clock = ManualClock("2026-03-02T09:00:00+00:00")
    with Engine([V2], url, clock) as first:
        for number in range(300):
            case = first.start("repair", {"customer": f"c{number}", "legacy_code": "x"})
            if number % 3:
                first.fire(case.id, "start_work")
        before = {case.id: case for case in first.find("repair")}
    worker = subprocess.Popen(
        [sys.executable, str(WORKER), str(path), str(FIXTURES), str(PLAN)],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        stdout=subprocess.PIPE,
    )
    assert worker.stdout is not None
    with worker.stdout:
        _read_lines(worker.stdout, 40, seconds=120)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    with Engine([V2, V3], url, clock) as after:
        versions = {2: 0, 3: 0}
        for case in after.find("repair"):
            old = before[case.id]
            versions[case.version] += 1
            history = after.history(case.id)
            if case.version == 2:
                assert case == old
                assert [e.kind for e in history].count("migrated") == 0
            else:
                assert case.revision == old.revision + 1
                assert history[-1].kind == "migrated" and history[-1].seq == case.revision
                assert case.data["technician"] == "counter"
        assert versions[3] >= 40 and versions[2] > 0, versions
        rest = after.migrate_cases(PLAN)
        assert len(rest.moved) == versions[2] and rest.unmovable == []
        assert {case.version for case in after.find("repair")} == {3}


@pytest.mark.parametrize(
    ("clocks", "customer", "event"),
    [
        # keep: the cycle, the time used and the target as they were: v2's 8 hours (at the
        # clock's index v3 has another target, 24 hours, which the clock does not take)
        (
            "clocks: {resolution: keep}",
            "Bo",
            {"cycle": 1, "target": "8h", "used": "2h", "mode": "keep"},
        ),
        # retarget: the time used, the target v3 chooses (parts needed: 24 hours, else 8)
        (
            "clocks: {resolution: retarget}",
            "Cy",
            {"cycle": 1, "target": "1d", "used": "2h", "mode": "retarget"},
        ),
        (
            "clocks: {resolution: retarget}",
            "Bo",
            {"cycle": 1, "target": "8h", "used": "2h", "mode": "retarget"},
        ),
        # restart: a new cycle with nothing used; a metric not named takes default_clock
        (
            "default_clock: restart",
            "Bo",
            {"cycle": 2, "target": "8h", "used": "0s", "mode": "restart"},
        ),
    ],
)
def test_each_moved_clock_is_recorded_with_how_it_moved(
    engine: Engine, clock: ManualClock, clocks: str, customer: str, event: dict[str, object]
) -> None:
    plan = PLAN.read_text().split("clocks:")[0] + clocks
    engine.migrate_cases(read_migration_text(plan, "plan.yaml"))
    [recorded] = engine.history(by_customer(engine)[customer])[-1].details["sla"]
    assert recorded == {
        "metric": "resolution",
        "event": "migrated",
        "at": clock.now().isoformat(),
        "calendar": "24x7",
        **event,
    }


def test_a_kept_clock_keeps_naming_its_own_target_after_the_move(
    engine: Engine, clock: ManualClock
) -> None:
    """v3 chooses a 24-hour target for a case that needs parts, where v2 had 8 hours: a clock
    moved with ``keep`` still runs on v2's 8 hours and every reader names 8 hours; it is
    re-targeted only when v3's choice changes after the move."""
    ids = by_customer(engine)
    engine.migrate_cases(PLAN)
    [cy] = engine.sla(ids["Cy"])
    assert (cy.target, cy.budget, cy.elapsed) == ("8h", timedelta(hours=8), timedelta(hours=2))
    policy = engine.registry.get("repair", 3).sla
    assert policy is not None
    assert sla_words(policy, engine.get(ids["Cy"]).sla)["resolution"]["target"] == "8h"
    clock.advance("1h")
    engine.fire(ids["Bo"], "order_parts")  # now parts are needed: v3 chooses 24 hours
    [bo] = engine.sla(ids["Bo"])
    assert (bo.target, bo.budget, bo.elapsed) == ("1d", timedelta(hours=24), timedelta(hours=3))
    events = [e["event"] for e in engine.history(ids["Bo"])[-1].details["sla"]]
    assert events == ["retargeted"]


DESK_V1 = """\
workflow: desk
version: 1
title: A request with three clocks
data:
  customer: {type: string, required: true}
  urgent: {type: boolean, default: false}
states:
  open: {initial: true}
  answered: {}
  done: {final: true}
transitions:
  - {trigger: answer, from: open, to: answered}
  - {trigger: finish, from: [open, answered], to: done}
sla:
  calendar: 24x7
  metrics:
    triage:
      start: {enter: open}
      stop: {enter: answered}
      targets: [{within: 4h}]
    first_response:
      start: {enter: open}
      stop: {enter: answered}
      targets: [{within: 1h}]
    resolution:
      start: {enter: open}
      stop: {enter: done}
      targets: [{when: urgent, within: 2h}, {within: 8h}]
"""

# v2 drops the triage clock, keeps first_response, and has a single resolution target.
DESK_V2 = (
    DESK_V1.replace("version: 1", "version: 2")
    .replace(
        "    triage:\n      start: {enter: open}\n      stop: {enter: answered}\n"
        "      targets: [{within: 4h}]\n",
        "",
    )
    .replace("[{when: urgent, within: 2h}, {within: 8h}]", "[{within: 6h}]")
)

DESK_PLAN = "migration: desk\nfrom: 1\nto: 2\nclocks: {resolution: keep}\n"


@pytest.mark.parametrize(
    ("mode", "cycle", "used", "moved", "deadline"),
    [
        # keep, on a target v2 no longer has (the second of two, where v2 has one): the time
        # used, with v2's target
        ("keep", 1, "2h", "retarget", "2026-03-02T15:00:00+00:00"),
        # restart stays a restart: a new cycle now on v2's target
        ("restart", 2, "0s", "restart", "2026-03-02T17:00:00+00:00"),
    ],
)
def test_a_clock_of_a_dropped_metric_goes_a_finished_one_stays_and_a_lost_target_is_chosen_again(
    clock: ManualClock, mode: str, cycle: int, used: str, moved: str, deadline: str
) -> None:
    """Migrating clocks in their order: a metric v2 lacks (listed first) is dropped and the
    next ones still move; a clock that finished is carried over as it was; a clock on a target
    v2 no longer has cannot be kept as it was."""
    v1 = load_workflow_text(DESK_V1, "desk_v1.yaml")
    store = open_store("memory://")
    first = Engine([v1], store, clock)
    case = first.start("desk", {"customer": "Ann"})
    clock.advance("30m")
    first.fire(case.id, "answer")
    clock.advance("1h30m")
    first.plugins.close()
    with Engine([v1, load_workflow_text(DESK_V2, "desk_v2.yaml")], store, clock) as both:
        plan = DESK_PLAN.replace("resolution: keep", f"resolution: {mode}")
        report = both.migrate_cases(read_migration_text(plan, "plan.yaml"))
        assert [entry.case_id for entry in report.moved] == [case.id]
        assert both.get(case.id).version == 2
        assert both.history(case.id)[-1].details["sla"] == [
            {
                "metric": "resolution",
                "event": "migrated",
                "at": "2026-03-02T11:00:00+00:00",
                "cycle": cycle,
                "target": "6h",
                "calendar": "24x7",
                "used": used,
                "mode": moved,
            }
        ]
        clocks = {found.metric: found for found in both.sla(case.id)}
        assert sorted(clocks) == ["first_response", "resolution"]
        assert (clocks["first_response"].status, clocks["first_response"].elapsed) == (
            "met",
            timedelta(minutes=30),
        )
        assert (clocks["resolution"].status, clocks["resolution"].deadline) == (
            "running",
            at(deadline),
        )
        assert [(t.trigger, t.due_at.isoformat()) for t in both.timers(case.id)] == [
            ("sla:resolution:breach", deadline)
        ]


DESK_V3 = DESK_V2.replace("version: 2", "version: 3").replace(
    "[{within: 6h}]", "[{when: urgent, within: 2h, name: urgent}, {within: 1d, name: standard}]"
)


def moved_an_hour_in(clock: ManualClock, v2_text: str, v3_text: str) -> tuple[Engine, Case]:
    """A desk case started on v2 and moved to v3 (keeping its clocks) an hour later; returns
    the engine of both versions and the case."""
    v2 = load_workflow_text(v2_text, "desk_v2.yaml")
    store = open_store("memory://")
    first = Engine([v2], store, clock)
    case = first.start("desk", {"customer": "Ann"})
    first.plugins.close()
    clock.advance("1h")
    both = Engine([v2, load_workflow_text(v3_text, "desk_v3.yaml")], store, clock)
    plan = DESK_PLAN.replace("from: 1\nto: 2", "from: 2\nto: 3")
    both.migrate_cases(read_migration_text(plan, "plan.yaml"))
    return both, case


def test_a_clock_carrying_its_old_target_names_the_new_one_once_re_targeted(
    clock: ManualClock,
) -> None:
    """Kept on v2's 6 hours where v3 would choose its standard day, the clock names 6 hours;
    when the case becomes urgent it is re-targeted and from then on names v3's target."""
    both, case = moved_an_hour_in(clock, DESK_V2, DESK_V3)
    with both:
        [kept] = [s for s in both.sla(case.id) if s.metric == "resolution"]
        assert (kept.target, kept.budget) == ("6h", timedelta(hours=6))
        clock.advance("1h")
        both.fire(case.id, "answer", {"urgent": True})
        assert [
            e for e in both.history(case.id)[-1].details["sla"] if e["metric"] == "resolution"
        ] == [
            {
                "metric": "resolution",
                "event": "retargeted",
                "at": "2026-03-02T11:00:00+00:00",
                "cycle": 1,
                "target": "urgent",
                "calendar": "24x7",
                "used": "2h",
                "previous": 1,
            }
        ]
        [moved] = [s for s in both.sla(case.id) if s.metric == "resolution"]
        assert (moved.target, moved.budget, moved.deadline) == (
            "urgent",
            timedelta(hours=2),
            at("2026-03-02T11:00:00+00:00"),
        )


@pytest.mark.parametrize(
    ("target", "next_version", "named", "carried"),
    [
        # v3 chooses its standard day where v2 had "six hours": the clock carries its target
        ("{within: 6h, name: six hours}", DESK_V3, "six hours", True),
        # v3 has the very same target: the clock takes it and carries nothing of its own
        ("{within: 6h}", DESK_V2.replace("version: 2", "version: 3"), "6h", False),
    ],
)
def test_a_kept_clock_carries_its_target_only_where_the_new_version_chooses_another(
    clock: ManualClock, target: str, next_version: str, named: str, carried: bool
) -> None:
    both, case = moved_an_hour_in(clock, DESK_V2.replace("{within: 6h}", target), next_version)
    with both:
        events = both.history(case.id)[-1].details["sla"]
        [event] = [e for e in events if e["metric"] == "resolution"]
        assert (event["target"], event["mode"]) == (named, "keep")
        [kept] = [s for s in both.sla(case.id) if s.metric == "resolution"]
        assert (kept.target, kept.budget, kept.elapsed) == (
            named,
            timedelta(hours=6),
            timedelta(hours=1),
        )
        stored = both.get(case.id).sla["metrics"]["resolution"]
        assert ("label" in stored, "within" in stored) == (carried, carried)
        if carried:
            assert (stored["label"], stored["within"]) == ("six hours", "6h")
