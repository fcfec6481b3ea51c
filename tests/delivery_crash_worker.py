"""Child process of ``tests/test_delivery_crash.py``: one outbox dispatcher on a shared store.

Usage: ``python tests/delivery_crash_worker.py STORE_URL WORKFLOW_FILE NOW HOOK_URL``

Opens an :class:`~svcflow.Engine` on STORE_URL (a SQLite file or a PostgreSQL database) with a fixed
:class:`~svcflow.ManualClock` at NOW and the real ``svcflow-webhook`` plugin (no other installed
plugin), the ``team_lead`` role pointing at HOOK_URL, prints ``READY`` and calls ``dispatch()``
once; prints ``DONE <delivered>`` after. The parent SIGKILLs it while the webhook server holds one
delivery open.

This is not a test module (no ``test_`` prefix).
"""

from __future__ import annotations

import sys

from svcflow_webhook import WebhookNotifier

from svcflow import Engine, ManualClock, load_workflow_text

SECRET = "crash-test-secret"


def engine_for(store_url: str, workflow_file: str, now: str, hook_url: str) -> Engine:
    """The engine both the worker and the parent's restarted dispatcher use."""
    with open(workflow_file, encoding="utf-8") as source:
        loaded = load_workflow_text(source.read(), workflow_file)
    return Engine(
        [loaded],
        store_url,
        ManualClock(now),
        plugins=[("webhook", WebhookNotifier(SECRET, timeout=60.0))],
        load_plugins=False,
        directory={"team_lead": {"address": hook_url, "channel": "webhook", "name": "Lea"}},
    )


def main() -> None:
    store_url, workflow_file, now, hook_url = sys.argv[1:5]
    engine = engine_for(store_url, workflow_file, now, hook_url)
    print("READY", flush=True)
    report = engine.dispatch()
    print(f"DONE {len(report.delivered)}", flush=True)
    engine.close()


if __name__ == "__main__":
    main()
