"""What a process owner reads when a decision table has a gap or a wrong cell: the example value
in a coverage warning for each kind of input (the first value no rule takes, not a made-up one),
the type a CEL expression was found to give, and the place of each mistake."""

from __future__ import annotations

import pytest

from svcflow.definitions.rulesfile import load_rules_text
from svcflow.errors import WorkflowDefinitionError
from svcflow.rules.tables import CompiledTable

HEAD = """\
data:
  amount: {type: number, default: 0}
  count: {type: integer, default: 0}
  segment: {type: enum, values: [vip, standard], default: standard}
  opened: {type: datetime, required: true}
  waited: {type: duration, default: 0s}
  visits: integer
tables:
  t:
"""


def warnings(body: str) -> list[str]:
    return [str(w) for w in load_rules_text(HEAD + body, "rules.yaml").warnings]


def table(body: str) -> CompiledTable:
    return load_rules_text(HEAD + body, "rules.yaml").tables["t"]


def problem(body: str) -> str:
    with pytest.raises(WorkflowDefinitionError) as caught:
        load_rules_text(HEAD + body, "rules.yaml")
    return str(caught.value)


def one_input(name: str, *cells: str) -> str:
    rules = "".join(f"      - {{{name}: '{cell}', b: x}}\n" for cell in cells)
    return f"    inputs: {{{name}: {name}}}\n    outputs: {{b: string}}\n    rules:\n{rules}"


def with_segment(name: str) -> str:
    return (
        f"    inputs: {{{name}: {name}, segment: segment}}\n    outputs: {{b: string}}\n"
        "    rules:\n      - {segment: vip, b: x}\n"
    )


@pytest.mark.parametrize(
    ("body", "example"),
    [
        # integers: the neighbour of the bound on the open side; none between 3 and 4
        (one_input("count", ">= 3"), "count = 2"),
        (one_input("count", "> 3"), "count = 2"),
        (one_input("count", "<= 3"), "count = 4"),
        (one_input("count", "<= 3", ">= 6"), "count = 4"),
        (one_input("count", "< 3", "> 4"), "count = 3"),
        (one_input("count", "< 3", "> 5", "3", "5"), "count = 4"),
        # numbers: one below / above an open end, the middle of a gap, 0 when unbounded
        (one_input("amount", ">= 10"), "amount = 9.0"),
        (one_input("amount", "<= -10"), "amount = -9.0"),
        (one_input("amount", "<= 10", ">= 20"), "amount = 15.0"),
        (with_segment("amount"), 'amount = 0.0, segment = "standard"'),
        # datetimes: a day before / after, the middle of a gap, a Monday morning when unbounded
        (one_input("opened", ">= 2026-03-01T00:00:00Z"), "opened = 2026-02-28T00:00:00Z"),
        (one_input("opened", "<= 2026-03-01T00:00:00Z"), "opened = 2026-03-02T00:00:00Z"),
        (
            one_input("opened", "<= 2026-03-01T00:00:00Z", ">= 2026-03-03T12:00:00Z"),
            "opened = 2026-03-02T06:00:00Z",
        ),
        (with_segment("opened"), 'opened = 2026-01-05T09:00:00Z, segment = "standard"'),
        # durations: an hour before / after, the middle of a gap, one hour when unbounded
        (one_input("waited", ">= 4h"), "waited = 3h"),
        (one_input("waited", "<= 4h"), "waited = 5h"),
        (one_input("waited", "<= 1h", ">= 4h"), "waited = 2h30m"),
        (with_segment("waited"), 'waited = 1h, segment = "standard"'),
    ],
)
def test_a_coverage_warning_names_a_value_no_rule_takes(body: str, example: str) -> None:
    assert warnings(body) == [
        f"rules.yaml:12:5: tables.t.rules: no rule matches {example}; such a case gets the "
        "outputs' defaults (b = null); add a rule for it"
    ]


def test_any_value_cannot_be_one_item_of_a_list() -> None:
    body = "    inputs: {count: count}\n    outputs: {b: string}\n    rules:\n"
    assert problem(body + "      - {count: [1, '-'], b: x}\n") == (
        "1 problem in rules.yaml\nrules.yaml:13:17: tables.t.rules[0].count: '-' (any value) "
        "cannot be part of a list; write it alone"
    )


def test_a_note_that_is_not_text_is_refused_where_it_is_written() -> None:
    body = "    inputs: {count: count}\n    outputs: {b: string}\n    rules:\n"
    assert problem(body + "      - {b: x, note: 5}\n") == (
        "1 problem in rules.yaml\nrules.yaml:13:22: tables.t.rules[0].note: a note is text"
    )


@pytest.mark.parametrize(
    ("output", "expression", "kind"),
    [
        ("integer", '"x"', "a string"),
        ("string", "1 + 1", "an int"),
        ("string", "true", "a bool"),
        ("integer", "1.5", "a double"),
        ("string", 'timestamp("2026-01-01T00:00:00Z")', "a timestamp"),
        ("string", 'duration("1h")', "a duration"),
        ("string", '{"a": 1}', "a map"),
        ("integer", "[1]", "a list"),
    ],
)
def test_a_computed_output_of_the_wrong_type_says_what_the_expression_gives(
    output: str, expression: str, kind: str
) -> None:
    quoted = expression.replace("'", "''")
    body = (
        "    inputs: {count: count}\n"
        f"    outputs: {{n: {{type: enum, values: [a]}}, s: {output}}}\n"
        f"    rules:\n      - {{n: a, s: {{expr: '{quoted}'}}}}\n"
    )
    assert problem(body) == (
        "1 problem in rules.yaml\nrules.yaml:13:26: tables.t.rules[0].s.expr: output 's' is "
        f"{output}, but `{expression}` gives {kind}; convert it, e.g. with int(), double() or "
        "string()"
    )


@pytest.mark.parametrize(
    ("expression", "kind"),
    [("null", "null"), ('{"a": 1}', "a map"), ("[1]", "a list")],
)
def test_an_input_expression_of_no_input_type_is_refused(expression: str, kind: str) -> None:
    body = (
        f"    inputs: {{x: {{expr: '{expression}'}}}}\n    outputs: {{n: string}}\n"
        "    rules:\n      - {n: a}\n"
    )
    assert problem(body) == (
        f"1 problem in rules.yaml\nrules.yaml:10:17: tables.t.inputs.x: input 'x' gives {kind}; an "
        "input is a string, enum, integer, number, boolean, datetime or duration: declare its "
        "'type' or change the expression"
    )


def test_a_cel_cell_that_gives_null_is_not_a_condition() -> None:
    body = (
        "    inputs: {count: count}\n    outputs: {n: string}\n"
        "    rules:\n      - {count: {expr: 'null'}, n: a}\n"
    )
    assert problem(body) == (
        "1 problem in rules.yaml\nrules.yaml:13:24: tables.t.rules[0].count.expr: a CEL cell is "
        "a condition, but `null` gives null; compare it, e.g. `null == ...`"
    )


@pytest.mark.parametrize(
    ("name", "cells", "expected"),
    [
        # a field with neither default nor required may be unset: a rule must say what then
        ("visits", ("< 0", ">= 0"), ["visits = null"]),
        ("count", ("< 0", ">= 0"), []),
        ("opened", ("< 2026-01-01T00:00:00Z", ">= 2026-01-01T00:00:00Z"), []),
    ],
)
def test_only_an_input_that_may_be_unset_needs_a_rule_for_null(
    name: str, cells: tuple[str, ...], expected: list[str]
) -> None:
    assert warnings(one_input(name, *cells)) == [
        f"rules.yaml:12:5: tables.t.rules: no rule matches {example}; such a case gets the "
        "outputs' defaults (b = null); add a rule for it"
        for example in expected
    ]


def test_an_input_expression_with_a_declared_type_is_checked_as_that_type() -> None:
    level = (
        "    inputs: {level: {expr: segment, type: enum, values: [vip, standard, gold]}}\n"
        "    outputs: {b: string}\n"
        "    rules:\n      - {level: vip, b: x}\n      - {level: standard, b: y}\n"
    )
    assert warnings(level) == [
        'rules.yaml:12:5: tables.t.rules: no rule matches level = "gold"; such a case gets the '
        "outputs' defaults (b = null); add a rule for it"
    ]
    double = (
        "    inputs: {double: {expr: 'amount * 2.0', type: number}}\n    outputs: {b: string}\n"
        "    rules:\n      - {double: '> 10', b: x}\n"
    )
    assert warnings(double) == [
        "rules.yaml:12:5: tables.t.rules: no rule matches double = 9.0; such a case gets the "
        "outputs' defaults (b = null); add a rule for it"
    ]


def test_a_broken_input_expression_is_reported_at_its_expr_key() -> None:
    body = "    inputs:\n      double:\n        expr: 'amount *'\n    outputs: {b: string}\n"
    assert problem(body + "    rules:\n      - {b: x}\n").startswith(
        "1 problem in rules.yaml\nrules.yaml:12:24: tables.t.inputs.double.expr: invalid "
        "expression `amount *`: Syntax error:"
    )


RATIO = """\
    hit: first
    inputs: {count: count}
    outputs: {b: string}
    rules:
      - {count: "< 10", b: small}
      - {count: {expr: "100 / count > 1"}, b: ratio}
      - {b: other}
"""


def test_under_first_the_rules_after_the_first_match_are_not_evaluated() -> None:
    ratio = table(RATIO)
    # rules[1] would divide by zero; rules[0] already decided
    assert ratio.evaluate({"count": 0}) == {"b": "small"}
    assert ratio.evaluate({"count": 20}) == {"b": "ratio"}
    assert ratio.evaluate({"count": 200}) == {"b": "other"}


def test_decide_under_first_still_lists_every_matching_rule() -> None:
    decision = table(RATIO).decide({"count": 5})
    assert decision.matched == (0, 1, 2)
    assert decision.chosen == (0,)
    assert decision.outputs == {"b": "small"}


def test_the_explanation_shows_each_cell_as_it_was_written() -> None:
    body = (
        "    inputs: {segment: segment, count: count}\n    outputs: {b: string}\n    rules:\n"
        "      - {segment: vip, count: '!= 3', b: x}\n"
        "      - {segment: [standard, null], b: y}\n"
        "      - {segment: vip, count: 3, b: z}\n"
    )
    segments = table(body)
    assert segments.decide({"segment": "vip", "count": 4}).explain()[3] == (
        'rules[0] (line 13) chosen: segment = "vip" matches vip; count = 4 matches != 3'
    )
    assert segments.decide({"segment": None, "count": 4}).explain()[3] == (
        "rules[1] (line 14) chosen: segment = null matches standard, null"
    )


def test_a_cel_cell_decides_for_an_unset_input_too() -> None:
    body = (
        "    hit: first\n    inputs: {visits: visits}\n    outputs: {b: string}\n    rules:\n"
        "      - {visits: {expr: 'visits == null'}, b: unset}\n      - {b: set}\n"
    )
    visits = table(body)
    assert visits.evaluate({"visits": None}) == {"b": "unset"}
    assert visits.evaluate({"visits": 3}) == {"b": "set"}


def test_a_rule_after_two_cel_rules_is_not_blamed_for_overlapping_them() -> None:
    body = (
        "    inputs: {amount: amount}\n    outputs: {b: string}\n    rules:\n"
        "      - {amount: {expr: 'amount > 3.0'}, b: x}\n"
        "      - {amount: {expr: 'amount > 5.0'}, b: y}\n"
        "      - {amount: '> 100', b: z}\n"
    )
    assert warnings(body) == []


@pytest.mark.parametrize(("aggregate", "output"), [("min", "string"), ("max", "boolean")])
def test_min_and_max_need_outputs_that_can_be_ordered(aggregate: str, output: str) -> None:
    body = (
        f"    hit: collect\n    aggregate: {aggregate}\n    inputs: {{amount: amount}}\n"
        f"    outputs: {{b: {output}}}\n    rules:\n      - {{b: x}}\n"
    )
    assert problem(body) == (
        f"1 problem in rules.yaml\nrules.yaml:13:15: tables.t.outputs.b: aggregate {aggregate} "
        f"needs outputs of type integer, number, duration, datetime; output 'b' is {output}"
    )


def test_a_cel_cell_that_mixes_types_is_refused_at_load() -> None:
    body = "    inputs: {count: count}\n    outputs: {b: string}\n    rules:\n"
    assert problem(body + "      - {count: {expr: 'count + \"x\" > 1'}, b: x}\n") == (
        "1 problem in rules.yaml\nrules.yaml:13:24: tables.t.rules[0].count.expr: type mismatch "
        'in `count + "x" > 1`: No such overload: the operation is not defined for the given '
        "operand types; CEL does not convert between types (write 3.0 for a number, quote "
        "strings)"
    )


def test_a_range_written_as_a_yaml_list_is_the_range() -> None:
    body = (
        "    hit: first\n    inputs: {count: count}\n    outputs: {b: string}\n    rules:\n"
        "      - {count: [1..5], b: x}\n      - {b: y}\n"
    )
    counts = table(body)
    assert [counts.evaluate({"count": n})["b"] for n in (0, 1, 5, 6)] == ["y", "x", "x", "y"]
    assert counts.decide({"count": 5}).explain()[2] == (
        "rules[0] (line 14) chosen: count = 5 matches [1..5]"
    )


def test_cel_cells_and_computed_outputs_read_case_fields_that_are_not_inputs() -> None:
    unique = table(
        "    inputs: {amount: amount}\n    outputs: {n: integer}\n    rules:\n"
        "      - {amount: {expr: 'amount > 10.0 && count > 2'}, n: {expr: 'count * 2'}}\n"
        "      - {amount: '<= 10', n: 0}\n"
    )
    case = {"amount": 20.0, "count": 3}
    assert unique.evaluate(case) == {"n": 6}
    decision = unique.decide(case)
    assert (decision.matched, decision.chosen, decision.outputs) == ((0,), (0,), {"n": 6})
    ranked = table(
        "    hit: priority\n    inputs: {amount: amount}\n"
        "    outputs: {level: {type: enum, values: [high, low]}}\n    rules:\n"
        "      - {amount: '>= 0', level: low}\n"
        "      - {amount: '>= 0', level: {expr: 'count > 5 ? \"high\" : \"low\"'}}\n"
    )
    busy = {"amount": 1.0, "count": 9}
    assert ranked.evaluate(busy) == {"level": "high"}
    assert ranked.decide(busy).chosen == (1,)
