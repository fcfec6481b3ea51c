"""What the issue-13 hostile payloads cost now that intake limits refuse them.

Each payload is ingested into a fresh SQLite engine in a fresh process (so the peak RSS is
this payload's): a 100 MiB e-mail, an e-mail whose ``References:`` names 40,000 ids, a chat
JSON document with 100,000 extra keys. Prints the wall time of ``ingest`` (refused), the
process's peak RSS and the store file's size. Before the limits (issue 13): 24 s, 1.4 GiB RSS
and 500 MiB of store; 40,001 thread rows; 8.7 s of CPU.
Run: ``python benches/bench_intake_limits.py``.
"""

from __future__ import annotations

import contextlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKFLOW = Path(__file__).resolve().parents[1] / "tests"


def one(kind: str) -> None:
    sys.path.insert(0, str(WORKFLOW))
    from svcflow.clock import ManualClock
    from svcflow.definitions.workflow import load_workflow_text
    from svcflow.engine import Engine
    from svcflow.errors import MessageRejected
    from svcflow.testing import START
    from test_intake import FIRST_EMAIL, INTAKE

    if kind == "mail-100MiB":
        channel, raw = "email", FIRST_EMAIL + b"x" * (100 * 1024 * 1024)
    elif kind == "references-40k":
        refs = " ".join(f"<r{n}@example.com>" for n in range(40_000))
        channel = "email"
        raw = FIRST_EMAIL.replace(b"Message-ID:", f"References: {refs}\nMessage-ID:".encode())
    else:
        channel = "chat"
        document = {"conversation_id": "c", "message_id": "m", "from": "u", "text": "hi"}
        raw = json.dumps({**document, "extra": {f"k{n}": n for n in range(100_000)}}).encode()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cases.db"
        workflow = load_workflow_text(INTAKE, "<bench>")
        with Engine([workflow], f"sqlite:///{path}", ManualClock(START), load_plugins=False) as e:
            began = time.perf_counter()
            with contextlib.suppress(MessageRejected):
                e.ingest(channel, raw)
            took = time.perf_counter() - began
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        size = path.stat().st_size / 1024
        print(f"{kind:16} {took * 1000:8.1f} ms  peak RSS {rss:6.0f} MiB  store {size:6.0f} KiB")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        one(sys.argv[1])
    else:
        for kind in ("mail-100MiB", "references-40k", "json-100k-keys"):
            subprocess.run([sys.executable, __file__, kind], check=True)
