"""How long ``svcflow demo`` takes: the simulated week, then the KPI report from the store.

The issue's target is the whole demo in under a minute on a 2-core machine. This runs the same
week as the CLI (default 3,000 contacts, seed 7) on a temporary SQLite file, with the console
notifier writing to /dev/null, and times the simulation and each report step on its own.

    python benches/bench_demo.py [--contacts 3000] [--seed 7]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from svcflow_console import ConsoleNotifier

from svcflow.cli import DEMO_CHANNELS, DEMO_DIRECTORY
from svcflow.demo import run_demo
from svcflow.report import build_report, render_html, render_text

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="svcflow-demo-") as directory,
        open(os.devnull, "w", encoding="utf-8") as sink,
    ):
        store = f"sqlite:///{Path(directory) / 'demo.db'}"
        began = time.perf_counter()
        summary = run_demo(
            ROOT / "workflows",
            store,
            contacts=args.contacts,
            seed=args.seed,
            plugins=[ConsoleNotifier(sink, channels=DEMO_CHANNELS)],
            directory=DEMO_DIRECTORY,
        )
        simulated = time.perf_counter() - began
        began = time.perf_counter()
        report = build_report(store)
        built = time.perf_counter() - began
        began = time.perf_counter()
        render_text(report), render_html(report), report.to_json()
        rendered = time.perf_counter() - began
    cases = sum(summary.cases.values())
    print(
        f"week: {cases:,} cases, {summary.events:,} events, {summary.delivered:,} deliveries "
        f"in {simulated:.1f} s ({summary.events / simulated:,.0f} events/s including delivery)"
    )
    print(
        f"report: built from history in {built:.2f} s, rendered (text, HTML, JSON) in "
        f"{rendered * 1e3:.0f} ms"
    )
    print(f"demo total (without start-up): {simulated + built + rendered:.1f} s; target < 60 s")


if __name__ == "__main__":
    main()
