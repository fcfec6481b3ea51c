"""Cost limits: an expensive CEL expression is refused at load with its position, a cheap
one that meets large lists at run time is refused before it runs, and the load-time type probe
never hangs; every limit is a setting with a default."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from svcflow import ExpressionError, ManualClock, WorkflowDefinitionError
from svcflow.definitions.workflow import load_workflow_text
from svcflow.messaging.template_limits import TemplateLimits
from svcflow.rules.cost import CelLimits, cel_limits
from svcflow.spec.yamlsource import DefinitionLimits, definition_limits
from svcflow.testing import EngineFactory

NESTED = "[0,1,2,3,4,5,6,7,8,9].exists(a{n}, "


def _workflow(when: str) -> str:
    return f"""\
workflow: tagged
version: 1
title: Tagged
data:
  tags: {{type: list, default: []}}
states:
  new: {{initial: true}}
  done: {{final: true}}
transitions:
  - trigger: finish
    from: new
    to: done
    when: '{when}'
"""


def _nested(depth: int) -> str:
    return "".join(NESTED.format(n=n) for n in range(depth)) + "a0 == 1" + ")" * depth


def test_twelve_nested_comprehensions_are_refused_at_load_with_their_position() -> None:
    when = _nested(12)
    assert len(when) > 400
    started = time.process_time()
    with pytest.raises(WorkflowDefinitionError) as caught:
        load_workflow_text(_workflow(when), "tagged.yaml")
    assert time.process_time() - started < 5  # the probe never ran it
    [problem] = caught.value.problems
    assert str(problem) == (
        "tagged.yaml:13:398: transitions[0].when: expression "  # the innermost exists
        "`[0,1,2,3,4,5,6,7,8,9].exists(a0, [0,1,2,3,4,5,6,7,8,9].exists(a1, [0,1,2,3,4,...` is "
        "too expensive: about 9,999,999,999,994 steps, above the limit of 1,000,000; nested "
        "comprehensions multiply (each iterates its list, 100 items assumed for a list not "
        "written out): un-nest them or use a decision table"
    )


def test_the_limit_is_a_setting() -> None:
    load_workflow_text(_workflow(_nested(3)), "tagged.yaml")
    with cel_limits(CelLimits(max_cost=1_000)), pytest.raises(WorkflowDefinitionError) as caught:
        load_workflow_text(_workflow(_nested(3)), "tagged.yaml")
    assert "about 9,994 steps, above the limit of 1,000;" in str(caught.value)


def test_nesting_over_a_case_list_is_costed_with_the_assumed_size_at_load() -> None:
    load_workflow_text(_workflow("tags.exists(t, tags.exists(u, t == u))"), "tagged.yaml")
    three = "tags.exists(t, tags.exists(u, tags.exists(v, t == u && u == v)))"
    with pytest.raises(WorkflowDefinitionError) as caught:
        load_workflow_text(_workflow(three), "tagged.yaml")
    assert "about 13,070,704 steps, above the limit of 1,000,000" in str(caught.value)


def test_a_comprehension_over_a_huge_case_list_is_refused_before_it_runs(
    svcflow_engine: EngineFactory, svcflow_clock: ManualClock
) -> None:
    engine = svcflow_engine(_workflow("tags.exists(t, tags.exists(u, t == u + 1))"))
    small = engine.start("tagged", {"tags": [1, 2]})
    assert engine.fire(small.id, "finish").state == "done"
    huge = engine.start("tagged", {"tags": list(range(5000))})
    started = time.process_time()
    with pytest.raises(ExpressionError) as caught:
        engine.fire(huge.id, "finish")
    assert time.process_time() - started < 1
    assert str(caught.value) == (
        "<test>:13:11: expression `tags.exists(t, tags.exists(u, t == u + 1))` failed: it would "
        "take about 225,035,004 steps with the lists it iterates now (tags has 5000 items), "
        "above the run-time limit of 10,000,000; nothing was evaluated"
    )
    assert engine.get(huge.id).state == "new"
    assert [entry.kind for entry in engine.history(huge.id)] == ["started"]


TEMPLATE_CASES = [
    (
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "range(100000) has 100,000 items, above max_range (10,000)",
    ),
    (
        "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
        "the render ran past max_render_seconds",
    ),
    ("{{ lipsum(10**6) }}", "lipsum(1000000) is above max_lipsum (20) paragraphs"),
    (
        "{{ ('x' * 10**9) | length }}",
        "a '*' would make 1,000,000,000 items, above max_output (100,000)",
    ),
    (
        "{{ 2 ** (10**9) }}",
        "a '**' would make a number of about 1,000,000,000 bits, above max_number_bits (4,096)",
    ),
    (
        "{% for i in range(5000) %}{{ 'x' * 50 }}{% endfor %}",
        "the output is over max_output (100,000 characters)",
    ),
]


@pytest.mark.parametrize(("body", "reason"), TEMPLATE_CASES)
def test_a_template_over_a_limit_gives_a_dead_row_saying_which(
    svcflow_engine: EngineFactory, tmp_path: Path, body: str, reason: str
) -> None:
    folder = tmp_path / "templates" / "en"
    folder.mkdir(parents=True)
    (folder / "done.j2").write_text(body)
    limits = TemplateLimits(max_render_seconds=0.2)
    engine = svcflow_engine(
        NOTIFYING,
        templates=tmp_path / "templates",
        directory={"customer": "a@x.org"},
        template_limits=limits,
    )
    case = engine.start("tagged", {})
    assert engine.fire(case.id, "finish").state == "done"
    [row] = engine.outbox(case.id)
    assert (row.status, row.last_error) == (
        "dead",
        f"template failed: en/done.j2: over a template limit: {reason}",
    )


def test_a_template_within_the_limits_renders(
    svcflow_engine: EngineFactory, tmp_path: Path
) -> None:
    folder = tmp_path / "templates" / "en"
    folder.mkdir(parents=True)
    (folder / "done.j2").write_text(
        "{% for i in range(3) %}{{ i * 2 }}{{ 'ab' * 2 }}{% endfor %} {{ 2 ** 10 }}"
    )
    engine = svcflow_engine(
        NOTIFYING, templates=tmp_path / "templates", directory={"customer": "a@x.org"}
    )
    case = engine.start("tagged", {})
    engine.fire(case.id, "finish")
    [row] = engine.outbox(case.id)
    assert (row.status, row.body) == ("pending", "0abab2abab4abab 1024\n")


NOTIFYING = _workflow("true") + "    actions: [{notify: {template: done, to: customer}}]\n"


def test_a_huge_workflow_file_is_refused_before_it_is_parsed() -> None:
    fields = "".join(f"  f{i}: string\n" for i in range(300_000))
    text = "workflow: x\nversion: 1\ntitle: X\ndata:\n" + fields
    started = time.process_time()
    with pytest.raises(WorkflowDefinitionError) as caught:
        load_workflow_text(text, "big.yaml")
    assert time.process_time() - started < 1
    assert [str(problem) for problem in caught.value.problems] == [
        "big.yaml:1:1: the file is 5,288,928 bytes, above the limit of 1,048,576 "
        "(DefinitionLimits.max_file_bytes); split it or raise the limit"
    ]


def test_a_workflow_with_too_many_nodes_is_refused_while_it_is_composed() -> None:
    fields = "".join(f"  f{i}: string\n" for i in range(3_000))
    text = "workflow: x\nversion: 1\ntitle: X\ndata:\n" + fields
    with (
        definition_limits(DefinitionLimits(max_nodes=1_000)),
        pytest.raises(WorkflowDefinitionError) as caught,
    ):
        load_workflow_text(text, "many.yaml")
    assert [str(problem) for problem in caught.value.problems] == [
        "many.yaml:500:9: the document has more than 1,000 keys, values and items "
        "(DefinitionLimits.max_nodes); split it or raise the limit"
    ]
