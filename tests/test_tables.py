"""Decision tables: every hit policy, every kind of cell, every load-time finding (full message
asserted) and the errors a decision can raise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from svcflow.definitions.rulesfile import LoadedRules, is_rules_text, load_rules_text
from svcflow.errors import ExpressionError, WorkflowDefinitionError
from svcflow.rules.tables.cells import DecisionError
from svcflow.rules.tables.table import CompiledTable

HEAD = """\
data:
  amount: {type: number, default: 0}
  count: integer
  segment: {type: enum, values: [vip, standard], default: standard}
  channel: {type: enum, values: [phone, chat], default: phone}
  opened: datetime
  waited: {type: duration, default: 0s}
  text: {type: string, default: ""}
tables:
  t:
"""


def load(body: str) -> LoadedRules:
    return load_rules_text(HEAD + body, "rules.yaml")


def table(body: str) -> CompiledTable:
    return load(body).tables["t"]


def problems(body: str) -> str:
    with pytest.raises(WorkflowDefinitionError) as caught:
        load(body)
    return str(caught.value)


def warnings(body: str) -> list[str]:
    return [str(w) for w in load(body).warnings]


# -- hit policies --------------------------------------------------------------------------------

BANDS = """\
    hit: {hit}
    inputs: {{amount: amount}}
    outputs: {{band: {{type: enum, values: [large, medium, small]}}, fee: number}}
    rules:
      - {{amount: "< 10", band: small, fee: 1}}
      - {{amount: "[10..100]", band: medium, fee: 2}}
      - {{amount: "> 200", band: large, fee: 3}}
      - {{amount: ">= 50", band: {last}, fee: 4}}
"""

HIT_POLICIES = [
    # (hit line, last rule's band, amount, expected outputs)
    ("first", "small", 5.0, {"band": "small", "fee": 1.0}),
    ("first", "small", 75.0, {"band": "medium", "fee": 2.0}),
    ("first", "small", 500.0, {"band": "large", "fee": 3.0}),
    ("first", "small", 150.0, {"band": "small", "fee": 4.0}),
    ("first", "small", 100.5, {"band": "small", "fee": 4.0}),
    ("priority", "small", 75.0, {"band": "medium", "fee": 2.0}),
    ("priority", "large", 75.0, {"band": "large", "fee": 4.0}),
    ("priority", "large", 500.0, {"band": "large", "fee": 3.0}),  # a tie: the earlier rule
    ("collect", "small", 75.0, {"band": ["medium", "small"], "fee": [2.0, 4.0]}),
    ("collect", "small", 5.0, {"band": ["small"], "fee": [1.0]}),
    ("collect\n    aggregate: count", "small", 75.0, {"band": 2, "fee": 2}),
    ("collect\n    aggregate: count", "small", 5.0, {"band": 1, "fee": 1}),
]


@pytest.mark.parametrize(("hit", "last", "amount", "expected"), HIT_POLICIES)
def test_hit_policy(hit: str, last: str, amount: float, expected: dict[str, Any]) -> None:
    bands = table(BANDS.format(hit=hit, last=last))
    assert bands.evaluate({"amount": amount}) == expected
    assert bands.decide({"amount": amount}).outputs == expected


def test_unique_decides_the_one_matching_rule_and_defaults_when_none() -> None:
    bands = table(
        """\
    inputs: {amount: amount}
    outputs: {band: string, fee: {type: number, default: 0}}
    rules:
      - {amount: "< 10", band: small, fee: 1}
      - {amount: "[10..100]", band: medium}
"""
    )
    assert bands.evaluate({"amount": 10.0}) == {"band": "medium", "fee": 0.0}
    assert bands.evaluate({"amount": 9.99}) == {"band": "small", "fee": 1.0}
    assert bands.evaluate({"amount": 100.5}) == {"band": None, "fee": 0.0}


NUMBERS = """\
    hit: collect
    aggregate: {aggregate}
    inputs: {{segment: segment, channel: channel}}
    outputs: {{points: integer, wait: duration}}
    rules:
      - {{points: 5, wait: 1h}}
      - {{segment: vip, points: 10, wait: 15m}}
      - {{channel: chat, points: 2, wait: 4h}}
"""


@pytest.mark.parametrize(
    ("aggregate", "segment", "expected"),
    [
        ("sum", "vip", {"points": 17, "wait": timedelta(hours=5, minutes=15)}),
        ("sum", "standard", {"points": 7, "wait": timedelta(hours=5)}),
        ("min", "vip", {"points": 2, "wait": timedelta(minutes=15)}),
        ("max", "vip", {"points": 10, "wait": timedelta(hours=4)}),
        ("count", "vip", {"points": 3, "wait": 3}),
    ],
)
def test_collect_aggregates(aggregate: str, segment: str, expected: dict[str, Any]) -> None:
    points = table(NUMBERS.format(aggregate=aggregate))
    assert points.evaluate({"segment": segment, "channel": "chat"}) == expected


def test_collect_of_nothing_is_empty_and_aggregates_of_nothing_are_null() -> None:
    body = """\
    hit: collect{aggregate}
    inputs: {{segment: segment}}
    outputs: {{points: integer}}
    rules:
      - {{segment: vip, points: 10}}
"""
    assert table(body.format(aggregate="")).evaluate({"segment": "standard"}) == {"points": []}
    for aggregate, nothing in [("sum", None), ("min", None), ("max", None), ("count", 0)]:
        summed = table(body.format(aggregate=f"\n    aggregate: {aggregate}"))
        assert summed.evaluate({"segment": "standard"}) == {"points": nothing}


# -- cells ---------------------------------------------------------------------------------------

CELLS = [
    # (input, cell as written, matching values, other values)
    ("segment", "vip", ["vip"], ["standard", None]),
    ("segment", "[vip, standard]", ["vip", "standard"], [None]),
    ("segment", "'!= vip'", ["standard"], ["vip", None]),
    ("segment", "null", [None], ["vip", "standard"]),
    ("segment", "'-'", ["vip", "standard", None], []),
    ("amount", "3", [3.0], [2.999, 3.001]),
    ("amount", "[1..5]", [1.0, 3.0, 5.0], [0.99, 5.01]),
    ("amount", "1..5", [1.0, 5.0], [0.5, 6.0]),
    ("amount", "'(1..5]'", [1.01, 5.0], [1.0, 5.01]),
    ("amount", "'[1..5)'", [1.0, 4.99], [5.0]),
    ("amount", "'(1..5)'", [2.0], [1.0, 5.0]),
    ("amount", "'>= 3'", [3.0, 1e9], [2.99, None]),
    ("amount", "'> 3'", [3.01], [3.0]),
    ("amount", "'<= 3'", [3.0, -1e9], [3.01]),
    ("amount", "'< 3'", [2.99], [3.0]),
    ("amount", "[1, '[10..20]', '> 100']", [1.0, 15.0, 101.0], [2.0, 50.0, 100.0]),
    ("count", "[1..3]", [1, 2, 3], [0, 4, None]),
    ("count", "null", [None], [0]),
    (
        "opened",
        "'[2026-01-01..2026-04-01)'",
        [datetime(2026, 3, 31, 23, tzinfo=UTC)],
        [datetime(2026, 4, 1, tzinfo=UTC), datetime(2025, 12, 31, 23, tzinfo=UTC)],
    ),
    (
        "opened",
        "'>= 2026-03-02T09:00:00Z'",
        [datetime(2026, 3, 2, 9, tzinfo=UTC)],
        [datetime(2026, 3, 2, 8, 59, tzinfo=UTC)],
    ),
    ("waited", "'> 4h'", [timedelta(hours=4, seconds=1)], [timedelta(hours=4)]),
    ("waited", "[15m..1h]", [timedelta(minutes=15), timedelta(hours=1)], [timedelta(0)]),
    ("text", "{expr: 'text.contains(\"refund\")'}", ["a refund please"], ["hello"]),
    ("amount", "{expr: 'amount > 2.0 * double(size(text))'}", [100.0], [1.0]),
]


@pytest.mark.parametrize(("name", "cell", "matching", "other"), CELLS)
def test_cell(name: str, cell: str, matching: list[Any], other: list[Any]) -> None:
    tested = table(
        f"""\
    hit: collect
    inputs: {{{name}: {name}}}
    outputs: {{hit: boolean}}
    rules:
      - {{{name}: {cell}, hit: true}}
"""
    )
    variables = {"text": "four"}
    for value in matching:
        assert tested.evaluate(variables | {name: value}) == {"hit": [True]}, value
    for value in other:
        assert tested.evaluate(variables | {name: value}) == {"hit": []}, value


def test_inputs_are_cel_over_the_data_and_cells_and_outputs_may_be_cel_too() -> None:
    fees = table(
        """\
    hit: first
    inputs:
      vip: segment == "vip"
      amount: {}
    outputs: {fee: number, reason: string}
    rules:
      - {vip: true, fee: 0, reason: vip}
      - {amount: {expr: "amount > 100.0 && channel == 'chat'"}, fee: {expr: "amount * 0.05"},
         reason: {expr: "'chat order of ' + string(amount)"}}
      - {fee: 1, reason: flat}
"""
    )
    assert fees.evaluate({"segment": "vip", "amount": 500.0}) == {"fee": 0.0, "reason": "vip"}
    assert fees.evaluate({"segment": "standard", "amount": 200.0, "channel": "chat"}) == {
        "fee": 10.0,
        "reason": "chat order of 200",
    }
    assert fees.evaluate({"segment": "standard", "amount": 200.0, "channel": "phone"}) == {
        "fee": 1.0,
        "reason": "flat",
    }


def test_decide_explains_the_matched_rules() -> None:
    bands = table(BANDS.format(hit="first", last="small"))
    assert bands.decide({"amount": 75.0}).explain() == [
        "table t (rules.yaml:10:3), hit policy first",
        "  input amount = 75.0",
        "rules[1] (line 16) chosen: amount = 75.0 matches [10..100]",
        "rules[3] (line 18) also matched, not chosen (hit policy first: an earlier rule wins): "
        "amount = 75.0 matches >= 50",
        'result: band = "medium", fee = 2.0',
    ]
    assert bands.decide({"amount": None}).explain()[-2:] == [
        "no rule matched; the outputs are their defaults",
        "result: band = null, fee = null",
    ]


def test_a_rules_file_is_recognised_by_its_tables_key() -> None:
    assert is_rules_text(HEAD)
    assert not is_rules_text("workflow: x\ntables: {}\n")
    assert not is_rules_text("calendar: office\n")


# -- load-time findings: every message in full -----------------------------------------------

FINDINGS = [
    (
        "overlap under unique",
        """\
    inputs: {amount: amount}
    outputs: {band: string}
    rules:
      - {amount: "<= 10", band: small}
      - {amount: "[10..100]", band: medium}
      - {amount: "> 100", band: large}
""",
        "rules.yaml:15:9: tables.t.rules[1]: rules[1] overlaps rules[0] (line 14): both match "
        "amount = 10.0; hit policy unique allows one matching rule per case: make their cells "
        "exclusive, or use hit: first (the first match wins) or hit: priority",
    ),
    (
        "overlap in two inputs",
        """\
    inputs: {segment: segment, channel: channel}
    outputs: {queue: string}
    rules:
      - {segment: vip, queue: a}
      - {channel: chat, queue: b}
""",
        "rules.yaml:15:9: tables.t.rules[1]: rules[1] overlaps rules[0] (line 14): both match "
        'segment = "vip", channel = "chat"; hit policy unique allows one matching rule per '
        "case: make their cells exclusive, or use hit: first (the first match wins) or hit: "
        "priority",
    ),
    (
        "unreachable under first",
        """\
    hit: first
    inputs: {segment: segment, channel: channel}
    outputs: {queue: string}
    rules:
      - {segment: vip, queue: vip_desk}
      - {channel: phone, queue: voice}
      - {segment: vip, channel: chat, queue: never}
      - {queue: general}
""",
        "rules.yaml:17:9: tables.t.rules[2]: rules[2] can never match: rules[0] (line 15) "
        "before it already matches every case it matches, and under hit policy first the "
        "earliest match wins; remove it or move it above them",
    ),
    (
        "unreachable behind several rules",
        """\
    hit: first
    inputs: {amount: amount}
    outputs: {band: string}
    rules:
      - {amount: "< 10", band: a}
      - {amount: "[10..20]", band: b}
      - {amount: "> 20", band: c}
      - {amount: "[5..50]", band: d}
""",
        "rules.yaml:18:9: tables.t.rules[3]: rules[3] can never match: rules[0] (line 15), "
        "rules[1] (line 16) and rules[2] (line 17) before it already match every case it "
        "matches, and under hit policy first the earliest match wins; remove it or move it "
        "above them",
    ),
    (
        "output outside its enum",
        """\
    inputs: {segment: segment}
    outputs: {priority: {type: enum, values: [P1, P2]}}
    rules:
      - {segment: vip, priority: P1}
      - {segment: standard, priority: P9}
""",
        "rules.yaml:15:39: tables.t.rules[1].priority: invalid value for output 'priority' "
        "(enum): Input should be 'P1' or 'P2' (got 'P9'); values: P1, P2",
    ),
    (
        "output of the wrong type",
        """\
    inputs: {segment: segment}
    outputs: {points: integer, within: duration}
    rules:
      - {segment: vip, points: many, within: soon}
""",
        "rules.yaml:14:32: tables.t.rules[0].points: invalid value for output 'points' "
        "(integer): Input should be a valid integer, unable to parse string as an integer "
        "(got 'many')\n"
        "rules.yaml:14:46: tables.t.rules[0].within: invalid value for output 'within' "
        "(duration): Value error, invalid duration 'soon': write a number and a unit, e.g. "
        "30s, 15m, 4h, 2d, 1w or 1h30m (got 'soon')",
    ),
    (
        "CEL output of the wrong type",
        """\
    inputs: {amount: amount}
    outputs: {fee: integer}
    rules:
      - {fee: {expr: "amount * 0.05"}}
""",
        "rules.yaml:14:22: tables.t.rules[0].fee.expr: output 'fee' is integer, but `amount * "
        "0.05` gives a double; convert it, e.g. with int(), double() or string()",
    ),
    (
        "cells outside the input's type",
        """\
    inputs: {segment: segment}
    outputs: {queue: string}
    rules:
      - {segment: vpi, queue: a}
      - {segment: "[1..3]", queue: b}
      - {segment: "> vip", queue: c}
""",
        "rules.yaml:14:19: tables.t.rules[0].segment: \"vpi\" is not a value of input 'segment'; "
        "did you mean 'vip'? values: standard, vip\n"
        "rules.yaml:15:19: tables.t.rules[1].segment: '[1..3]' needs an input of type integer, "
        "number, datetime or duration, but input 'segment' is enum; list the values instead, "
        "e.g. [a, b]\n"
        "rules.yaml:16:19: tables.t.rules[2].segment: '> vip' needs an input of type integer, "
        "number, datetime or duration, but input 'segment' is enum; list the values instead, "
        "e.g. [a, b]",
    ),
    (
        "cells that are not numbers or are empty",
        """\
    inputs: {amount: amount}
    outputs: {band: string}
    rules:
      - {amount: lots, band: a}
      - {amount: "[100..10]", band: b}
      - {amount: "(5..5]", band: c}
      - {amount: [], band: d}
""",
        'rules.yaml:14:18: tables.t.rules[0].amount: "lots" is not a number value for input '
        "'amount': Input should be a valid number, unable to parse string as a number\n"
        "rules.yaml:15:18: tables.t.rules[1].amount: the range '[100..10]' is empty: its low "
        "end must be below its high end, e.g. [1..5]\n"
        "rules.yaml:16:18: tables.t.rules[2].amount: the range '(5..5]' is empty: its low end "
        "must be below its high end, e.g. [1..5]\n"
        "rules.yaml:17:18: tables.t.rules[3].amount: an empty list matches nothing; a cell is "
        "'-' (any value), a value, a list of values, a range such as [1..5] or '(1..5]', a "
        "comparison such as '>= 3' or '!= low', null (not set), or {expr: <CEL>}",
    ),
    (
        "unknown column and missing output",
        """\
    inputs: {amount: amount}
    outputs: {band: string}
    rules:
      - {amont: 3, band: a}
      - {amount: "!= 3"}
""",
        "rules.yaml:14:10: tables.t.rules[0].amont: unknown column 'amont'; did you mean "
        "'amount'? columns: amount, band, note\n"
        "rules.yaml:15:9: tables.t.rules[1]: rules[1] gives no value for output 'band', which "
        "has no default; add 'band: ...' to the rule or 'default:' to the output",
    ),
    (
        "aggregate without collect",
        """\
    hit: first
    aggregate: sum
    inputs: {amount: amount}
    outputs: {band: string}
    rules:
      - {band: a}
""",
        "rules.yaml:11:5: tables.t: 'aggregate' combines the rules of hit policy 'collect', "
        "not 'first'; set hit: collect or remove aggregate",
    ),
    (
        "sum of text",
        """\
    hit: collect
    aggregate: sum
    inputs: {amount: amount}
    outputs: {band: string}
    rules:
      - {band: a}
""",
        "rules.yaml:14:15: tables.t.outputs.band: aggregate sum needs outputs of type integer, "
        "number, duration; output 'band' is string",
    ),
    (
        "priority without an enum output",
        """\
    hit: priority
    inputs: {amount: amount}
    outputs: {band: string}
    rules:
      - {band: a}
""",
        "rules.yaml:11:10: tables.t.hit: hit policy priority picks the matching rule whose "
        "output comes first in an enum output's 'values'; give the table an enum output "
        "(values highest first)",
    ),
    (
        "inputs that are not values, or read unknown names",
        """\
    inputs:
      tags: "[1, 2]"
      who: custmer
      mixed: 'segment + 1'
    outputs: {band: string}
    rules:
      - {band: a}
""",
        "rules.yaml:12:13: tables.t.inputs.tags: input 'tags' gives a list; an input is a "
        "string, enum, integer, number, boolean, datetime or duration: declare its 'type' or "
        "change the expression\n"
        "rules.yaml:13:12: tables.t.inputs.who: unknown name 'custmer' in expression `custmer`; "
        "known names: amount, channel, count, now, opened, segment, text, waited\n"
        "rules.yaml:14:14: tables.t.inputs.mixed: type mismatch in `segment + 1`: Unsupported "
        "operation: string + int; CEL does not convert between types (write 3.0 for a number, "
        "quote strings)",
    ),
    (
        "a CEL cell that is not a condition",
        """\
    inputs: {amount: amount}
    outputs: {band: string}
    rules:
      - {amount: {expr: "amount + 1.0"}, band: a}
      - {amount: {expr: "amount > 1.0", note: x}, band: b}
""",
        "rules.yaml:14:25: tables.t.rules[0].amount.expr: a CEL cell is a condition, but "
        "`amount + 1.0` gives a double; compare it, e.g. `amount + 1.0 == ...`\n"
        "rules.yaml:15:18: tables.t.rules[1].amount: a cell is '-' (any value), a value, a "
        "list of values, a range such as [1..5] or '(1..5]', a comparison such as '>= 3' or "
        "'!= low', null (not set), or {expr: <CEL>}",
    ),
    (
        "names that collide",
        """\
    inputs: {note: amount, band: amount}
    outputs: {band: string, extra: {type: integer, default: "x"}}
    rules:
      - {band: a}
""",
        "rules.yaml:11:14: tables.t.inputs.note: 'note' is the column for a rule's remark; give "
        "the input another name\n"
        "rules.yaml:12:15: tables.t.outputs.band: 'band' is both an input and an output; rename "
        "one, since a rule's cells are named by column\n"
        "rules.yaml:12:61: tables.t.outputs.extra.default: invalid default for output 'extra': "
        "Input should be a valid integer, unable to parse string as an integer (got 'x')",
    ),
    (
        "enum without values",
        """\
    inputs: {level: {expr: amount, type: enum}}
    outputs: {band: {type: enum}}
    rules:
      - {band: a}
""",
        "rules.yaml:11:21: tables.t.inputs.level: an enum input needs 'values', the list of "
        "allowed values\n"
        "rules.yaml:12:21: tables.t.outputs.band: an enum output needs 'values', the list of "
        "allowed values",
    ),
]


@pytest.mark.parametrize(
    ("body", "expected"), [f[1:] for f in FINDINGS], ids=[f[0] for f in FINDINGS]
)
def test_load_time_error(body: str, expected: str) -> None:
    count = expected.count("\n") + 1
    header = f"{count} problem{'s' if count > 1 else ''} in rules.yaml\n"
    assert problems(body) == header + expected


WARNINGS = [
    (
        "an uncovered enum combination",
        """\
    inputs: {segment: segment, channel: channel}
    outputs: {queue: {type: string, default: general}}
    rules:
      - {segment: vip, queue: vip_desk}
      - {segment: standard, channel: phone, queue: voice}
""",
        'rules.yaml:13:5: tables.t.rules: no rule matches segment = "standard", channel = '
        '"chat"; such a case gets the outputs\' defaults (queue = "general"); add a rule for it',
    ),
    (
        "a gap between ranges, and null",
        """\
    hit: first
    inputs: {count: count}
    outputs: {band: string}
    rules:
      - {count: "< 3", band: few}
      - {count: "> 5", band: many}
""",
        "rules.yaml:14:5: tables.t.rules: no rule matches count = 3; such a case gets the "
        "outputs' defaults (band = null); add a rule for it, or end the table with a catch-all "
        "rule that leaves every input out",
    ),
    (
        "open numbers",
        """\
    inputs: {amount: amount}
    outputs: {band: string}
    rules:
      - {amount: "<= 10", band: small}
""",
        "rules.yaml:13:5: tables.t.rules: no rule matches amount = 11.0; such a case gets the "
        "outputs' defaults (band = null); add a rule for it",
    ),
    (
        "text that is not listed",
        """\
    inputs: {text: text}
    outputs: {band: string}
    rules:
      - {text: [a, b], band: small}
""",
        "rules.yaml:13:5: tables.t.rules: no rule matches text = any other value; such a case "
        "gets the outputs' defaults (band = null); add a rule for it",
    ),
]


@pytest.mark.parametrize(
    ("body", "expected"), [w[1:] for w in WARNINGS], ids=[w[0] for w in WARNINGS]
)
def test_coverage_warning(body: str, expected: str) -> None:
    assert warnings(body) == [expected]


@pytest.mark.parametrize(
    "body",
    [
        # a catch-all under first; a CEL cell counts as covering; collect may match nothing
        "    hit: first\n    inputs: {amount: amount}\n    outputs: {b: string}\n"
        "    rules:\n      - {amount: '< 3', b: x}\n      - {b: y}\n",
        "    inputs: {amount: amount}\n    outputs: {b: string}\n"
        "    rules:\n      - {amount: {expr: 'amount > 3.0'}, b: x}\n",
        "    hit: collect\n    inputs: {amount: amount}\n    outputs: {b: string}\n"
        "    rules:\n      - {amount: '< 3', b: x}\n",
        "    inputs: {segment: segment, channel: channel}\n    outputs: {b: string}\n"
        "    rules:\n      - {segment: vip, b: x}\n      - {segment: standard, b: y}\n",
    ],
)
def test_complete_tables_have_no_warning(body: str) -> None:
    assert warnings(body) == []


def test_rules_with_cel_cells_are_not_blamed_for_overlaps() -> None:
    loaded = table(
        """\
    inputs: {amount: amount}
    outputs: {b: string}
    rules:
      - {amount: {expr: "amount > 3.0"}, b: x}
      - {amount: {expr: "amount > 5.0"}, b: y}
"""
    )
    assert loaded.evaluate({"amount": 1.0}) == {"b": None}
    assert loaded.evaluate({"amount": 4.0}) == {"b": "x"}
    with pytest.raises(DecisionError) as caught:
        loaded.evaluate({"amount": 6.0})
    assert str(caught.value) == (
        "rules.yaml:10:3: table 't' cannot decide: rules[0] (line 14) and rules[1] (line 15) "
        "both match, but hit policy unique allows one; their CEL cells overlap for amount = 6.0"
    )
    assert isinstance(caught.value, ExpressionError)


def test_an_input_of_the_wrong_type_is_a_decision_error() -> None:
    bands = table(BANDS.format(hit="first", last="small"))
    with pytest.raises(DecisionError) as caught:
        bands.evaluate({"amount": "lots"})
    assert str(caught.value) == (
        "rules.yaml:10:3: table 't' cannot decide: input 'amount' is \"lots\", but its cells "
        "are number values"
    )


def test_a_two_hundred_row_table_is_checked_and_decides() -> None:
    rows = "".join(
        f"      - {{amount: '[{i}..{i + 1})', count: {i % 7}, band: b{i}}}\n" for i in range(200)
    )
    big = table(
        "    hit: first\n    inputs: {amount: amount, count: count}\n    outputs: {band: string}\n"
        "    rules:\n" + rows
    )
    assert big.evaluate({"amount": 150.5, "count": 150 % 7}) == {"band": "b150"}
    assert big.evaluate({"amount": 150.5, "count": 0}) == {"band": None}


OVERLAPPING_CEL = """\
    inputs: {amount: amount, segment: segment}
    outputs: {b: string}
    rules:
      - {amount: {expr: "amount > 3.0"}, segment: vip, b: x}
      - {amount: {expr: "amount > 5.0"}, b: y}
      - {amount: {expr: "amount > 1.0"}, b: z}
"""


def test_three_overlapping_cel_rules_name_the_first_two_and_every_input() -> None:
    loaded = table(OVERLAPPING_CEL)
    with pytest.raises(DecisionError) as caught:
        loaded.evaluate({"amount": 6.0, "segment": "vip"})
    assert str(caught.value) == (
        "rules.yaml:10:3: table 't' cannot decide: rules[0] (line 14) and rules[1] (line 15) "
        "both match, but hit policy unique allows one; their CEL cells overlap for amount = 6.0, "
        'segment = "vip"'
    )


def test_a_cel_cell_is_explained_as_written() -> None:
    decision = table(OVERLAPPING_CEL).decide({"amount": 2.0, "segment": "standard"})
    assert decision.explain()[3:] == [
        "rules[2] (line 16) chosen: amount = 2.0 matches `amount > 1.0`",
        'result: b = "z"',
    ]


def test_a_broken_cel_cell_is_reported_at_its_expression() -> None:
    assert problems(
        "    inputs: {amount: amount}\n    outputs: {b: string}\n"
        '    rules:\n      - {amount: {expr: "amount >"}, b: x}\n'
    ) == (
        "1 problem in rules.yaml\n"
        "rules.yaml:14:34: tables.t.rules[0].amount.expr: invalid expression `amount >`: Syntax "
        "error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', "
        "'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}"
    )  # the column where the expression ends too soon


def two_enums(*rules: str, hit: str = "") -> str:
    rows = "".join(f"      - {{{rule}}}\n" for rule in rules)
    head = f"    hit: {hit}\n" if hit else ""
    return (
        f"{head}    inputs: {{segment: segment, channel: channel}}\n    outputs: {{b: string}}\n"
        f"    rules:\n{rows}"
    )


def test_a_coverage_warning_counts_the_other_uncovered_combinations() -> None:
    end = "; such a case gets the outputs' defaults (b = null); add a rule for it"
    assert warnings(two_enums("segment: vip, channel: chat, b: x")) == [
        'rules.yaml:13:5: tables.t.rules: no rule matches segment = "standard", channel = '
        '"phone" (and 2 other uncovered combinations)' + end
    ]
    assert warnings(
        two_enums("segment: vip, channel: chat, b: x", "segment: vip, channel: phone, b: x")
    ) == [
        'rules.yaml:13:5: tables.t.rules: no rule matches segment = "standard", channel = '
        '"phone" (and 1 other uncovered combination)' + end
    ]


def test_a_rule_hidden_by_more_than_three_rules_names_three_and_counts_the_rest() -> None:
    hidden = two_enums(
        "segment: vip, channel: chat, b: a",
        "segment: vip, channel: phone, b: b",
        "segment: standard, channel: chat, b: c",
        "segment: standard, channel: phone, b: d",
        "b: never",
        hit="first",
    )
    assert problems(hidden) == (
        "1 problem in rules.yaml\n"
        "rules.yaml:19:9: tables.t.rules[4]: rules[4] can never match: rules[0] (line 15), "
        "rules[1] (line 16), rules[2] (line 17) and 1 more before it already match every case "
        "it matches, and under hit policy first the earliest match wins; remove it or move it "
        "above them"
    )


def test_a_cel_cell_that_fails_while_deciding_names_its_place_in_the_file() -> None:
    loaded = table(
        """\
    inputs: {count: count}
    outputs: {b: string}
    rules:
      - {count: {expr: "10 / count > 2"}, b: x}
"""
    )
    assert loaded.evaluate({"count": 2}) == {"b": "x"}
    with pytest.raises(ExpressionError) as caught:
        loaded.evaluate({"count": 0})
    assert str(caught.value) == (
        "rules.yaml:14:24: expression `10 / count > 2` failed: division by zero in CEL expression"
    )
