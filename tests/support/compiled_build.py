"""The test lane of the build compiled with mypyc: build it as a user would, then run the tests
that pin behaviour down (goldens, crash tests, stores) against it.

``python -m build --sdist`` makes the source distribution from a copy of this checkout (the
copy keeps build files out of the checkout the rest of the suite reads), and
``SVCFLOW_COMPILE=1 pip wheel`` builds the wheel from it, as ``SVCFLOW_COMPILE=1 pip install
svcflow`` does from the package index, in pip's isolated build environment, into which
svcflow's build backend brings mypy. The wheel
is installed with ``pip install --target`` into a directory put first on ``PYTHONPATH``, so that
the test run below (and every worker process it starts) imports the compiled svcflow instead of
the checkout's sources. Compiling takes a minute or two, so :func:`start` runs all of it in the
background as soon as the session knows the lane is wanted (``tests/conftest.py``), and the
lane's test waits for it at the end.

Run alone, from ``tests/``: ``python -m support.compiled_build DIRECTORY``; the exit status is
the lane's.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from support.sources import copy_build_sources
from support.workflows import ROOT

LANE_TESTS = (
    "tests/test_same_results.py",
    "tests/test_shipped_workflows.py",
    "tests/test_report.py",
    "tests/test_crash.py",
    "tests/test_runner_crash.py",
    "tests/test_delivery_crash.py",
    "tests/test_postgres_crash.py",
    "tests/test_store_conformance.py",
    "tests/test_sqlite_store.py",
    "tests/test_concurrency.py",
    "tests/test_batches.py",
    "tests/test_sla_lifecycle.py",
    "tests/test_escalation_lifecycle.py",
    "tests/test_authority.py",
)
"""The tests run against the compiled build: the byte-identical goldens (scenarios, simulation
and report), the crash tests, the stores' conformance and batches on all three kinds, and the
SLA, escalation and authority paths the compiled modules carry."""


INSIDE = "SVCFLOW_COMPILED_LANE"
"""Set in the lane's own test run, which never starts a lane of its own."""


def compiled_modules() -> tuple[str, ...]:
    """The module names pyproject.toml's ``[tool.svcflow.compiled]`` lists
    (``build_backend/compiled_modules.py`` reads it for the build)."""
    sys.path.insert(0, str(ROOT / "build_backend"))
    try:
        from compiled_modules import compiled_names
    finally:
        sys.path.remove(str(ROOT / "build_backend"))
    return tuple(compiled_names())


def compiled(module: ModuleType) -> bool:
    """Whether ``module`` was imported from a C extension: the compiled build's. A test that
    replaces a module's function to count the module's own calls to it does not run there,
    because compiled code calls it directly, not through the module."""
    return (module.__file__ or "").endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


def _run(*command: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> None:
    """Run a step of the lane, its output into the lane's; a failed step raises."""
    print(f"$ {' '.join(command)}", flush=True)
    subprocess.run(command, check=True, env=env, cwd=cwd)


def lane(directory: Path) -> int:
    """Build, install and test the compiled build in ``directory``; the tests' exit status.
    Everything goes to standard output (the log :class:`Lane` keeps)."""
    source, sdists = directory / "source", directory / "sdist"
    wheels, site = directory / "wheel", directory / "site"
    copy_build_sources(source)
    _run(sys.executable, "-m", "build", "--sdist", "--outdir", str(sdists), cwd=source)
    (sdist,) = sdists.glob("svcflow-*.tar.gz")
    pip = (sys.executable, "-m", "pip", "--disable-pip-version-check")
    compiling = {**os.environ, "SVCFLOW_COMPILE": "1"}
    wheel_from = ("wheel", "--no-deps", "--no-cache-dir", "-w", str(wheels), str(sdist))
    _run(*pip, *wheel_from, env=compiling)  # (pip's cache keys a built wheel by the sdist alone)
    (wheel,) = wheels.glob("svcflow-*.whl")
    _run(*pip, "install", "--no-deps", "--target", str(site), str(wheel))
    testing = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT / "tests")])}
    testing.pop("SVCFLOW_COMPILE", None)
    testing[INSIDE] = "1"
    _run(sys.executable, "-m", "support.compiled_build", "--check", env=testing)
    print(f"$ pytest {' '.join(LANE_TESTS)}", flush=True)
    tested = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *LANE_TESTS],
        env=testing,
        cwd=ROOT,
        check=False,
    )
    return tested.returncode


@dataclass
class Lane:
    """The lane running in the background: its process and the file its output goes to."""

    process: subprocess.Popen[bytes]
    log: Path

    def wait(self, timeout: float) -> tuple[int, str]:
        """The lane's exit status and output, once it has finished."""
        try:
            status = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            status = -1
        return status, self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        """Stop the lane and everything it started (pip, the compiler, the tests): interrupted
        first, as Ctrl-C would, so that its tests stop the PostgreSQL servers they started
        (which run in sessions of their own); killed if that takes more than 30 s."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def start(directory: Path) -> Lane:
    """:func:`lane` in a process of its own (and its own process group, for :meth:`Lane.stop`)."""
    log = directory / "lane.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "support.compiled_build", str(directory)],
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=ROOT / "tests",
            start_new_session=True,
        )
    return Lane(process, log)


def check() -> int:
    """Say how many of the compiled modules this process imports from extensions, and from
    where; 1 unless all of them."""
    names = compiled_modules()
    modules = [importlib.import_module(name) for name in names]
    done = sum(compiled(module) for module in modules)
    print(
        f"{done} of {len(names)} modules compiled, from",
        importlib.import_module("svcflow").__file__,
    )
    return 0 if done == len(names) else 1


if __name__ == "__main__":
    if sys.argv[1] == "--check":
        raise SystemExit(check())
    try:
        raise SystemExit(lane(Path(sys.argv[1])))
    except subprocess.CalledProcessError as failed:
        print(f"lane step failed with status {failed.returncode}: {failed.cmd}", flush=True)
        raise SystemExit(2) from None
