"""The ``svcflow`` command: validate, graph, decide, schema, simulate, demo, report, plugins.

This is the only module that prints. Exit codes: 0 success, 1 invalid input or a failed
expectation, 2 wrong usage (argparse).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO
from urllib.parse import urlsplit

from svcflow.errors import SvcflowError, WorkflowDefinitionError

if TYPE_CHECKING:
    from svcflow.definitions.workflow import LoadedWorkflow
    from svcflow.sla.calendar import BusinessCalendar

# Each command imports what it needs when it runs, so that `svcflow --help` (and a command that
# needs no workflow) does not load pydantic, CEL and the engine.

__all__ = ["main"]


def _validate(args: argparse.Namespace) -> int:
    from svcflow.definitions import is_calendar_text, resolve_calendars
    from svcflow.definitions.calendars import load_calendar_text
    from svcflow.definitions.decide import table_warnings
    from svcflow.definitions.rulesfile import is_rules_text, load_rules_text
    from svcflow.definitions.workflow import load_workflow_file, workflow_files

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


def _graph(args: argparse.Namespace) -> int:
    from svcflow.definitions.decide import markdown_for
    from svcflow.definitions.workflow import load_workflow_file
    from svcflow.graph import mermaid

    text = markdown_for(args.file, args.table) or mermaid(load_workflow_file(args.file).spec)
    _write(text, args.output)
    return 0


def _decide(args: argparse.Namespace) -> int:
    from svcflow.definitions.decide import decide_from_pairs, find_table

    decision = decide_from_pairs(find_table(args.table, [args.rules]), args.input or [])
    print("\n".join(decision.explain()))
    return 0


def _schema(args: argparse.Namespace) -> int:
    from svcflow.spec.schema import workflow_json_schema_text

    _write(workflow_json_schema_text(), args.output)
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from svcflow.definitions import calendars_beside
    from svcflow.definitions.workflow import load_workflow_file
    from svcflow.simulate import load_scenario, render_timeline, run_scenario

    workflow = load_workflow_file(args.file)
    calendars = calendars_beside(Path(args.file))
    status = 0
    for scenario_file in args.scenario:
        loaded = load_scenario(scenario_file, workflow)
        title = loaded.scenario.title or Path(scenario_file).stem
        print(f"== {title} ({scenario_file}) on {workflow.spec.workflow} v{workflow.spec.version}")
        result = run_scenario(workflow, loaded, args.store, calendars)
        for line in render_timeline(result):
            print(line)
        queued = len(result.notifications)
        verdict = "passed" if result.passed else f"FAILED ({len(result.failures)})"
        print(
            f"-- case {result.case_id}: {len(result.history)} events, {queued} notifications "
            f"queued, expectations {verdict}\n"
        )
        if not result.passed:
            status = 1
    return status


def _demo(args: argparse.Namespace) -> int:
    from svcflow.demo import run_demo
    from svcflow.report import build_report, render_html, render_text

    try:
        from svcflow_console import ConsoleNotifier
    except ImportError:
        print(
            "error: the demo prints notifications with the console notifier; install it with "
            "pip install -e plugins/svcflow-console",
            file=sys.stderr,
        )
        return 1
    database = _fresh_sqlite(args.store)
    base = (database or Path("svcflow-demo")).with_suffix("")
    log_path = base.with_name(base.name + "-notifications.log")
    began = time.perf_counter()
    print(
        f"svcflow demo: a week of service traffic, {args.contacts:,} contacts on every channel "
        f"and one crisis, through the workflows in {args.workflows}/ (seed {args.seed})"
    )
    bar = _ProgressBar(sys.stdout)
    with log_path.open("w", encoding="utf-8") as log:
        summary = run_demo(
            args.workflows,
            args.store,
            contacts=args.contacts,
            days=args.days,
            seed=args.seed,
            plugins=[ConsoleNotifier(log, channels=DEMO_CHANNELS)],
            directory=DEMO_DIRECTORY,
            progress=bar.show,
        )
    bar.finish()
    elapsed = time.perf_counter() - began
    started = ", ".join(f"{count:,} {name}" for name, count in sorted(summary.cases.items()))
    print(
        f"  {summary.events:,} events ({summary.timers_fired:,} fired by timers) in "
        f"{elapsed:.1f} s; simulated {summary.simulated_from:%a %d %b} to "
        f"{summary.simulated_until:%a %d %b %Y}"
    )
    print(f"  cases started: {started}")
    print(
        f"  notifications: {summary.delivered:,} delivered by the console notifier"
        + (f", {summary.undelivered:,} undelivered" if summary.undelivered else "")
    )
    report = build_report(args.store)
    print()
    print(render_text(report))
    html_path = base.with_name(base.name + "-report.html")
    json_path = base.with_name(base.name + "-report.json")
    html_path.write_text(render_html(report), encoding="utf-8")
    json_path.write_text(report.to_json(), encoding="utf-8")
    print("Files:")
    if database:
        print(f"  store         {database.resolve()}  (svcflow report --store {args.store})")
    print(f"  report        {html_path.resolve()}  (open in a browser)")
    print(f"  report data   {json_path.resolve()}")
    print(f"  notifications {log_path.resolve()}")
    return 0


DEMO_CHANNELS = ("console", "sms", "email", "chat", "social", "app", "vip_line")
"""The channels the demo's console notifier stands in for: nothing leaves the machine."""

DEMO_DIRECTORY = {
    role: f"console:{role}"
    for role in (
        "customer",
        "team_lead",
        "service_manager",
        "director",
        "executive",
        "account_manager",
        "crisis_team",
        "legal",
        "pr",
    )
}
"""Every role the shipped workflows notify, printed under its own name."""


class _ProgressBar:
    """A one-line progress bar on a terminal; ten plain lines when output is not a terminal."""

    width = 40

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.interactive = stream.isatty()
        self.shown = -1

    def show(self, done: float, now: datetime, cases: int) -> None:
        filled = int(self.width * done)
        if filled == self.shown:
            return
        self.shown = filled
        line = (
            f"  [{'#' * filled}{'.' * (self.width - filled)}] {done:4.0%}  "
            f"{now:%a %d %b %H:%M} UTC  {cases:,} cases"
        )
        if self.interactive:
            self.stream.write("\r" + line)
        elif filled % 4 == 0:
            self.stream.write(line + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()


def _fresh_sqlite(url: str) -> Path | None:
    parts = urlsplit(url)
    if parts.scheme != "sqlite":
        return None
    path = Path(parts.path[1:])
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def _write(text: str, output: str | None) -> None:
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="svcflow", description="Customer-service workflows, SLAs and escalations."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    _definition_commands(commands)
    _running_commands(commands)
    return parser


Commands = argparse._SubParsersAction  # the type add_subparsers returns


def _definition_commands(commands: Commands[argparse.ArgumentParser]) -> None:
    """validate, graph, decide, schema: commands that read definition files."""
    validate = commands.add_parser("validate", help="check workflow files; print every problem")
    validate.add_argument("paths", nargs="+", help="files or directories")
    validate.set_defaults(run=_validate)

    graph = commands.add_parser(
        "graph", help="print a Mermaid diagram of a workflow, or a rules file's tables as Markdown"
    )
    graph.add_argument("file")
    graph.add_argument("--table", help="print this table of the file as Markdown")
    graph.add_argument("-o", "--output", help="write to this file instead of stdout")
    graph.set_defaults(run=_graph)

    decide = commands.add_parser("decide", help="evaluate a decision table and say why")
    decide.add_argument("table", help="the table's name")
    decide.add_argument(
        "--input", nargs="+", action="extend", metavar="NAME=VALUE", help="a value it reads"
    )
    decide.add_argument(
        "--rules", default="workflows", help="a rules or workflow file, or a directory of them"
    )
    decide.set_defaults(run=_decide)

    schema = commands.add_parser("schema", help="print the JSON Schema of workflow files")
    schema.add_argument("-o", "--output", help="write to this file instead of stdout")
    schema.set_defaults(run=_schema)


def _running_commands(commands: Commands[argparse.ArgumentParser]) -> None:
    """simulate, demo, report, plugins: commands that run cases or read a store."""
    simulate = commands.add_parser("simulate", help="dry-run scenarios on a manual clock")
    simulate.add_argument("file", help="the workflow file")
    simulate.add_argument(
        "--scenario", action="append", required=True, help="a scenario file (repeatable)"
    )
    simulate.add_argument(
        "--store", default="memory://", help="store URL (default memory://, nothing is kept)"
    )
    simulate.set_defaults(run=_simulate)

    demo = commands.add_parser(
        "demo", help="simulate a week of service traffic on a SQLite store, then report on it"
    )
    demo.add_argument("--workflows", default="workflows", help="workflow directory")
    demo.add_argument(
        "--store",
        default="sqlite:///svcflow-demo.db",
        help="store URL; an existing SQLite demo file is replaced",
    )
    demo.add_argument("--contacts", type=int, default=3000, help="contacts in the week")
    demo.add_argument("--days", type=int, default=7)
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(run=_demo)

    report = commands.add_parser(
        "report", help="KPI report from a store's history: terminal table, JSON or HTML"
    )
    report.add_argument(
        "--store",
        default="sqlite:///svcflow-demo.db",
        help="store URL (default sqlite:///svcflow-demo.db, what svcflow demo writes)",
    )
    report.add_argument("--format", choices=("text", "json", "html"), default="text")
    report.add_argument("-o", "--output", help="write to this file instead of stdout")
    report.set_defaults(run=_report)

    plugins = commands.add_parser(
        "plugins", help="list the loaded plugins, the hooks each implements and their channels"
    )
    plugins.add_argument("--plugins-dir", help="also load the *.py plugins in this directory")
    plugins.set_defaults(run=_plugins)


def _report(args: argparse.Namespace) -> int:
    from svcflow.report import build_report, render_html, render_text

    report = build_report(args.store)
    if args.format == "json":
        text = report.to_json()
    else:
        text = render_html(report) if args.format == "html" else render_text(report)
    _write(text, args.output)
    if args.output:
        print(f"{args.format} report of {report.cases} cases written to {args.output}")
    return 0


def _plugins(args: argparse.Namespace) -> int:
    from svcflow.engine import build_plugin_host

    host = build_plugin_host(plugins_dir=args.plugins_dir)
    try:
        for info in host.plugins():
            print(f"{info.name}  ({info.source})")
            print(f"  hooks: {', '.join(info.hooks)}")
            for channel in info.channels:
                ways = [way for way in ("inbound", "outbound") if getattr(channel, way)]
                print(f"  channel {channel.name} ({', '.join(ways)}): {channel.description}")
        if host.blocked:
            print(f"blocked: {', '.join(sorted(host.blocked))}")
        print(f"inbound channels: {', '.join(host.inbound_channels) or '(none)'}")
        print(f"outbound channels: {', '.join(host.outbound_channels) or '(none)'}")
    finally:
        host.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command in ("validate", "simulate"):  # workflows may use plugin extensions
            from svcflow.engine import build_plugin_host
            from svcflow.spec.extensions import using_extensions

            with using_extensions(build_plugin_host().extensions()):
                return int(args.run(args))
        return int(args.run(args))
    except SvcflowError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
