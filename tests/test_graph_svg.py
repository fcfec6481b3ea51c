"""Workflows drawn as SVG on the server by Graphviz's ``dot`` (what the console's workflow
pages show): every shipped workflow draws with its states as text, author-written text cannot
become markup, and a missing, failing or slow ``dot`` is a DiagramUnavailable naming why."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from support.workflows import MINIMAL, WORKFLOWS
from svcflow import load_workflow_file, load_workflow_text
from svcflow.errors import DiagramUnavailable
from svcflow.graph import dot_source, svg


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_workflow_draws_its_states(path: Path, graphviz_dot: str) -> None:
    spec = load_workflow_file(path).spec
    picture = svg(spec)
    assert picture.startswith("<svg") and picture.rstrip().endswith("</svg>")
    drawn = set(re.findall(r"<text[^>]*>([^<]+)</text>", picture))
    assert set(spec.states) <= drawn
    finals = [name for name, state in spec.states.items() if state.final]
    for name in finals:
        assert re.search(rf"\b{name} \[[^\]]*peripheries=2", dot_source(spec))


def test_notes_list_what_fires_without_an_edge(graphviz_dot: str) -> None:
    complaint = svg(load_workflow_file(WORKFLOWS / "complaint.yaml").spec)
    assert "in every state (internal):" in complaint
    review = svg(load_workflow_file(WORKFLOWS / "care_vip_review.yaml").spec)
    assert "schedule quarterly_review: quarterly first_working_day &#45;&gt; review_time" in review


def test_author_text_stays_text(graphviz_dot: str) -> None:
    text = MINIMAL.replace("title: Ticket", 'title: "<script>alert(1)</script> & Co"').replace(
        'when: answer != null && answer != ""', 'when: answer != "<b>" && answer != ""'
    )
    picture = svg(load_workflow_text(text, "ticket.yaml").spec)
    assert "<script" not in picture and "<b>" not in picture
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in picture
    assert "answer != &quot;&lt;b&gt;&quot;" in picture


def fake_dot(folder: Path, body: str) -> None:
    program = folder / "dot"
    program.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    program.chmod(0o755)


def test_missing_failing_and_slow_dot_say_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = load_workflow_text(MINIMAL, "ticket.yaml").spec
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DiagramUnavailable) as missing:
        svg(spec)
    assert str(missing.value) == (
        "cannot draw workflow 'ticket' v1 as SVG: Graphviz's `dot` program is not installed "
        "(Debian and Ubuntu: `apt-get install graphviz`; macOS: `brew install graphviz`; "
        "others: https://graphviz.org/download/)"
    )
    fake_dot(tmp_path, "echo 'Error: <stdin>: syntax error in line 3' >&2; exit 1")
    with pytest.raises(DiagramUnavailable) as failing:
        svg(spec)
    assert str(failing.value) == (
        "cannot draw workflow 'ticket' v1 as SVG: Graphviz's `dot` failed: "
        "Error: <stdin>: syntax error in line 3"
    )
    fake_dot(tmp_path, "exec /bin/sleep 30")
    with pytest.raises(DiagramUnavailable) as slow:
        svg(spec, timeout=0.3)
    assert str(slow.value) == (
        "cannot draw workflow 'ticket' v1 as SVG: Graphviz's `dot` took longer than 0.3 s"
    )
