"""Every shipped workflow loads, draws, and passes every scenario written for it."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
import yaml

from support.workflows import ROOT, WORKFLOWS
from svcflow import load_workflow_file
from svcflow.definitions import calendars_beside
from svcflow.graph import mermaid
from svcflow.simulate import load_scenario, run_scenario

SCENARIOS = sorted((ROOT / "tests" / "scenarios").glob("*.yaml"))
WORKFLOW_FILES = sorted(WORKFLOWS.glob("*.yaml"))


def scenario_workflow_id(scenario: Path) -> str:
    """The id in the scenario's ``workflow:`` key (file names may hold ``_`` themselves)."""
    workflow_id = yaml.safe_load(scenario.read_text(encoding="utf-8")).get("workflow")
    assert workflow_id, f"{scenario.name} does not say its workflow (a 'workflow:' key)"
    return str(workflow_id)


@cache
def shipped_workflow_file(workflow_id: str) -> Path:
    """The file in ``workflows/`` that defines the workflow with this id."""
    found = [f for f in WORKFLOW_FILES if load_workflow_file(f).spec.workflow == workflow_id]
    assert len(found) == 1, f"{len(found)} files in workflows/ define '{workflow_id}'"
    return found[0]


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_shipped_workflow_loads_and_draws(path: Path) -> None:
    loaded = load_workflow_file(path)
    drawing = mermaid(loaded.spec)
    for name in loaded.spec.states:
        assert f'state "{name}" as {name}' in drawing


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_scenario_passes(path: Path, store: str, tmp_path: Path) -> None:
    file = shipped_workflow_file(scenario_workflow_id(path))
    workflow = load_workflow_file(file)
    loaded = load_scenario(path, workflow)
    url = "memory://" if store == "memory" else f"sqlite:///{tmp_path / 'sim.db'}"
    result = run_scenario(workflow, loaded, url, calendars_beside(file))
    assert result.failures == []
    assert len(result.checks) >= 3


def test_every_shipped_workflow_has_a_scenario() -> None:
    covered = {scenario_workflow_id(path) for path in SCENARIOS}
    assert {load_workflow_file(path).spec.workflow for path in WORKFLOW_FILES} <= covered
