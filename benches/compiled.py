"""The compiled build against the pure one: kIr an event, counted in the same run.

svcflow is pure Python, and ``benches/sql_floor.py`` shows that most of an event on SQLite is
svcflow's own Python above the statements. ``SVCFLOW_COMPILE=1 pip install .`` builds svcflow
with the modules pyproject.toml lists under ``[tool.svcflow.compiled]`` compiled by mypyc into C
extensions that import in place of the ``.py`` files (docs/performance.md, "The compiled
build"). This bench counts what that gives, without installing anything:

1. copies ``src/`` to a temporary directory and runs ``mypyc`` there on :data:`MODULES` (the
   same modules as the build; ``--modules`` tries others; C compiler and Python headers
   needed);
2. runs ``ir.py``'s instruction count (cachegrind, N against 2N cases after the same start-up)
   for each variant twice in the same run: on ``src/`` (pure) and on the compiled copy.

For wall time, run ``ir.py`` itself with the compiled build installed (it says which build it
measured).

Run (a few minutes: compiling takes about a minute, valgrind the rest)::

    nice -n 19 python benches/compiled.py --cases 40
    nice -n 19 python benches/compiled.py --cases 40 --modules svcflow/sla/encoding.py
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "build_backend"))

import ir  # noqa: E402
from compiled_modules import compiled_paths  # noqa: E402

MODULES: tuple[str, ...] = tuple(compiled_paths())
"""The modules the compiled build compiles (pyproject.toml, ``[tool.svcflow.compiled]``): the
event path's modules that mypyc compiles as they are. Left out: ``core/effects.py`` (compiled,
``object.__new__`` of its ``StepResult`` is refused), ``clock.py`` (a runtime ``Protocol``),
``engine/timers.py`` and ``store/query.py`` (they subclass builtin types)."""


def compile_copy(tmp: Path, modules: list[str]) -> Path:
    """A copy of ``src/`` with ``modules`` compiled by mypyc in it; its path."""
    copy = tmp / "src"
    shutil.copytree(ROOT / "src", copy, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    mypyc = Path(sys.executable).with_name("mypyc")
    if not mypyc.exists():
        raise SystemExit(f"no {mypyc}: install mypy (pip install -r requirements-test.txt)")
    done = subprocess.run(
        [str(mypyc), *modules], cwd=copy, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"mypyc failed:\n{(done.stdout + done.stderr)[-4000:]}")
    return copy


def kir(variant: str, cases: int, label: str, source: Path, tmp: Path) -> int:
    """Total instructions of ``ir.py``'s child running ``cases`` cases on ``source``."""
    out = tmp / f"cachegrind.{variant}.{cases}.{label}"
    command = [sys.executable, str(HERE / "ir.py"), "--child", variant, "--cases", str(cases)]
    return ir._count(*command, out=out, path=source)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=40, help="N of the N vs 2N runs")
    parser.add_argument(
        "--variants",
        nargs="+",
        default=["bare", "memory_shipped", "sqlite_shipped"],
        choices=list(ir.VARIANTS),
    )
    parser.add_argument("--modules", nargs="+", default=list(MODULES), help="what to compile")
    parser.add_argument("--jobs", type=int, default=2, help="valgrind runs at a time")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="svcflow-compiled-") as temporary:
        tmp = Path(temporary)
        sources = {"pure": ROOT / "src", "compiled": compile_copy(tmp, args.modules)}
        runs = [
            (variant, n, label)
            for variant in args.variants
            for label in sources
            for n in (args.cases, 2 * args.cases)
        ]
        with ThreadPoolExecutor(args.jobs) as pool:
            found = pool.map(lambda run: kir(*run, sources[run[2]], tmp), runs)
            counts = dict(zip(runs, found, strict=True))
    events = args.cases * ir.EVENTS

    def per_event(variant: str, label: str) -> float:
        more, fewer = counts[variant, 2 * args.cases, label], counts[variant, args.cases, label]
        return (more - fewer) / events / 1000

    bare = per_event("bare", "pure") if "bare" in args.variants else None
    print(f"commit {ir.commit()}, {args.cases} vs {2 * args.cases} cases; compiled with mypyc:")
    print("  " + " ".join(args.modules))
    print("\n| variant | pure kIr/event | compiled kIr/event | compiled x bare |")
    print("|---|---:|---:|---:|")
    for variant in args.variants:
        ratio = "" if bare is None else f"{per_event(variant, 'compiled') / bare:.2f}"
        print(
            f"| {ir.VARIANTS[variant]} | {per_event(variant, 'pure'):,.1f} | "
            f"{per_event(variant, 'compiled'):,.1f} | {ratio} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
