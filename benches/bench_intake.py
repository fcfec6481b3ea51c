"""What intake and the outbox cost on the SQLite default: ``ingest`` of SMS messages that start
cases (each queueing one notification to the customer, rendered into the outbox in the same
transaction), replies threaded into those cases, and ``dispatch`` of the outbox to a delivery
plugin that records instead of sending. Compared with ``start`` of the same cases without a
message (what intake adds: parsing, dedupe and threading lookups, classification, the message
row). Run: ``python benches/bench_intake.py``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from svcflow import Engine, ManualClock, load_workflow_text
from svcflow.testing import CapturedDeliveries

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from test_intake import INTAKE

CASES = 2_000
GREETING = INTAKE.replace(
    "  received: {initial: true}",
    "  received:\n    initial: true\n"
    "    on_enter: [{notify: {template: complaint_received, to: customer}}]",
)


def engine(folder: str, name: str, captured: CapturedDeliveries) -> Engine:
    return Engine(
        [load_workflow_text(GREETING, "intake.yaml")],
        f"sqlite:///{folder}/{name}.db",
        ManualClock("2026-03-02T09:00:00+00:00"),
        plugins=[captured],
        load_plugins=False,
        directory={"customer": "+8613800000000"},
    )


def sms(number: int, text: str, suffix: str = "") -> dict[str, str]:
    return {"id": f"S{number}{suffix}", "from": f"+86138{number:08d}", "text": text}


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        captured = CapturedDeliveries()
        plain = engine(folder, "start", captured)
        began = time.perf_counter()
        for number in range(CASES):
            plain.start("complaint_intake", {"customer": f"+86138{number:08d}"})
        start_us = (time.perf_counter() - began) / CASES * 1e6
        plain.close()

        desk = engine(folder, "ingest", captured)
        began = time.perf_counter()
        cases = [desk.ingest("sms", sms(n, "快递三天没到，太差了")).case for n in range(CASES)]
        ingest_us = (time.perf_counter() - began) / CASES * 1e6
        for case in cases:
            desk.fire(case.id, "ask")
        began = time.perf_counter()
        for number in range(CASES):
            desk.ingest("sms", sms(number, "any news?", "-reply"))
        reply_us = (time.perf_counter() - began) / CASES * 1e6
        began = time.perf_counter()
        report = desk.dispatch()
        dispatch_us = (time.perf_counter() - began) / max(1, report.attempted) * 1e6
        desk.close()
    print(f"start without a message:        {start_us:8.1f} µs per case (SQLite)")
    ratio = ingest_us / start_us
    print(f"ingest that starts a case:      {ingest_us:8.1f} µs per message ({ratio:.2f}x)")
    print(f"ingest of a threaded reply:     {reply_us:8.1f} µs per message")
    count = report.attempted
    print(f"dispatch (recording plugin):    {dispatch_us:8.1f} µs per delivery, {count} delivered")


if __name__ == "__main__":
    main()
