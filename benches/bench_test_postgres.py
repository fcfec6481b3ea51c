"""What the test suite's throwaway PostgreSQL server costs (``tests/support/postgres.py``).

Measures finding (or, when missing and allowed, installing) the server binaries, a cluster's
start (``initdb``, ``pg_ctl start -w``, the first database), one fresh empty database per test
(``CREATE DATABASE ... TEMPLATE template0``) and its drop, and the stop (fast shutdown, files
removed). Run: ``python benches/bench_test_postgres.py [--clusters 3] [--databases 20]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.postgres import TemporaryCluster, find_binaries, server_binaries


def report(label: str, seconds: list[float]) -> None:
    milliseconds = sorted(1000 * value for value in seconds)
    print(
        f"{label:<34} best {milliseconds[0]:7.1f} ms  median {statistics.median(milliseconds):7.1f}"
        f" ms  worst {milliseconds[-1]:7.1f} ms  (n={len(milliseconds)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clusters", type=int, default=3)
    parser.add_argument("--databases", type=int, default=20)
    options = parser.parse_args()

    present = find_binaries() is not None
    began = time.perf_counter()
    binaries = server_binaries()
    found = time.perf_counter() - began
    what = "found" if present else "installed Debian's postgresql package:"
    print(f"{what} {binaries} in {found:.1f} s")

    starts: list[float] = []
    creates: list[float] = []
    drops: list[float] = []
    stops: list[float] = []
    for _ in range(options.clusters):
        cluster = TemporaryCluster()
        began = time.perf_counter()
        cluster.start()
        starts.append(time.perf_counter() - began)
        for _ in range(options.databases):
            began = time.perf_counter()
            url = cluster.create_database()
            creates.append(time.perf_counter() - began)
            began = time.perf_counter()
            cluster.drop_database(url)
            drops.append(time.perf_counter() - began)
        began = time.perf_counter()
        cluster.stop()
        stops.append(time.perf_counter() - began)
    report("start (initdb, start, database)", starts)
    report("create an empty database", creates)
    report("drop it (WITH FORCE)", drops)
    report("stop (fast) and remove files", stops)


if __name__ == "__main__":
    main()
