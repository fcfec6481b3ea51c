"""How long a 200-row decision table takes to decide, per hit policy.

The table has three inputs (a number read through ranges, an enum read through lists, and a
CEL input), 200 rules and two outputs. For each hit policy it measures, on 1,000 different cases
drawn once:

- ``table``: ``CompiledTable.evaluate`` (the inputs, the segment masks, the hit policy);
- ``in CEL``: a workflow condition ``t.band == "b7"`` that names the table, as a transition's
  ``when`` evaluates it (the table decides, then CEL compares);
- ``naive``: the same rules written as 200 compiled CEL conditions tried in order (``first``
  only), the "nested conditions" a table replaces.

It also reports how long loading (compiling and checking) the 200-row file takes.
Run: ``python benches/bench_tables.py`` (``--rows``, ``--cases``, ``--repeats``).
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import cel

from svcflow.definitions.rulesfile import LoadedRules, load_rules_text
from svcflow.rules.expressions import CaseVariables, compile_expression
from svcflow.rules.tables.binding import TableSet

SEGMENTS = ["vip", "potential", "standard", "churn_risk"]
CHANNELS = ["phone", "email", "chat", "app", "web", "social", "branch"]
POLICIES = ["unique", "first", "priority", "collect", "collect sum"]
NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


def rules_text(rows: int, policy: str) -> str:
    """A rules file with one 200-row table under ``policy``; ``unique`` gets disjoint ranges,
    the others overlapping ones, so several rules match and the policy has work to do."""
    hit, _, aggregate = policy.partition(" ")
    width = 10 if hit == "unique" else 30
    lines = [
        "data:",
        "  amount: {type: number, default: 0}",
        f"  segment: {{type: enum, values: [{', '.join(SEGMENTS)}], default: standard}}",
        f"  channel: {{type: enum, values: [{', '.join(CHANNELS)}], default: phone}}",
        "  text: {type: string, default: ''}",
        "tables:",
        "  t:",
        f"    hit: {hit}",
        *([f"    aggregate: {aggregate}"] if aggregate else []),
        "    inputs:",
        "      amount: amount",
        "      segment: segment",
        "      urgent: text.contains('urgent')",
        "    outputs:",
        "      band: {type: enum, values: [" + ", ".join(f"b{i}" for i in range(10)) + "]}"
        if not aggregate
        else "      fee: number",
        *(["      fee: number"] if not aggregate else []),
        "    rules:",
    ]
    rng = random.Random(7)
    for index in range(rows):
        low = index * 10
        segment = rng.choice(["-", f"[{', '.join(rng.sample(SEGMENTS, 2))}]"])
        urgent = rng.choice(["-", "true", "false"])
        outputs = f"fee: {index % 13}" if aggregate else f"band: b{index % 10}, fee: {index % 13}"
        lines.append(
            f"      - {{amount: '[{low}..{low + width})', segment: {segment}, urgent: {urgent}, "
            f"{outputs}}}"
        )
    return "\n".join(lines) + "\n"


def naive_conditions(rows: int) -> list[Any]:
    """The ``first`` table as nested conditions: one CEL expression per rule, tried in order."""
    rng = random.Random(7)
    programs = []
    for index in range(rows):
        low = index * 10
        parts = [f"amount >= {low}.0 && amount < {low + 30}.0"]
        if rng.choice([True, False]):
            parts.append(f"segment in {rng.sample(SEGMENTS, 2)}".replace("'", '"'))
        urgent = rng.choice(["-", "true", "false"])
        if urgent != "-":
            parts.append(f"text.contains('urgent') == {urgent}")
        programs.append(cel.compile(" && ".join(parts)))
    return programs


def cases(count: int, rows: int) -> list[dict[str, Any]]:
    rng = random.Random(11)
    return [
        {
            "amount": rng.uniform(0, rows * 10),
            "segment": rng.choice(SEGMENTS),
            "channel": rng.choice(CHANNELS),
            "text": rng.choice(["", "urgent: no water", "thanks"]),
        }
        for _ in range(count)
    ]


def per_call_us(
    function: Callable[[dict[str, Any]], object], inputs: list[dict[str, Any]], repeats: int
) -> float:
    for variables in inputs[:100]:
        function(variables)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for variables in inputs:
            function(variables)
        best = min(best, (time.perf_counter() - start) / len(inputs) * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    inputs = cases(args.cases, args.rows)
    print(f"{args.rows}-row table, 3 inputs, {args.cases} cases, best of {args.repeats}")
    print(f"{'hit policy':<12} {'load ms':>8} {'table µs':>9} {'in CEL µs':>10} {'matched':>8}")
    for policy in POLICIES:
        text = rules_text(args.rows, policy)
        began = time.perf_counter()
        loaded: LoadedRules = load_rules_text(text, "bench.yaml")
        load_ms = (time.perf_counter() - began) * 1e3
        table = loaded.tables["t"]
        matched = sum(len(table.decide(v).matched) for v in inputs) / len(inputs)
        tables = TableSet(tables={"t": table}, names=["t"])
        output = "fee" if " " in policy else "band"
        condition = (
            "size(t.fee) > 2"
            if policy == "collect"
            else (f"t.{output} == " + ('"b7"' if output == "band" else "7.0"))
        )
        compiled = compile_expression(condition, ["t", "amount"], "bench")
        assert not isinstance(compiled, list), compiled
        bound = tables.bind(compiled)
        table_us = per_call_us(table.evaluate, inputs, args.repeats)
        cel_us = per_call_us(
            lambda v, bound=bound: bound.evaluate(CaseVariables(v, "new", NOW)),  # type: ignore[misc]
            inputs,
            args.repeats,
        )
        print(f"{policy:<12} {load_ms:>8.1f} {table_us:>9.2f} {cel_us:>10.2f} {matched:>8.2f}")
    programs = naive_conditions(args.rows)

    def naive(variables: dict[str, Any]) -> int | None:
        context = {k: variables[k] for k in ("amount", "segment", "text")}
        for index, program in enumerate(programs):
            if program.execute(context):
                return index
        return None

    naive_us = per_call_us(naive, inputs[: max(100, args.cases // 10)], max(3, args.repeats // 5))
    print(f"naive first: {args.rows} CEL conditions tried in order: {naive_us:.1f} µs")


if __name__ == "__main__":
    main()
