"""``svcflow init DIR``: a working set to start from, copied from what ships with svcflow.

It writes ``DIR/workflows/`` (the shipped workflows, their rules files, notification templates,
the ``office`` business calendar and the ``greetings`` hours) and ``DIR/scenarios/`` (one
scenario), then says how to validate and simulate them. It refuses a directory that already has
files, so nothing a process owner has written is overwritten.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from svcflow.shipped import shipped_scenario, shipped_workflows

__all__ = ["run_init"]


def run_init(args: argparse.Namespace) -> int:
    target = Path(args.directory)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        what = "is a file" if not target.is_dir() else "already has files"
        print(
            f"error: {target} {what}; svcflow init writes only into a new or empty directory "
            "so that nothing is overwritten",
            file=sys.stderr,
        )
        return 1
    workflows, scenarios = target / "workflows", target / "scenarios"
    shutil.copytree(shipped_workflows(), workflows, ignore=shutil.ignore_patterns("__pycache__"))
    scenarios.mkdir(parents=True)
    scenario = scenarios / shipped_scenario().name
    shutil.copyfile(shipped_scenario(), scenario)
    files = sum(1 for path in target.rglob("*") if path.is_file())
    print(f"wrote {files} files to {target}/: workflows, rules, templates, calendars, a scenario")
    print("next:")
    print(f"  svcflow validate {workflows}")
    print(f"  svcflow simulate {workflows / 'complaint.yaml'} --scenario {scenario}")
    print(f"  svcflow demo --workflows {workflows}")
    return 0
