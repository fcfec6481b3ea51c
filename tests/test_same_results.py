"""The event path may get faster, never different: a seeded demo gives byte-identical results.

The golden files were written by the code before the performance work of issue 16: the KPI
report's JSON for a short demo (seed 7) and a digest of everything the store holds afterwards,
read back through the public store API (every case, its history entries with their details,
timers, notifications and outbox rows), on SQLite. Any change in what a
step does, records or schedules changes one of them.

Regenerate (only for an intended behaviour change, saying so in the changelog):
``python tests/test_same_results.py``.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

from support.workflows import WORKFLOWS
from svcflow import Engine
from svcflow.demo.run import run_demo
from svcflow.records import plain
from svcflow.report import build_report
from svcflow.store.base import Store

GOLDEN = Path(__file__).parent / "fixtures" / "golden"
CONTACTS, DAYS, SEED = 300, 2, 7


def store_dump(store: Store) -> str:
    """Everything a reader can get from the store, as canonical JSON text."""
    cases = []
    for case in store.find_cases():
        cases.append(
            {
                "case": plain(case._asdict()),
                "history": [plain(entry._asdict()) for entry in store.history(case.id)],
                "timers": [
                    {k: v for k, v in plain(t._asdict()).items() if k != "id"}
                    for t in store.timers(case.id)
                ],
                "notifications": [
                    {k: v for k, v in plain(n._asdict()).items() if k != "id"}
                    for n in store.notifications(case_id=case.id)
                ],
                "outbox": [
                    {k: v for k, v in plain(o._asdict()).items() if k != "id"}
                    for o in store.outbox(case_id=case.id)
                ],
            }
        )
    return json.dumps(cases, sort_keys=True, default=str, indent=1)


def results(path: Path) -> tuple[str, str]:
    """The report's JSON and the store dump after the seeded demo on a SQLite file."""
    url = f"sqlite:///{path}"
    run_demo(WORKFLOWS, url, contacts=CONTACTS, days=DAYS, seed=SEED)
    with Engine.from_directory(WORKFLOWS, store=url, load_plugins=False) as engine:
        return build_report(engine.store).to_json(), store_dump(engine.store)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_a_seeded_demo_gives_the_report_and_store_contents_it_always_gave(tmp_path: Path) -> None:
    report, dump = results(tmp_path / "demo.db")
    (tmp_path / "report.json").write_text(report)  # kept for a diff when this fails
    (tmp_path / "dump.json").write_text(dump)
    assert report == (GOLDEN / "demo_report.json").read_text()
    assert digest(dump) == (GOLDEN / "demo_store.sha256").read_text().strip()


def main() -> None:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as temporary:
        report, dump = results(Path(temporary) / "demo.db")
    (GOLDEN / "demo_report.json").write_text(report)
    (GOLDEN / "demo_store.sha256").write_text(digest(dump) + "\n")


if __name__ == "__main__":
    main()
