"""What a process owner reads when a decision table has a gap or a wrong cell: the example value
in a coverage warning for each kind of input (the first value no rule takes, not a made-up one),
the type a CEL expression was found to give, and the place of each mistake."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from svcflow.definitions.rulesfile import load_rules_text
from svcflow.errors import WorkflowDefinitionError
from svcflow.rules.tables import CompiledTable, validation
from svcflow.rules.tables.cells import CELL_FORMS

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
        (with_segment("count"), 'count = 0, segment = "standard"'),
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
    [("null", "null"), ('{"a": 1}', "a map"), ("[1]", "a list"), ('b"x"', "a bytes")],
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


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        # a typo is refused, not read as another range ("1." to "5")
        (
            "'[1...5]'",
            "the range '[1...5]' is empty: its low end must be below its high end, e.g. [1..5]",
        ),
        (
            "'5..1'",
            "the range '5..1' is empty: its low end must be below its high end, e.g. [1..5]",
        ),
        ("[[1, 2]]", "a list item is a single value, range or comparison; " + CELL_FORMS),
    ],
)
def test_a_malformed_cell_is_refused_with_what_was_written(cell: str, message: str) -> None:
    body = "    inputs: {amount: amount}\n    outputs: {b: string}\n    rules:\n"
    assert problem(body + f"      - {{amount: {cell}, b: x}}\n") == (
        f"1 problem in rules.yaml\nrules.yaml:13:18: tables.t.rules[0].amount: {message}"
    )


def test_one_value_in_a_list_a_null_cell_and_a_date_are_shown_as_written() -> None:
    body = (
        "    hit: first\n    inputs: {segment: segment, visits: visits, opened: opened}\n"
        "    outputs: {b: string}\n    rules:\n"
        "      - {segment: [vip], b: x}\n"
        "      - {visits: null, b: y}\n"
        "      - {opened: 2026-03-01, b: z}\n"
    )
    cells = table(body)
    midnight = datetime(2026, 3, 1, tzinfo=UTC)
    assert cells.decide({"segment": "vip", "visits": 1, "opened": midnight}).explain()[4] == (
        'rules[0] (line 14) chosen: segment = "vip" matches vip'
    )
    decision = cells.decide({"segment": "standard", "visits": None, "opened": midnight})
    assert decision.explain()[4:6] == [
        "rules[1] (line 15) chosen: visits = null matches null",
        "rules[2] (line 16) also matched, not chosen (hit policy first: an earlier rule wins): "
        "opened = 2026-03-01T00:00:00Z matches 2026-03-01",
    ]
    assert cells.evaluate({"segment": "standard", "visits": 2, "opened": midnight}) == {"b": "z"}
    later = midnight + timedelta(seconds=1)
    assert cells.evaluate({"segment": "standard", "visits": 2, "opened": later}) == {"b": None}


def test_whole_numbers_between_neighbouring_bounds_decide_overlaps() -> None:
    # no whole number is above 3 and below 4; 3.5 is both
    assert warnings(one_input("count", "> 3", "< 4")) == []
    assert problem(one_input("amount", "> 3", "< 4")) == (
        "1 problem in rules.yaml\nrules.yaml:14:9: tables.t.rules[1]: rules[1] overlaps rules[0] "
        "(line 13): both match amount = 3.5; hit policy unique allows one matching rule per case: "
        "make their cells exclusive, or use hit: first (the first match wins) or hit: priority"
    )


BIG = "    inputs: {big: {expr: 'amount > 10.0'}}\n    outputs: {b: string}\n    rules:\n"


@pytest.mark.parametrize(("cell", "missing"), [("true", "false"), ("false", "true")])
def test_a_boolean_input_without_a_rule_for_one_truth_is_a_gap(cell: str, missing: str) -> None:
    assert warnings(BIG + f"      - {{big: {cell}, b: x}}\n") == [
        f"rules.yaml:12:5: tables.t.rules: no rule matches big = {missing}; such a case gets the "
        "outputs' defaults (b = null); add a rule for it"
    ]


NAME = "    inputs: {name: {expr: 'string(count)', type: string}, segment: segment}\n"


def test_a_string_input_names_any_value_or_any_other_value() -> None:
    rules = "    outputs: {b: string}\n    rules:\n"
    assert warnings(NAME + rules + "      - {name: '1', b: x}\n") == [
        "rules.yaml:12:5: tables.t.rules: no rule matches name = any other value, segment = "
        '"vip"; such a case gets the outputs\' defaults (b = null); add a rule for it'
    ]
    assert warnings(NAME + rules + "      - {segment: vip, b: x}\n") == [
        'rules.yaml:12:5: tables.t.rules: no rule matches name = any value, segment = "standard"; '
        "such a case gets the outputs' defaults (b = null); add a rule for it"
    ]
    assert problem(
        NAME + rules + "      - {name: '1', b: x}\n      - {name: ['2', '1'], b: y}\n"
    ) == (
        "1 problem in rules.yaml\nrules.yaml:14:9: tables.t.rules[1]: rules[1] overlaps rules[0] "
        '(line 13): both match name = "1", segment = "vip"; hit policy unique allows one matching '
        "rule per case: make their cells exclusive, or use hit: first (the first match wins) or "
        "hit: priority"
    )


def test_a_gap_over_two_inputs_counts_every_combination_and_names_every_default() -> None:
    # priority lets rules[1] overlap rules[0], so count's values fall into two classes
    body = (
        "    hit: priority\n    inputs: {count: count, big: {expr: 'amount > 10.0'}}\n"
        "    outputs: {level: {type: enum, values: [high, low]}, n: {type: integer, default: 0}}\n"
        "    rules:\n      - {big: true, level: low}\n"
        "      - {count: '>= 5', big: true, level: high}\n"
    )
    assert warnings(body) == [
        "rules.yaml:13:5: tables.t.rules: no rule matches count = 4, big = false (and 1 other "
        "uncovered combination); such a case gets the outputs' defaults (level = null, n = 0); "
        "add a rule for it"
    ]


def test_every_overlap_between_rules_without_cel_is_reported_around_cel_rules() -> None:
    body = (
        "    inputs: {count: count}\n    outputs: {b: string}\n    rules:\n"
        "      - {count: {expr: 'count > 100'}, b: a}\n"
        "      - {count: 1, b: b}\n"
        "      - {count: 2, b: c}\n"
        "      - {count: 2, b: d}\n"
        "      - {count: {expr: 'count > 200'}, b: e}\n"
        "      - {count: 1, b: f}\n"
    )
    advice = (
        "hit policy unique allows one matching rule per case: make their cells exclusive, or "
        "use hit: first (the first match wins) or hit: priority"
    )
    assert problem(body) == (
        "2 problems in rules.yaml\n"
        "rules.yaml:16:9: tables.t.rules[3]: rules[3] overlaps rules[2] (line 15): both match "
        f"count = 2; {advice}\n"
        "rules.yaml:18:9: tables.t.rules[5]: rules[5] overlaps rules[1] (line 14): both match "
        f"count = 1; {advice}"
    )


def test_every_rule_that_earlier_rules_hide_under_first_is_reported() -> None:
    body = (
        "    hit: first\n    inputs: {count: count}\n    outputs: {b: string}\n    rules:\n"
        "      - {count: '>= 0', b: a}\n      - {count: '>= 3', b: b}\n"
        "      - {count: '>= 5', b: c}\n      - {b: d}\n"
    )
    advice = "under hit policy first the earliest match wins; remove it or move it above them"
    assert problem(body) == (
        "2 problems in rules.yaml\n"
        "rules.yaml:15:9: tables.t.rules[1]: rules[1] can never match: rules[0] (line 14) before "
        f"it already matches every case it matches, and {advice}\n"
        "rules.yaml:16:9: tables.t.rules[2]: rules[2] can never match: rules[0] (line 14) and "
        f"rules[1] (line 15) before it already match every case it matches, and {advice}"
    )


@pytest.mark.parametrize(
    ("expression", "where", "message"),
    [
        # a syntax error where it is found in the expression, a type mismatch at its start
        ("count +", "13:28", "invalid expression `count +`: Syntax error:"),
        ('count + "x"', "13:20", 'type mismatch in `count + "x"`: No such overload'),
    ],
)
def test_a_broken_computed_output_is_reported_at_its_expr_key(
    expression: str, where: str, message: str
) -> None:
    body = "    inputs: {count: count}\n    outputs: {n: integer}\n    rules:\n"
    assert problem(body + f"      - {{n: {{expr: '{expression}'}}}}\n").startswith(
        f"1 problem in rules.yaml\nrules.yaml:{where}: tables.t.rules[0].n.expr: {message}"
    )


def test_a_computed_enum_output_may_copy_a_text_field_checked_only_when_it_decides() -> None:
    # at load the text field holds its sample value (""), which is no level
    rules = load_rules_text(
        "data:\n  tier: {type: string, default: ''}\n  count: {type: integer, default: 0}\n"
        "tables:\n  t:\n    inputs: {count: count}\n"
        "    outputs: {level: {type: enum, values: [high, low]}}\n"
        "    rules:\n      - {level: {expr: tier}}\n",
        "rules.yaml",
    )
    assert rules.tables["t"].evaluate({"count": 1, "tier": "high"}) == {"level": "high"}


def test_a_datetime_output_written_as_a_date_is_its_midnight_in_utc() -> None:
    body = "    inputs: {count: count}\n    outputs: {due: datetime}\n    rules:\n"
    dated = table(body + "      - {due: 2026-03-01}\n")
    assert dated.evaluate({"count": 1}) == {"due": datetime(2026, 3, 1, tzinfo=UTC)}


def test_a_text_cell_written_as_an_unquoted_date_is_the_text_as_written() -> None:
    """YAML reads ``2026-03-01`` as a date; in a text input or output it is the text written."""
    rules = load_rules_text(
        "data:\n  batch: string\n"
        "tables:\n  t:\n    inputs: {batch: batch}\n    outputs: {since: string}\n"
        "    rules:\n      - {batch: 2026-03-01, since: 2026-02-01}\n",
        "rules.yaml",
    )
    dated = rules.tables["t"]
    assert dated.evaluate({"batch": "2026-03-01"}) == {"since": "2026-02-01"}
    assert dated.evaluate({"batch": "2026-03-02"}) == {"since": None}


NARROW = "{count: '> 3', amount: '> 5', segment: vip, b: x}"
"""A rule whose box, cut out of all cases (or out of a catch-all), leaves three pieces: one
per input it narrows."""


def _rules(*rules: str) -> str:
    listed = "".join(f"      - {rule}\n" for rule in rules)
    return (
        "    hit: first\n    inputs: {count: count, amount: amount, segment: segment}\n"
        f"    outputs: {{b: string}}\n    rules:\n{listed}"
    )


@pytest.mark.parametrize(("limit", "said"), [(3, True), (2, False)])
def test_a_gap_is_reported_until_the_pieces_the_analysis_tracks_pass_its_limit(
    monkeypatch: pytest.MonkeyPatch, limit: int, said: bool
) -> None:
    """Past the limit (20,000 pieces) the analysis gives up and claims nothing either way."""
    monkeypatch.setattr(validation, "_MAX_BOXES", limit)
    gap = (
        "rules.yaml:13:5: tables.t.rules: no rule matches count = 2, amount = 4.0, segment = "
        '"vip" (and 6 other uncovered combinations); such a case gets the outputs\' '
        "defaults (b = null); add a rule for it, or end the table with a catch-all rule that "
        "leaves every input out"
    )
    assert warnings(_rules(NARROW)) == ([gap] if said else [])


@pytest.mark.parametrize(("limit", "said"), [(3, True), (2, False)])
def test_a_hidden_rule_is_reported_until_the_pieces_the_analysis_tracks_pass_its_limit(
    monkeypatch: pytest.MonkeyPatch, limit: int, said: bool
) -> None:
    monkeypatch.setattr(validation, "_MAX_BOXES", limit)
    body = _rules(
        NARROW,
        "{count: '<= 3', b: y}",
        "{amount: '<= 5', b: y}",
        "{segment: standard, b: y}",
        "{b: z}",
    )
    if not said:
        assert [rule.line for rule in table(body).rows] == [14, 15, 16, 17, 18]
        return
    assert problem(body).splitlines()[1] == (
        "rules.yaml:18:9: tables.t.rules[4]: rules[4] can never match: rules[0] (line 14), "
        "rules[1] (line 15), rules[2] (line 16) and 1 more before it already match every case "
        "it matches, and under hit policy first the earliest match wins; remove it or move it "
        "above them"
    )
