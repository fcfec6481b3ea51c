"""validate, graph, decide, schema: the commands that read definition files."""

from __future__ import annotations

import argparse
import sys

from svcflow.cli.output import write
from svcflow.definitions import is_calendar_text, resolve_calendars
from svcflow.definitions.calendars import load_calendar_text
from svcflow.definitions.decide import decide_from_pairs, find_table, markdown_for, table_warnings
from svcflow.definitions.rulesfile import is_rules_text, load_rules_text
from svcflow.definitions.workflow import LoadedWorkflow, load_workflow_file, workflow_files
from svcflow.errors import WorkflowDefinitionError
from svcflow.graph import mermaid
from svcflow.sla.calendar import BusinessCalendar
from svcflow.spec.schema import workflow_json_schema_text

__all__ = ["run_decide", "run_graph", "run_schema", "run_validate"]


def run_validate(args: argparse.Namespace) -> int:
    files = workflow_files(args.paths)
    if not files:
        print(f"no .yaml/.yml files found in {', '.join(args.paths)}", file=sys.stderr)
        return 1
    failed = 0
    calendars: dict[str, BusinessCalendar] = {}
    workflows: list[LoadedWorkflow] = []
    for file in files:
        try:
            text = file.read_text(encoding="utf-8") if file.is_file() else ""
            if is_calendar_text(text):
                calendar = load_calendar_text(text, str(file))
                calendars[calendar.id] = calendar
                print(f"ok  {file}: calendar '{calendar.id}' ({calendar.spec.timezone})")
                continue
            if is_rules_text(text):
                rules = load_rules_text(text, str(file))
                print(f"ok  {file}: rules, tables {', '.join(rules.tables)}")
                for warning in rules.warnings:
                    print(f"warning: {warning}", file=sys.stderr)
                continue
            loaded = load_workflow_file(file)
        except WorkflowDefinitionError as error:
            failed += 1
            for problem in error.problems:
                print(problem, file=sys.stderr)
            continue
        workflows.append(loaded)
    for loaded in workflows:
        try:
            resolve_calendars(loaded, calendars)
        except WorkflowDefinitionError as error:
            failed += 1
            for problem in error.problems:
                print(problem, file=sys.stderr)
            continue
        spec = loaded.spec
        print(
            f"ok  {loaded.file}: workflow '{spec.workflow}' v{spec.version}, "
            f"{len(spec.states)} states, {len(spec.transitions)} transitions"
            + (f", {len(spec.sla.metrics)} SLA metrics" if spec.sla else "")
            + (f", tables {', '.join(spec.tables)}" if spec.tables else "")
        )
        for warning in table_warnings(loaded):
            print(f"warning: {warning}", file=sys.stderr)
    if failed:
        print(f"{failed} of {len(files)} file(s) invalid", file=sys.stderr)
    return 1 if failed else 0


def run_graph(args: argparse.Namespace) -> int:
    text = markdown_for(args.file, args.table) or mermaid(load_workflow_file(args.file).spec)
    write(text, args.output)
    return 0


def run_decide(args: argparse.Namespace) -> int:
    decision = decide_from_pairs(find_table(args.table, [args.rules]), args.input or [])
    print("\n".join(decision.explain()))
    return 0


def run_schema(args: argparse.Namespace) -> int:
    write(workflow_json_schema_text(), args.output)
    return 0
