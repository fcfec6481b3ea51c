"""What ships inside the package: ``svcflow init`` writes a working set, ``svcflow demo`` runs
from any directory, and a built wheel carries the workflows, templates, calendar and scenario."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from support.sources import copy_build_sources
from support.workflows import ROOT
from svcflow.cli import main
from svcflow.shipped import shipped_scenario, shipped_workflows


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_init_writes_a_set_that_validates_and_simulates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "service"
    code, out, err = run(capsys, "init", str(target))
    workflows, scenario = target / "workflows", target / "scenarios" / "complaint_happy_path.yaml"
    files = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    assert (code, err) == (0, "")
    assert out == (
        f"wrote {len(files)} files to {target}/: workflows, rules, templates, calendars, a "
        "scenario\n"
        "next:\n"
        f"  svcflow validate {workflows}\n"
        f"  svcflow simulate {workflows / 'complaint.yaml'} --scenario {scenario}\n"
        f"  svcflow demo --workflows {workflows}\n"
    )
    assert {
        "workflows/complaint.yaml",
        "workflows/calendars/office.yaml",
        "workflows/rules/routing.yaml",
        "workflows/templates/en/complaint_received.j2",
        "scenarios/complaint_happy_path.yaml",
    } <= set(files)
    assert run(capsys, "validate", str(workflows))[0] == 0
    code, out, err = run(
        capsys, "simulate", str(workflows / "complaint.yaml"), "--scenario", str(scenario)
    )
    assert (code, err) == (0, "")
    assert "expectations passed" in out


def test_init_refuses_a_directory_with_files_and_leaves_them_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "complaint.yaml").write_text("mine\n", encoding="utf-8")
    code, out, err = run(capsys, "init", str(tmp_path))
    assert (code, out) == (1, "")
    assert err == (
        f"error: {tmp_path} already has files; svcflow init writes only into a new or empty "
        "directory so that nothing is overwritten\n"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["complaint.yaml"]
    assert (tmp_path / "complaint.yaml").read_text(encoding="utf-8") == "mine\n"


def test_demo_runs_from_a_directory_without_workflows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "demo", "--contacts", "20", "--days", "3")
    assert (code, err) == (0, "")
    assert out.startswith(
        "svcflow demo: 20 contacts on every channel over 3 days from Sun 01 Mar 2026 16:00 UTC, "
        "plus a crisis on Wednesday and the complaints that follow it (seed 7)\n"
        f"  workflows: {shipped_workflows()}\n"
    )
    assert "3 days of contacts, then up to 8 more days" in out
    assert "cases started: " in out and " = 20 contacts + 1 crisis + 160 complaints" in out
    assert (tmp_path / "svcflow-demo.db").is_file()


def test_the_shipped_files_are_the_repository_files_not_copies() -> None:
    assert shipped_workflows().resolve() == ROOT / "workflows"
    assert shipped_scenario().resolve() == ROOT / "tests" / "scenarios" / shipped_scenario().name


@pytest.mark.slow
def test_a_built_wheel_carries_the_shipped_files(tmp_path: Path) -> None:
    """Built from a copy of the sources (links kept as links), so the checkout gets no
    ``build/`` folder whose stale files a later wheel could pick up."""
    source = copy_build_sources(tmp_path / "source")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(source)],
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("svcflow-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "svcflow/workflows/complaint.yaml",
        "svcflow/workflows/calendars/office.yaml",
        "svcflow/workflows/rules/category.yaml",
        "svcflow/workflows/templates/en/complaint_received.j2",
        "svcflow/workflows/templates/zh-CN/complaint_received.j2",
        "svcflow/starter/complaint_happy_path.yaml",
        "svcflow/schema/workflow.schema.json",
        "svcflow/schema/calendar.schema.json",
        "svcflow/schema/rules.schema.json",
    }
    assert expected <= names
    shipped = {p.relative_to(ROOT).as_posix() for p in (ROOT / "workflows").rglob("*.*")}
    assert {f"svcflow/{name}" for name in shipped} <= names
