"""The docs are executable: every example in them runs here, and every error they show is the
exact text svcflow prints."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from support.workflows import ROOT, WORKFLOWS
from svcflow import WorkflowDefinitionError, load_workflow_text
from svcflow.simulate import load_scenario, run_scenario
from svcflow.spec.yamlsource import parse_yaml

DOCS = ROOT / "docs"
FENCE = re.compile(r"^```(\w+)(?: (\w+))?\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def blocks(page: str) -> list[tuple[str, str, str]]:
    text = (DOCS / page).read_text(encoding="utf-8")
    return [(m.group(1), m.group(2) or "", m.group(3)) for m in FENCE.finditer(text)]


def test_reference_workflow_examples_load() -> None:
    examples = [
        body
        for lang, kind, body in blocks("workflow-reference.md")
        if (lang, kind) == ("yaml", "workflow")
    ]
    assert examples
    for body in examples:
        load_workflow_text(body, "example.yaml")


def test_reference_fragments_are_valid_yaml() -> None:
    fragments = [
        body
        for lang, kind, body in blocks("workflow-reference.md")
        if (lang, kind) == ("yaml", "fragment")
    ]
    assert len(fragments) >= 2
    for body in fragments:
        assert parse_yaml(body, "fragment.yaml").problems == []


def test_reference_error_example_shows_the_exact_message() -> None:
    found = blocks("workflow-reference.md")
    pairs = [
        (body, found[index + 1][2])
        for index, (lang, kind, body) in enumerate(found)
        if (lang, kind) == ("yaml", "invalid")
    ]
    assert pairs
    for body, expected in pairs:
        with pytest.raises(WorkflowDefinitionError) as caught:
            load_workflow_text(body, "example.yaml")
        assert str(caught.value) == expected.rstrip("\n")


def test_rules_page_examples_load_and_show_the_exact_messages() -> None:
    from svcflow.definitions.rulesfile import load_rules_text

    found = blocks("rules.md")
    assert len(found) >= 8
    for index, (lang, kind, body) in enumerate(found):
        if (lang, kind) == ("yaml", "rules"):
            assert load_rules_text(body, "rules.yaml").warnings == ()
        elif (lang, kind) == ("yaml", "workflow"):
            load_workflow_text(body, "example.yaml")
        elif (lang, kind) == ("yaml", "invalid"):
            with pytest.raises(WorkflowDefinitionError) as caught:
                load_rules_text(body, "rules.yaml")
            assert str(caught.value) == found[index + 1][2].rstrip("\n")
        elif (lang, kind) == ("yaml", "warning"):
            shown = "\n".join(map(str, load_rules_text(body, "rules.yaml").warnings))
            assert shown == found[index + 1][2].rstrip("\n")


def test_reference_scenario_passes(tmp_path: Path) -> None:
    found = blocks("workflow-reference.md")
    workflow = load_workflow_text(
        next(body for lang, kind, body in found if kind == "workflow"), "refund.yaml"
    )
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(next(body for lang, kind, body in found if kind == "scenario"))
    result = run_scenario(workflow, load_scenario(scenario, workflow))
    assert result.failures == []
    assert result.checks


def test_embedding_guide_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(WORKFLOWS, tmp_path / "workflows")
    monkeypatch.chdir(tmp_path)
    code = [body for lang, _, body in blocks("embedding.md") if lang == "python"]
    assert len(code) >= 4
    namespace: dict[str, object] = {}
    for body in code:
        exec(compile(body, "docs/embedding.md", "exec"), namespace)
    assert (tmp_path / "cases.db").exists()


def test_customers_guide_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(WORKFLOWS, tmp_path / "workflows")
    monkeypatch.chdir(tmp_path)
    code = [body for lang, _, body in blocks("customers.md") if lang == "python"]
    assert len(code) == 3
    namespace: dict[str, object] = {}
    for body in code:
        exec(compile(body, "docs/customers.md", "exec"), namespace)


def test_readme_example_runs_from_any_directory_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A newcomer pastes it into a file in an empty folder and runs it, then runs it again:
    the shipped workflows are found wherever it runs, and the store it keeps does not make
    the second run fail."""
    monkeypatch.chdir(tmp_path)
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    [body] = [m.group(3) for m in FENCE.finditer(text) if m.group(1) == "python"]
    assert len(body.strip().splitlines()) <= 20
    exec(compile(body, "README.md", "exec"), {})
    first = capsys.readouterr().out
    exec(compile(body, "README.md", "exec"), {})
    second = capsys.readouterr().out
    assert first.startswith("trigger 'resolve' is not allowed for case ")
    assert [line.split()[2:] for line in first.splitlines()[1:]] == [
        line.split()[2:] for line in second.splitlines()[1:]
    ]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cases.db"]
