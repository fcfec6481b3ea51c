"""Start-up cost: ``import svcflow`` and ``svcflow --help`` load neither the engine nor its heavy
dependencies (pydantic, CEL and its command line, YAML, Jinja); CEL comes at the first compile."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("cel", "pydantic", "transitions", "yaml", "jinja2", "svcflow.engine")


def loaded_after(code: str) -> list[str]:
    probe = (
        f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return list(json.loads(done.stdout.splitlines()[-1]))


def test_import_svcflow_loads_no_heavy_dependency() -> None:
    assert loaded_after("import svcflow") == []


def test_svcflow_help_loads_no_heavy_dependency() -> None:
    code = "from svcflow.cli.parser import build_parser\nprint(build_parser().format_help())"
    assert loaded_after(code) == []


def test_cel_is_imported_at_the_first_compile() -> None:
    code = (
        "from svcflow.rules.expressions import compile_expression\n"
        "import sys\nassert 'cel' not in sys.modules\n"
        "compile_expression('a == 1', ['a'], 'here')"
    )
    assert "cel" in loaded_after(code)
