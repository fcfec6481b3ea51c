"""Child process of ``tests/test_signal_crash.py``: commits an event that raises a signal, and
SIGKILLs itself between the commit and the signal's delivery.

Usage: ``python tests/signal_crash_worker.py STORE_URL CASE_ID [--no-kill]``

The engine runs the survey and retention workflows of the test on the store. A listener plugin's
``svcflow_case_transition`` runs after each commit and before the engine delivers the event's
signals; when the survey case is answered it sends this very process SIGKILL, so the answer is
committed and its signal pending, never delivered. With ``--no-kill`` the process finishes.
"""

from __future__ import annotations

import os
import signal
import sys

from svcflow import Case, Engine, HistoryEntry, ManualClock, hookimpl, load_workflow_text

NOW = "2026-03-02T09:00:00+00:00"

SURVEY = """\
workflow: survey
version: 1
title: Satisfaction survey
data:
  nps: integer
states:
  sent: {initial: true}
  answered: {final: true}
transitions:
  - {trigger: answer, from: sent, to: answered}
"""

RETENTION = """\
workflow: retention
version: 1
title: Retention callback
data:
  nps: integer
  source_case: string
states:
  callback_due: {initial: true}
  called: {final: true}
transitions:
  - {trigger: called_back, from: callback_due, to: called}
signals:
  - event: survey.answer
    when: payload.nps <= 6
    start: {nps: payload.nps, source_case: event.case_id}
"""


def engine_for(store: str, plugins: list[object] | None = None, now: str = NOW) -> Engine:
    workflows = [
        load_workflow_text(SURVEY, "survey.yaml"),
        load_workflow_text(RETENTION, "retention.yaml"),
    ]
    return Engine(workflows, store, ManualClock(now), plugins=plugins or [], load_plugins=False)


class KillAfterTheAnswer:
    @hookimpl
    def svcflow_case_transition(self, case: Case, entry: HistoryEntry) -> None:
        if entry.trigger == "answer":
            sys.stdout.write("COMMITTED\n")
            sys.stdout.flush()
            os.kill(os.getpid(), signal.SIGKILL)


def main(argv: list[str]) -> int:
    store, case_id = argv[:2]
    plugins: list[object] = [] if "--no-kill" in argv else [KillAfterTheAnswer()]
    with engine_for(store, plugins) as engine:
        engine.fire(case_id, "answer", {"nps": 3})
    sys.stdout.write("DONE\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
