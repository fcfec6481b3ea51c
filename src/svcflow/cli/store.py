"""timers: the commands that look after a running store."""

from __future__ import annotations

import argparse

__all__ = ["run_timers"]


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


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
