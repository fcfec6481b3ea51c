"""simulate, report, plugins: the commands that run scenarios or read a store or plugins."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from svcflow.cli.output import write
from svcflow.definitions import calendars_beside
from svcflow.definitions.workflow import load_workflow_file

if TYPE_CHECKING:
    from svcflow.spec.kpi import KpiSpec

__all__ = ["run_plugins", "run_report", "run_simulate", "workflow_kpis"]


def run_simulate(args: argparse.Namespace) -> int:
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


def run_report(args: argparse.Namespace) -> int:
    from svcflow.report import build_report, render_html, render_text

    report = build_report(args.store, kpi=workflow_kpis(args.workflows))
    if args.format == "json":
        text = report.to_json()
    else:
        render = render_html if args.format == "html" else render_text
        text = render(report, lang=args.lang)
    write(text, args.output)
    if args.output:
        print(f"{args.format} report of {report.cases} cases written to {args.output}")
    return 0


def run_plugins(args: argparse.Namespace) -> int:
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


def workflow_kpis(folder: str | None) -> dict[str, KpiSpec]:
    """The ``kpi:`` sections of the workflows in ``folder`` (none without a folder: the report
    then uses its defaults)."""
    from svcflow.definitions import load_definitions
    from svcflow.report.collect import kpi_sections

    if folder is None:
        return {}
    return kpi_sections(loaded.spec for loaded in load_definitions(folder).workflows)
