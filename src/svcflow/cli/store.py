"""timers, migrate-cases, purge, erase-customer: the commands that look after a running store."""

from __future__ import annotations

import argparse

__all__ = ["run_erase_customer", "run_migrate_cases", "run_purge", "run_timers"]


def run_timers(args: argparse.Namespace) -> int:
    """List the timers parked as failed, or release one (``--retry``) or all of them."""
    from svcflow.engine.timers import release_failed, release_failed_timers
    from svcflow.store.registry import open_store

    store = open_store(args.store)
    try:
        if args.retry is not None or args.retry_all:
            released = (
                [release_failed(store, args.retry)]
                if args.retry is not None
                else release_failed_timers(store)
            )
            print(f"released {_count(len(released), 'failed timer')}")
            return 0
        failed = store.failed_timers()
        for timer in failed:
            print(
                f"{timer.id}  case {timer.case_id}  {timer.trigger}  "
                f"due {timer.due_at.isoformat()}  attempts {timer.attempts}"
            )
            print(f"    {timer.last_error}")
        hint = "; release with --retry ID or --retry-all after fixing the cause" if failed else ""
        print(f"{_count(len(failed), 'failed timer')}{hint}")
        return 0
    finally:
        store.close()


def run_migrate_cases(args: argparse.Namespace) -> int:
    """Move running cases to another workflow version as a plan says (or show what would)."""
    from svcflow.engine import Engine

    with Engine.from_directory(args.workflows, store=args.store) as engine:
        report = engine.migrate_cases(args.plan, dry_run=args.dry_run, actor=args.actor)
    verb = "would move" if report.dry_run else "moved"
    print(
        f"{verb} {_count(len(report.moved), 'case')} of {report.workflow} from "
        f"v{report.source} to v{report.target}; {len(report.unmovable)} cannot move; "
        f"{report.finished} already finished"
    )
    for moved in report.moved:
        deadlines = "".join(
            f"  {metric} due {'(paused)' if due is None else f'{due:%Y-%m-%d %H:%M} UTC'}"
            for metric, due in moved.deadlines.items()
        )
        print(f"  {moved.case_id}  {moved.from_state} -> {moved.to_state}{deadlines}")
    for stuck in report.unmovable:
        print(f"  cannot move {stuck.case_id} ({stuck.state}): {stuck.reason}")
    return 0


def run_purge(args: argparse.Namespace) -> int:
    """Delete closed cases past their workflow's ``retention:`` and dead letters older than
    ``--dead-letters-days`` (or, with ``--dry-run``, count them)."""
    from datetime import timedelta

    from svcflow.engine import Engine

    with Engine.from_directory(args.workflows, store=args.store) as engine:
        report = engine.purge(
            dead_letters_older_than=timedelta(days=args.dead_letters_days), dry_run=args.dry_run
        )
    verb = "would delete" if report.dry_run else "deleted"
    print(
        f"{verb} {_count(len(report.cases), 'closed case')} and "
        f"{_count(report.dead_letters, 'dead letter')}"
    )
    for case_id in report.cases:
        print(f"  {case_id}")
    return 0


def run_erase_customer(args: argparse.Namespace) -> int:
    """Erase one customer's personal data (``Engine.erase_customer``) and say what changed."""
    from svcflow.engine import Engine

    with Engine.from_directory(args.workflows, store=args.store) as engine:
        report = engine.erase_customer(args.customer_id, actor=args.actor)
    print(
        f"erased customer {report.customer_id}: {_count(len(report.cases), 'case')}, "
        f"{_count(report.history_entries, 'history entry', 'history entries')} redacted, "
        f"{_count(report.messages, 'message')} deleted, "
        f"{_count(report.dead_letters, 'dead letter')} erased"
    )
    if report.plugins_failed:
        print(
            f"  plugins that failed to erase their copies: {', '.join(report.plugins_failed)} "
            "(see the log; erase them there)"
        )
    for case_id in report.cases:
        print(f"  {case_id}")
    return 1 if report.plugins_failed else 0


def _count(number: int, noun: str, plural: str | None = None) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {plural or noun + 's'}"
