"""``svcflow demo``: a seeded week of traffic through the shipped workflows, reproducible, ending
with the KPI report and the files it wrote."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from support.workflows import WORKFLOWS
from svcflow import Engine
from svcflow.cli import main
from svcflow.demo.traffic import CATEGORY_MIX, CHANNEL_MIX, CRISIS, WEEK_START, week_of_traffic

SMALL = "160"  # contacts: enough for every workflow and path to appear, quick to run


def test_traffic_follows_the_brief_mixes_and_brings_one_crisis_mid_week() -> None:
    arrivals = week_of_traffic(random.Random(3), 20_000)
    complaints = [a for a in arrivals if a.workflow != "crisis"]
    categories = Counter(a.data["category"] for a in complaints if a.at < CRISIS["at"])
    total = sum(categories.values())
    for category, weight in CATEGORY_MIX.items():
        assert categories[category] / total == pytest.approx(weight / 100, abs=0.015)
    channels = Counter(a.data["channel"] for a in complaints)
    assert set(channels) == set(CHANNEL_MIX)
    assert {a.workflow for a in arrivals if a.data["channel"] in ("chat", "app")} == {
        "im_first_response"
    }
    crises = [a for a in arrivals if a.workflow == "crisis"]
    assert len(crises) == 1 and crises[0].at.strftime("%A") == "Wednesday"
    assert all(WEEK_START <= a.at < WEEK_START + timedelta(days=7) for a in arrivals)
    assert [a.at for a in arrivals] == sorted(a.at for a in arrivals)
    assert week_of_traffic(random.Random(3), 50) == week_of_traffic(random.Random(3), 50)


def run_demo_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, seed: str = "7"
) -> tuple[str, Path]:
    store = tmp_path / f"{name}.db"
    code = main(
        [
            "demo",
            "--workflows",
            str(WORKFLOWS),
            "--store",
            f"sqlite:///{store}",
            "--contacts",
            SMALL,
            "--seed",
            seed,
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    return out, store


def test_demo_runs_the_week_reports_and_names_its_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, store = run_demo_cli(tmp_path, capsys, "week")
    assert "svcflow demo: 160 contacts on every channel over 7 days from Sun 01 Mar 2026" in out
    assert "100%" in out  # the progress bar reached the end
    base = store.with_suffix("")
    files = {
        "store": store,
        "report": base.with_name("week-report.html"),
        "report data": base.with_name("week-report.json"),
        "notifications": base.with_name("week-notifications.log"),
    }
    for label, path in files.items():
        assert path.is_file(), label
        assert f"  {label}" in out and str(path.resolve()) in out
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{store}", load_plugins=False) as engine:
        cases = engine.find()
        started = Counter(case.workflow for case in cases)
        assert set(started) == {
            "complaint",
            "crisis",
            "escalation",
            "im_first_response",
            "care_revisit",
            "care_retention",
            "care_greetings",
            "care_vip_review",
        }
        assert started["crisis"] == 1
        assert engine.outbox(status="pending") == []
        delivered = engine.outbox(status="delivered")
        assert len(delivered) > len(cases)
    log = files["notifications"].read_text(encoding="utf-8")
    assert log.count("Key:     ") == len(delivered)
    assert "(team_lead)" in log and "(customer)" in log
    figures = json.loads(files["report data"].read_text(encoding="utf-8"))
    assert figures["surveys"]["overall"]["nps"]["answered"] > 0
    assert figures["care"]["opened"] == started["care_retention"]
    assert figures["care"]["callbacks_in_time"]["total"] > 0
    html = files["report"].read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html>") and "<svg" in html


def test_the_same_seed_gives_the_same_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_demo_cli(tmp_path, capsys, "first")
    run_demo_cli(tmp_path, capsys, "second")
    run_demo_cli(tmp_path, capsys, "other", seed="8")
    first = (tmp_path / "first-report.json").read_text(encoding="utf-8")
    assert (tmp_path / "second-report.json").read_text(encoding="utf-8") == first
    assert (tmp_path / "second-report.html").read_text(encoding="utf-8") == (
        tmp_path / "first-report.html"
    ).read_text(encoding="utf-8")
    assert (tmp_path / "other-report.json").read_text(encoding="utf-8") != first
