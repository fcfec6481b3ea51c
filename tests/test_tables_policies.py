"""Decision tables in the corners a process owner reaches: priority over outputs a rule
computes, the explanation a person reads for each hit policy, rows that accept an unset value,
a one-point range, and min/max over dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from svcflow.definitions.rulesfile import load_rules_text
from svcflow.errors import WorkflowDefinitionError
from svcflow.rules.tables import CompiledTable, show_value

HEAD = """\
data:
  amount: {type: number, default: 0}
  count: integer
  segment: {type: enum, values: [vip, standard], default: standard}
  opened: datetime
tables:
  t:
"""


def table(body: str) -> CompiledTable:
    return load_rules_text(HEAD + body, "rules.yaml").tables["t"]


def problem(body: str) -> str:
    with pytest.raises(WorkflowDefinitionError) as caught:
        load_rules_text(HEAD + body, "rules.yaml")
    return str(caught.value)


# -- priority with computed outputs -------------------------------------------------------------

LEVELS = """\
    hit: priority
    inputs: {amount: amount}
    outputs: {level: {type: enum, values: [urgent, high, normal]}, fee: number}
    rules:
      - {amount: ">= 0", level: normal, fee: 1}
      - {amount: "> 100", level: {expr: 'amount > 1000.0 ? "urgent" : "normal"'}, fee: 2}
      - {amount: ">= 200", level: high, fee: 3}
"""


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (50.0, {"level": "normal", "fee": 1.0}),
        # rules 0 and 1 both give normal: a tie goes to the earlier rule
        (150.0, {"level": "normal", "fee": 1.0}),
        # the computed rule says normal, rule 2 says high: high wins
        (500.0, {"level": "high", "fee": 3.0}),
        # the computed rule says urgent: it outranks rule 2's high
        (5000.0, {"level": "urgent", "fee": 2.0}),
    ],
)
def test_priority_ranks_the_value_a_rule_computes(amount: float, expected: dict[str, Any]) -> None:
    levels = table(LEVELS)
    assert levels.evaluate({"amount": amount}) == expected
    decision = levels.decide({"amount": amount})
    assert decision.outputs == expected


def test_priority_explains_which_rule_won_and_why_the_others_lost() -> None:
    decision = table(LEVELS).decide({"amount": 5000.0})
    assert decision.matched == (0, 1, 2)
    assert decision.chosen == (1,)
    assert decision.explain() == [
        "table t (rules.yaml:7:3), hit policy priority",
        "  input amount = 5000.0",
        "rules[0] (line 12) also matched, not chosen (hit policy priority: a higher output "
        "wins): amount = 5000.0 matches >= 0",
        "rules[1] (line 13) chosen: amount = 5000.0 matches > 100",
        "rules[2] (line 14) also matched, not chosen (hit policy priority: a higher output "
        "wins): amount = 5000.0 matches >= 200",
        'result: level = "urgent", fee = 2.0',
    ]


def test_priority_ranks_several_outputs_in_turn() -> None:
    routes = table(
        """\
    hit: priority
    inputs: {segment: segment}
    outputs:
      level: {type: enum, values: [high, low]}
      queue: {type: enum, values: [desk, phone, mail]}
    rules:
      - {segment: "-", level: low, queue: desk}
      - {segment: vip, level: high, queue: mail}
      - {segment: vip, level: high, queue: phone}
      - {segment: "-", level: high, queue: mail}
"""
    )
    # vip: three rules say high; among them the queue decides (phone before mail)
    assert routes.evaluate({"segment": "vip"}) == {"level": "high", "queue": "phone"}
    assert routes.evaluate({"segment": "standard"}) == {"level": "high", "queue": "mail"}


# -- explanations of unique and collect tables --------------------------------------------------


def test_a_unique_table_explains_its_one_rule_with_notes_sources_and_dash_cells() -> None:
    tiers = table(
        """\
    inputs:
      big: amount > 1000.0
      segment: segment
    outputs: {tier: string}
    rules:
      - {big: true, segment: "-", tier: gold, note: large orders}
      - {big: false, segment: vip, tier: silver}
      - {big: false, segment: standard, tier: bronze}
"""
    )
    assert tiers.decide({"amount": 2000.0, "segment": "standard"}).explain() == [
        "table t (rules.yaml:7:3), hit policy unique",
        "  input big = true  (amount > 1000.0)",
        '  input segment = "standard"',
        "rules[0] (line 13) chosen: big = true matches true",
        "  note: large orders",
        'result: tier = "gold"',
    ]
    everything = table(
        """\
    hit: collect
    inputs: {segment: segment}
    outputs: {tier: string}
    rules:
      - {segment: "-", tier: any}
      - {segment: vip, tier: vip}
"""
    )
    assert everything.decide({"segment": "vip"}).explain() == [
        "table t (rules.yaml:7:3), hit policy collect",
        '  input segment = "vip"',
        "rules[0] (line 12) chosen: every input is '-'",
        'rules[1] (line 13) chosen: segment = "vip" matches vip',
        'result: tier = ["any", "vip"]',
    ]


def test_a_collect_aggregate_is_named_in_the_explanation() -> None:
    counted = table(
        """\
    hit: collect
    aggregate: count
    inputs: {amount: amount}
    outputs: {hits: integer}
    rules:
      - {amount: "> 1", hits: 1}
      - {amount: "> 2", hits: 1}
"""
    )
    lines = counted.decide({"amount": 1.5}).explain()
    assert lines[0] == "table t (rules.yaml:7:3), hit policy collect count"
    assert lines[-1] == "result: hits = 1"


# -- rows that accept an unset value ------------------------------------------------------------


def test_several_rows_accept_null_each_in_its_own_way() -> None:
    seen = table(
        """\
    hit: collect
    inputs: {segment: segment, count: count}
    outputs: {row: integer}
    rules:
      - {segment: null, row: 0}
      - {segment: "-", row: 1}
      - {segment: [null, vip], row: 2}
      - {segment: vip, row: 3}
      - {segment: null, count: null, row: 4}
      - {segment: null, count: "[1..3]", row: 5}
"""
    )
    assert seen.evaluate({"segment": None, "count": None}) == {"row": [0, 1, 2, 4]}
    assert seen.evaluate({"segment": None, "count": 2}) == {"row": [0, 1, 2, 5]}
    assert seen.evaluate({"segment": "vip", "count": None}) == {"row": [1, 2, 3]}
    assert seen.evaluate({"segment": "standard", "count": 0}) == {"row": [1]}


# -- a one-point range --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("input_", "cell", "inside", "outside"),
    [
        ("count", "[5..5]", [5], [4, 6, None]),
        ("amount", "'[5..5]'", [5.0], [4.999, 5.001]),
        ("opened", "'[2026-03-02T09:00:00Z..2026-03-02T09:00:00Z]'",
         [datetime(2026, 3, 2, 9, tzinfo=UTC)],
         [datetime(2026, 3, 2, 8, 59, 59, tzinfo=UTC), datetime(2026, 3, 2, 9, 0, 1, tzinfo=UTC)]),
    ],
)  # fmt: skip
def test_a_one_point_range_holds_exactly_its_point(
    input_: str, cell: str, inside: list[Any], outside: list[Any]
) -> None:
    point = table(
        f"""\
    hit: collect
    inputs: {{{input_}: {input_}}}
    outputs: {{hit: boolean}}
    rules:
      - {{{input_}: {cell}, hit: true}}
"""
    )
    for value in inside:
        assert point.evaluate({input_: value}) == {"hit": [True]}, value
    for value in outside:
        assert point.evaluate({input_: value}) == {"hit": []}, value


@pytest.mark.parametrize("cell", ["'(5..5]'", "'[5..5)'", "'(5..5)'", "'[6..5]'"])
def test_an_empty_range_is_refused(cell: str) -> None:
    text = cell.strip("'")
    assert problem(
        f"""\
    inputs: {{count: count}}
    outputs: {{hit: boolean}}
    rules:
      - {{count: {cell}, hit: true}}
"""
    ) == (
        "1 problem in rules.yaml\n"
        f"rules.yaml:11:17: tables.t.rules[0].count: the range '{text}' is empty: its low end "
        "must be below its high end, e.g. [1..5]"
    )


# -- min and max over dates ---------------------------------------------------------------------

DUE = """\
    hit: collect
    aggregate: {aggregate}
    inputs: {{segment: segment}}
    outputs: {{due: datetime}}
    rules:
      - {{due: 2026-03-05T17:00:00Z}}
      - {{segment: vip, due: 2026-03-03T12:00:00Z}}
      - {{segment: vip, due: {{expr: 'opened + duration("48h")'}}}}
"""


@pytest.mark.parametrize(
    ("aggregate", "segment", "due"),
    [
        ("min", "vip", datetime(2026, 3, 3, 12, tzinfo=UTC)),
        ("max", "vip", datetime(2026, 3, 5, 17, tzinfo=UTC)),
        ("min", "standard", datetime(2026, 3, 5, 17, tzinfo=UTC)),
        ("max", "standard", datetime(2026, 3, 5, 17, tzinfo=UTC)),
    ],
)
def test_min_and_max_of_dates(aggregate: str, segment: str, due: datetime) -> None:
    deadlines = table(DUE.format(aggregate=aggregate))
    opened = datetime(2026, 3, 2, 9, tzinfo=UTC)  # + 48 h: 4 March, between the two dates
    assert deadlines.evaluate({"segment": segment, "opened": opened}) == {"due": due}


def test_a_computed_date_can_be_the_minimum() -> None:
    deadlines = table(DUE.format(aggregate="min"))
    opened = datetime(2026, 3, 1, 9, tzinfo=UTC)
    assert deadlines.evaluate({"segment": "vip", "opened": opened}) == {
        "due": datetime(2026, 3, 3, 9, tzinfo=UTC)
    }


def test_dates_cannot_be_summed() -> None:
    message = problem(DUE.format(aggregate="sum"))
    assert message.startswith("1 problem in rules.yaml\nrules.yaml:")
    assert "aggregate sum needs outputs of type" in message


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "null"),
        (True, "true"),
        (False, "false"),
        ("vip", '"vip"'),
        (3, "3"),
        (2.5, "2.5"),
        (timedelta(hours=4), "4h"),
        (datetime(2026, 3, 2, 9, tzinfo=UTC), "2026-03-02T09:00:00Z"),
        (["a", 1, None], '["a", 1, null]'),
        (("x",), '["x"]'),
    ],
)
def test_values_are_shown_as_a_table_writes_them(value: Any, text: str) -> None:
    assert show_value(value) == text
