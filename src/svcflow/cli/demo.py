"""``svcflow demo``: seeded service traffic through the shipped workflows, then the KPI report."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from svcflow.demo.run import SETTLE, DemoSummary
from svcflow.demo.traffic import WEEK_START

__all__ = ["DEMO_CHANNELS", "DEMO_DIRECTORY", "console_notifier", "run_demo_command"]


def run_demo_command(args: argparse.Namespace) -> int:
    from svcflow.cli.running import workflow_kpis
    from svcflow.demo import run_demo
    from svcflow.report import build_report, render_html, render_text

    ConsoleNotifier = console_notifier()
    if ConsoleNotifier is None:
        return 1
    database = _fresh_sqlite(args.store)
    base = (database or Path("svcflow-demo")).with_suffix("")
    log_path = base.with_name(base.name + "-notifications.log")
    began = time.perf_counter()
    print(
        f"svcflow demo: {args.contacts:,} contacts on every channel over {args.days} days from "
        f"{WEEK_START:%a %d %b %Y %H:%M} UTC, plus a crisis on Wednesday and the complaints "
        f"that follow it (seed {args.seed})\n  workflows: {args.workflows}"
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
    _print_summary(summary, args.contacts, args.days, elapsed)
    print(
        f"  notifications: {summary.delivered:,} delivered by the console notifier"
        + (f", {summary.undelivered:,} undelivered" if summary.undelivered else "")
    )
    report = build_report(args.store, kpi=workflow_kpis(args.workflows))
    print("\n" + render_text(report))
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


def console_notifier() -> Any:
    """The console notifier's class (the demo prints notifications with it), or ``None`` after
    saying on stderr how to install it."""
    try:
        from svcflow_console import ConsoleNotifier
    except ImportError:
        print(
            "error: the demo prints notifications with the console notifier; install it with "
            "pip install svcflow-console (in a checkout: pip install -e plugins/svcflow-console)",
            file=sys.stderr,
        )
        return None
    return ConsoleNotifier


def _print_summary(summary: DemoSummary, contacts: int, days: int, elapsed: float) -> None:
    """Say what the numbers are: which period was simulated and why it is longer than the
    days of traffic, and where the cases beyond one per contact came from."""
    started = ", ".join(f"{count:,} {name}" for name, count in sorted(summary.cases.items()))
    total = sum(summary.cases.values())
    surge = summary.arrivals - contacts - summary.cases["crisis"]
    print(
        f"  {summary.events:,} events ({summary.timers_fired:,} fired by timers) in "
        f"{elapsed:.1f} s; simulated {summary.simulated_from:%a %d %b} to "
        f"{summary.simulated_until:%a %d %b %Y}: {days} days of contacts, then up to "
        f"{SETTLE.days} more days in which open cases' timers run until they close"
    )
    print(
        f"  cases started: {total:,} = {contacts:,} contacts + {summary.cases['crisis']} crisis "
        f"+ {surge:,} complaints after the crisis + {total - summary.arrivals:,} opened by the "
        f"workflows (escalations, revisits, retention callbacks); by workflow: {started}"
    )


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
        "retention_team",
        "care_team",
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
