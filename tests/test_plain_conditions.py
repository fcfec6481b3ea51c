"""Plain conditions answered without their CEL program give CEL's answer, or ask CEL."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from support.workflows import WORKFLOWS
from svcflow.definitions import load_definitions
from svcflow.errors import ExpressionError
from svcflow.rules import expressions
from svcflow.rules.expressions import Expression, compile_expression
from svcflow.rules.plain import plain_condition

VALUES: list[Any] = [None, True, False, "", "x", "true", "null", 0, 1, 1.0, [], {"a": 1}]
"""What a name may hold: the types a plain answer covers and some it leaves to CEL."""

WRITTEN = [
    "a",
    "!a",
    "a == true",
    "a != false && b",
    "a == null || b != null",
    'a != null && a != ""',
    "a == 'x' || !(b == a)",
    "(a || b) && !(a && b)",
    "true == a",
    "a == b",
    "!!a || null == b",
]


def outcome(run: Any) -> object:
    try:
        result = run()
    except (ExpressionError, Exception) as error:  # CEL's refusals are several types
        return ("error", type(error).__name__ if not isinstance(error, ExpressionError) else "")
    return (type(result), result)


def agree(source: str, names: list[str]) -> int:
    """Check every value pair against the program run alone; the number answered in Python."""
    compiled = compile_expression(source, names, "test")
    assert isinstance(compiled, Expression)
    assert compiled.plain is not None, source
    answered = 0
    for values in itertools.product(VALUES, repeat=len(compiled.names)):
        context = dict(zip(compiled.names, values, strict=True))
        plain = compiled.plain(context)
        if plain is None:
            continue
        answered += 1
        cel = outcome(lambda context=context: compiled._program.execute(context))
        assert (type(plain), plain) == cel, (source, context)
    return answered


@pytest.mark.parametrize("source", WRITTEN)
def test_a_plain_answer_is_cels(source: str) -> None:
    assert agree(source, ["a", "b"]) > 0


def test_every_plain_condition_of_the_shipped_definitions_gives_cels_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, list[str]] = {}

    def recorded(source: str, names: Any) -> Any:
        found = plain_condition(source, names)
        if found is not None:
            seen[source] = list(names)
        return found

    monkeypatch.setattr(expressions, "plain_condition", recorded)
    load_definitions(WORKFLOWS)
    assert len(seen) >= 10, sorted(seen)  # the shipped conditions are mostly plain
    for source, names in seen.items():
        agree(source, names)


@pytest.mark.parametrize(
    "source",
    ["a.b == true", "f(a)", "a == 1", "a == b == true", 'a == r"x"', 'a == "\\x"', "a in b", "a <"],
)
def test_anything_else_is_left_to_cel(source: str) -> None:
    assert plain_condition(source, ["a", "b"]) is None


def test_a_plain_condition_is_answered_without_its_program() -> None:
    compiled = compile_expression("a == true && b != null", ["a", "b"], "test")
    assert isinstance(compiled, Expression)
    silent = Expression(compiled.source, compiled.names, "test", None, plain=compiled.plain)
    assert silent.test({"a": True, "b": "x"}) is True
    assert silent.test({"a": False, "b": None}) is False
    with pytest.raises(ExpressionError, match="execute"):
        silent.test({"a": 1, "b": "x"})  # another type: the (missing) program is asked


def test_a_value_of_another_type_is_left_to_the_program() -> None:
    compiled = compile_expression("a == true && b", ["a", "b"], "test")
    assert isinstance(compiled, Expression)
    assert compiled.test({"a": 1, "b": True}) is False  # CEL: 1 is not true
    with pytest.raises(ExpressionError):
        compiled.test({"a": True, "b": "yes"})  # CEL: no && on a string
    assert compiled.test({"a": False, "b": "yes"}) is False  # CEL: false && anything


def test_a_condition_that_names_a_table_reads_the_table() -> None:
    from datetime import UTC, datetime

    from svcflow import load_workflow_text
    from svcflow.rules.expressions import CaseVariables
    from test_tables_workflow import TRIAGE

    text = TRIAGE.replace(
        'when: priority_matrix.priority == "urgent"', "when: priority_matrix != null"
    )
    loaded = load_workflow_text(text)
    [condition] = [e for e in loaded.expressions.values() if e.source == "priority_matrix != null"]
    assert condition.plain is None  # a table's name is no variable: the program decides
    variables = CaseVariables(
        {"impact": "high", "urgency": "high", "segment": "vip"}, "new", datetime.now(UTC)
    )
    assert condition.test(variables) is True
