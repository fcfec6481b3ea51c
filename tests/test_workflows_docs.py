"""docs/workflows.md describes every shipped workflow: its section shows the diagram that
``svcflow graph`` draws today and names every scenario written for it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from support.workflows import ROOT, WORKFLOWS
from svcflow import load_workflow_file
from svcflow.cli import main
from svcflow.graph import mermaid

DOC = ROOT / "docs" / "workflows.md"
SCENARIOS = ROOT / "tests" / "scenarios"
WORKFLOW_FILES = sorted(WORKFLOWS.glob("*.yaml"))


def section(workflow: str) -> str:
    found = re.search(
        rf"<!-- BEGIN {workflow} -->\n(.*?)<!-- END {workflow} -->", DOC.read_text(), re.S
    )
    assert found, f"docs/workflows.md has no section for '{workflow}' between BEGIN/END markers"
    return found.group(1)


def scenarios_of(workflow: str) -> list[Path]:
    return sorted(
        path
        for path in SCENARIOS.glob("*.yaml")
        if yaml.safe_load(path.read_text(encoding="utf-8")).get("workflow") == workflow
    )


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.stem)
def test_section_shows_the_current_diagram(path: Path) -> None:
    spec = load_workflow_file(path).spec
    text = section(spec.workflow)
    blocks = re.findall(r"```mermaid\n(.*?)```", text, re.S)
    assert blocks == [mermaid(spec)], (
        f"the diagram in docs/workflows.md for '{spec.workflow}' is out of date: paste the "
        f"output of `svcflow graph {path.relative_to(ROOT)}`"
    )


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.stem)
def test_section_names_every_scenario(path: Path) -> None:
    workflow = load_workflow_file(path).spec.workflow
    text = section(workflow)
    scenarios = scenarios_of(workflow)
    assert len(scenarios) >= 3
    missing = [p.name for p in scenarios if p.name not in text]
    assert missing == []


@pytest.mark.parametrize("scenario", scenarios_of("complaint"), ids=lambda p: p.stem)
def test_complaint_scenarios_pass_through_the_cli(
    scenario: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["simulate", str(WORKFLOWS / "complaint.yaml"), "--scenario", str(scenario)])
    out = capsys.readouterr().out
    assert code == 0, out
    verdict = [line for line in out.splitlines() if line.startswith("-- case ")]
    assert len(verdict) == 1 and verdict[0].endswith("expectations passed")
    assert "FAIL" not in out
