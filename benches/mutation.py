"""Mutation testing of the time-critical modules: mutmut per module, each against its own tests.

Run from the repository root, after ``pip install -e '.[test,mutation]'``::

    python benches/mutation.py                  # every module, then the score table
    python benches/mutation.py calendar sla     # some of them
    python benches/mutation.py --survivors outbox   # also show each surviving mutant's diff
    python benches/mutation.py --resume tables      # go on with a run that was stopped

A module's mutants are tested only against the test files listed for it in ``MODULES`` (the
one place to update when modules or tests move), so a module takes minutes, not the length of
the whole suite per mutant; an entry may name single tests (``file.py::test_name``) where only
they, of a file, are about the module. Each module starts from an empty ``mutants/`` folder,
because mutmut keeps one folder and its results depend on which tests ran; the folder of the
module run before is parked as ``mutants-<module>/`` and comes back for ``--resume`` (mutmut
saves each result as it comes, so a stopped run goes on where it stopped) and ``--only``
(re-run the mutants named, for instance the survivors after new tests). After a run, ``mutmut
show NAME`` and ``mutmut browse`` work on the last module run. Not part of CI: it takes tens of
minutes and its result is a score, not a pass or fail (docs/testing.md has the last table).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"
# Which module's run the mutants/ folder holds; another module's folder is parked next to it as
# mutants-<module>/ (mutmut 3 resets every result when the test selection changes, so one folder
# cannot serve two modules), and brought back for --resume or --only.
OWNER = "svcflow-module.txt"


# Tests parametrised over the three stores run on memory and SQLite only: the logic mutated
# here computes the same on every store, and pytest inside mutmut starts its session afresh for
# each mutant, so the PostgreSQL variants would start a throwaway server per mutant (seconds
# each) and leave it behind when mutmut kills a mutant that timed out. The PostgreSQL store's
# own module sets ``keyword`` to run them.
NOT_ON_POSTGRES = "not postgres"


@dataclass(frozen=True)
class Module:
    source: str
    tests: tuple[str, ...]
    keyword: str = NOT_ON_POSTGRES
    # One throwaway PostgreSQL server for the module's whole run, which every mutant's test
    # session uses (``SVCFLOW_TEST_POSTGRES``) instead of an initdb of its own.
    postgres: bool = False
    # mutant name patterns (fnmatch) when only some of the source's mutants are this entry's
    mutants: tuple[str, ...] = ()


MODULES: dict[str, Module] = {
    "durations": Module(
        "src/svcflow/durations.py",
        ("tests/test_durations_format.py", "tests/test_calendar.py", "tests/test_datamodel.py"),
    ),
    "calendar": Module(
        "src/svcflow/sla/calendar.py",
        ("tests/test_calendar.py", "tests/test_calendar_year_end.py", "tests/test_sla.py"),
    ),
    "sla": Module(
        "src/svcflow/sla/clocks.py",
        (
            "tests/test_sla.py",
            "tests/test_sla_lifecycle.py",
            "tests/test_sla_conditions.py",
            "tests/test_sla_migration.py",
            "tests/test_sla_changes.py",
            "tests/test_migration.py",
        ),
        # the crash test runs a child process on the unmutated package: it cannot see a mutant;
        # the clocks' logic is the same on every store and engine tests take seconds a mutant,
        # so the tests parametrised over the stores run on memory only
        keyword="not postgres and not sqlite and not sigkill",
    ),
    # The condition kinds in clocks.py that escalation chains share: since the SLA step decides
    # per move (i16h), only the chains still ask `Kinds.quiet`, and `became_true` on a step that
    # left the data as it was, so those mutants run against the escalation tests.
    "sla-kinds": Module(
        "src/svcflow/sla/clocks.py",
        ("tests/test_escalation.py", "tests/test_escalation_lifecycle.py"),
        mutants=(
            "svcflow.sla.clocks.xǁKindsǁquiet__mutmut_*",
            "svcflow.sla.clocks.xǁConditionSetǁbecame_true__mutmut_*",
        ),
    ),
    # The SLA state's stored form (i16f): its own round-trip tests, which build the states
    # a step writes and the JSON a store hands back; the stores' tests reach it through
    # SQLite, at seconds per mutant.
    "sla-encoding": Module("src/svcflow/sla/encoding.py", ("tests/test_sla_encoding.py",)),
    "escalation": Module(
        "src/svcflow/sla/escalation.py",
        ("tests/test_escalation.py", "tests/test_escalation_lifecycle.py"),
    ),
    "outbox": Module(
        "src/svcflow/messaging/outbox.py", ("tests/test_outbox.py", "tests/test_outbox_backoff.py")
    ),
    # The tables' logic against the tables' own tests; the workflow binding against the tests
    # that run tables inside workflows (engines on real stores: seconds per mutant, so they are
    # not run against every mutant of the logic, which they reach as well).
    "tables": Module(
        "src/svcflow/rules/tables/[!b]*.py",
        ("tests/test_tables.py", "tests/test_tables_policies.py", "tests/test_tables_findings.py"),
    ),
    "tables-binding": Module(
        "src/svcflow/rules/tables/binding.py", ("tests/test_tables_workflow.py",)
    ),
    # The functions of the logic that only a workflow reaches (the `tables` entry has no test
    # for them): compiling a workflow's tables, the table names and specs the workflow's
    # expressions look up, and the sample outputs they are type-checked with.
    "tables-workflow": Module(
        "src/svcflow/rules/tables/[!b]*.py",
        ("tests/test_tables_workflow.py",),
        mutants=(
            "svcflow.rules.tables.compiler.x_workflow_tables__mutmut_*",
            "svcflow.rules.tables.compiler.x_compile_tables__mutmut_*",
            "svcflow.rules.tables.table.x_table_sample__mutmut_*",
        ),
    ),
    # This wave's new code: fault isolation (timer retry and parking), the customer model, and
    # the PostgreSQL store (its conformance tests on PostgreSQL only: a server per mutant).
    "timers": Module(
        "src/svcflow/engine/timers.py",
        (
            "tests/test_fault_isolation.py",
            "tests/test_timer_retry.py",
            "tests/test_runner.py",
            "tests/test_batches.py",
            "tests/test_engine.py",
            "tests/test_care_engine.py",
            "tests/test_sla.py::test_changed_calendar_recomputes_open_deadlines",
            "tests/test_sla.py::test_a_changed_calendar_moves_only_the_running_clocks_and_says_from_where",
            "tests/test_sla.py::test_recomputing_deadlines_counts_the_cases_moved_of_the_workflow_named",
        ),
    ),
    # The outbox's dead rows for a failing template or recipient (the notifier). Without the
    # thousand-case fault isolation test (more than half of each mutant's time): the smaller
    # tests of test_fault_isolation show the same dead rows and retries case by case.
    "notifier": Module(
        "src/svcflow/messaging/notifier.py",
        (
            "tests/test_fault_isolation.py",
            "tests/test_outbox.py",
            "tests/test_customers.py",
            "tests/test_template_sla.py",
        ),
        keyword="not postgres and not thousand_cases",
    ),
    # The customer model: the engine's API and sender identification, and each store's table.
    "customers": Module(
        "src/svcflow/messaging/customers.py",
        (
            "tests/test_customer_model.py",
            "tests/test_customers.py",
            "tests/test_hijack.py",
            "tests/test_care_engine.py",
        ),
    ),
    "customer-book": Module(
        "src/svcflow/store/customer_book.py",
        ("tests/test_store_conformance.py", "tests/test_customers.py", "tests/test_erasure.py"),
    ),
    "customers-sqlite": Module(
        "src/svcflow/store/sqlite/customers.py",
        ("tests/test_store_conformance.py", "tests/test_customers.py", "tests/test_erasure.py"),
    ),
    # the racing writers of test_concurrency meet the unique indexes (the refusals a race gets)
    "postgres": Module(
        "src/svcflow/store/postgres/store.py",
        (
            "tests/test_store_conformance.py",
            "tests/test_postgres_store.py",
            "tests/test_postgres_pool.py",
            "tests/test_concurrency.py",
        ),
        keyword="postgres",
        postgres=True,
    ),
    "postgres-connection": Module(
        "src/svcflow/store/postgres/connection.py",
        (
            "tests/test_store_conformance.py",
            "tests/test_postgres_store.py",
            "tests/test_postgres_pool.py",
        ),
        keyword="postgres",
        postgres=True,
    ),
}

# Tests that show a known bug (reported, not yet fixed): mutmut needs a green run to start, so
# they are left out of mutation runs until the fix lands. Empty this list when it does.
KNOWN_FAILURES: tuple[str, ...] = ()

KILLED = {1, 3}
TIMEOUT = {36, 24, -24, 152, 255}
SURVIVED = {0}
NO_TESTS = {5, 33}


@dataclass(frozen=True)
class Score:
    module: str
    killed: int
    timeout: int
    survived: tuple[str, ...]
    other: tuple[str, ...]

    @property
    def total(self) -> int:
        return self.killed + self.timeout + len(self.survived) + len(self.other)

    @property
    def percent(self) -> float:
        return 100.0 * (self.killed + self.timeout) / self.total if self.total else 0.0


def show(mutant: str) -> str:
    """The diff of one mutant, while its module's ``mutants/`` folder is still there."""
    done = subprocess.run(
        [sys.executable, "-m", "mutmut", "show", mutant],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return "\n".join(line for line in done.stdout.splitlines() if line.startswith(("-", "+")))


def run_module(
    name: str,
    max_children: int,
    diffs: bool = False,
    only: Path | None = None,
    resume: bool = False,
) -> Score:
    """Run mutmut on one module in a child process (mutmut keeps global state) and count.

    ``resume`` keeps the ``mutants/`` folder of a stopped run of the same module: mutmut saves
    each result as it comes and runs only the mutants that have none yet (or whose function
    changed since)."""
    module = MODULES[name]
    missing = [test for test in module.tests if not (ROOT / test.partition("::")[0]).exists()]
    tests = [test for test in module.tests if test not in missing]
    if missing:
        print(f"{name}: skipping missing test files {', '.join(missing)}", file=sys.stderr)
    take_folder(name, fresh=only is None and not resume)
    command = [sys.executable, __file__, "--child", name, "--max-children", str(max_children)]
    if only is not None:
        command += ["--only", str(only)]
    with ExitStack() as stack:
        environment = dict(os.environ)
        if module.postgres:
            sys.path.insert(0, str(ROOT / "tests"))
            from support.postgres import SHARED_ENV, TemporaryCluster

            cluster = stack.enter_context(TemporaryCluster())
            environment[SHARED_ENV] = str(cluster.directory)
        done = subprocess.run([*command, *tests], cwd=ROOT, env=environment, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{name}: mutmut failed with exit code {done.returncode}")
    codes: dict[str, int | None] = {}
    for meta_file in sorted(MUTANTS.glob(f"{module.source}.meta")):
        codes.update(json.loads(meta_file.read_text(encoding="utf-8"))["exit_code_by_key"])
    if module.mutants:
        codes = {
            key: code
            for key, code in codes.items()
            if any(fnmatch(key, pattern) for pattern in module.mutants)
        }
    score = Score(
        module=name,
        killed=sum(code in KILLED for code in codes.values()),
        timeout=sum(code in TIMEOUT for code in codes.values()),
        survived=tuple(sorted(key for key, code in codes.items() if code in SURVIVED)),
        other=tuple(
            sorted(
                f"{key} (exit {code})"
                for key, code in codes.items()
                if code not in KILLED | TIMEOUT | SURVIVED
            )
        ),
    )
    for mutant in (*score.survived, *score.other) if diffs else ():
        print(f"{name}: {mutant}\n{show(mutant.split()[0])}\n", flush=True)
    return score


def take_folder(name: str, fresh: bool) -> None:
    """Make ``mutants/`` the folder of module ``name``: park another module's, bring back this
    module's parked one, or (``fresh``) start from nothing."""
    owner_file = MUTANTS / OWNER
    owner = owner_file.read_text(encoding="utf-8").strip() if owner_file.exists() else None
    if MUTANTS.exists() and owner not in (None, name):
        shutil.rmtree(ROOT / f"mutants-{owner}", ignore_errors=True)
        MUTANTS.rename(ROOT / f"mutants-{owner}")
    parked = ROOT / f"mutants-{name}"
    if fresh:
        shutil.rmtree(MUTANTS, ignore_errors=True)
        shutil.rmtree(parked, ignore_errors=True)
    elif parked.exists() and not MUTANTS.exists():
        parked.rename(MUTANTS)
    MUTANTS.mkdir(exist_ok=True)
    (MUTANTS / OWNER).write_text(name + "\n", encoding="utf-8")


def child(name: str, max_children: int, tests: list[str], only: Path | None) -> None:
    """Inside the child: narrow mutmut's configuration to one module and its tests, then run."""
    from mutmut import configuration
    from mutmut.__main__ import cli

    settings = configuration.config()
    settings.only_mutate = [MODULES[name].source]
    settings.pytest_add_cli_args_test_selection = tests
    settings.pytest_add_cli_args = [
        *settings.pytest_add_cli_args,
        *(["-k", MODULES[name].keyword] if MODULES[name].keyword else []),
        *(f"--deselect={test}" for test in KNOWN_FAILURES),
    ]
    names = only.read_text(encoding="utf-8").split() if only is not None else []
    names = names or list(MODULES[name].mutants)
    cli(["run", "--max-children", str(max_children), *names], standalone_mode=False)


def table(scores: list[Score]) -> str:
    rows = [
        "| module | killed | timeout | survived | other | total | score |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for score in scores:
        rows.append(
            f"| {score.module} | {score.killed} | {score.timeout} | {len(score.survived)} | "
            f"{len(score.other)} | {score.total} | {score.percent:.1f}% |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=f"any of {', '.join(MODULES)} (default: all)")
    parser.add_argument("--max-children", type=int, default=2, help="test processes at a time")
    parser.add_argument(
        "--survivors", action="store_true", help="list the surviving mutants with their diffs"
    )
    parser.add_argument(
        "--only",
        type=Path,
        help="a file of mutant names (one a line): run only those, in the mutants/ folder the "
        "module's last run left (for instance its survivors, after new tests)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the mutants/ folder a stopped run of the same module left and run only the "
        "mutants without a result",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        child(arguments.child, arguments.max_children, arguments.modules, arguments.only)
        return
    unknown = [name for name in arguments.modules if name not in MODULES]
    if unknown:
        parser.error(f"unknown module {', '.join(unknown)}; choose from {', '.join(MODULES)}")
    scores = []
    for name in arguments.modules or list(MODULES):
        scores.append(
            run_module(
                name,
                arguments.max_children,
                diffs=arguments.survivors,
                only=arguments.only,
                resume=arguments.resume,
            )
        )
        print(table(scores[-1:]), flush=True)
    print(table(scores))


if __name__ == "__main__":
    main()
