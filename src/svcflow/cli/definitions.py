"""validate, graph, decide, schema: the commands that read definition files."""

from __future__ import annotations

import argparse

from svcflow.cli.output import write
from svcflow.definitions.decide import decide_from_pairs, find_table, markdown_for
from svcflow.definitions.rulesfile import RulesFileSpec
from svcflow.definitions.workflow import load_workflow_file
from svcflow.graph import mermaid
from svcflow.spec.calendar import CalendarSpec
from svcflow.spec.schema import file_json_schema_text, workflow_json_schema_text

__all__ = ["run_decide", "run_graph", "run_schema"]


def run_graph(args: argparse.Namespace) -> int:
    text = markdown_for(args.file, args.table) or mermaid(load_workflow_file(args.file).spec)
    write(text, args.output)
    return 0


def run_decide(args: argparse.Namespace) -> int:
    decision = decide_from_pairs(find_table(args.table, [args.rules]), args.input or [])
    print("\n".join(decision.explain()))
    return 0


def run_schema(args: argparse.Namespace) -> int:
    if args.kind == "calendar":
        text = file_json_schema_text(CalendarSpec, "calendar")
    elif args.kind == "rules":
        text = file_json_schema_text(RulesFileSpec, "rules")
    else:
        text = workflow_json_schema_text()
    write(text, args.output)
    return 0
