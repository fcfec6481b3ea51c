"""Every shipped workflow loads, draws, and passes every scenario written for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT, WORKFLOWS
from svcflow import load_workflow_file
from svcflow.graph import mermaid
from svcflow.simulate import load_scenario, run_scenario

SCENARIOS = sorted((ROOT / "tests" / "scenarios").glob("*.yaml"))
WORKFLOW_FILES = sorted(WORKFLOWS.glob("*.yaml"))


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_shipped_workflow_loads_and_draws(path: Path) -> None:
    loaded = load_workflow_file(path)
    drawing = mermaid(loaded.spec)
    for name in loaded.spec.states:
        assert f'state "{name}" as {name}' in drawing


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_scenario_passes(path: Path, store: str, tmp_path: Path) -> None:
    workflow_id = path.name.split("_")[0]
    workflow = load_workflow_file(WORKFLOWS / f"{workflow_id}.yaml")
    loaded = load_scenario(path, workflow)
    url = "memory://" if store == "memory" else f"sqlite:///{tmp_path / 'sim.db'}"
    result = run_scenario(workflow, loaded, url)
    assert result.failures == []
    assert len(result.checks) >= 3


def test_every_shipped_workflow_has_a_scenario() -> None:
    covered = {path.name.split("_")[0] for path in SCENARIOS}
    assert {path.stem for path in WORKFLOW_FILES} <= covered
