"""The long soak: the suite's soak run (``tests/soak.py``) with many more operations and
several SIGKILLed writers first, then the same invariant audit; prints what it saw and how
long it took. Run: ``python benches/bench_soak.py [--operations 20000] [--kills 5] [--seed 7]``.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS))

from soak import audit, run, soak_engine  # noqa: E402
from svcflow import ManualClock  # noqa: E402
from svcflow.testing import START  # noqa: E402
from test_crash import _run_and_kill  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--operations", type=int, default=20_000)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        database = root / "soak.db"
        for kill in range(args.kills):
            journal, log = root / f"journal-{kill}", root / f"worker-{kill}.log"
            _run_and_kill(database, journal, args.seed + kill, rng.randint(5, 80), rng, log)
        clock = ManualClock(START)
        started = time.perf_counter()
        with soak_engine(root, f"sqlite:///{database}", clock, rng) as engine:
            ledger = run(engine, clock, rng, args.operations)
            ran = time.perf_counter() - started
            seen = audit(engine, ledger, database)
        size = database.stat().st_size
    print(f"soak: {args.operations:,} operations in {ran:.1f} s ({args.operations / ran:,.0f}/s)")
    for name, value in seen.items():
        print(f"  {name}: {value:,}")
    print(f"  store: {size / 1024 / 1024:.1f} MiB; audit passed")


if __name__ == "__main__":
    main()
