"""``docs/rules.md`` cannot drift: its commands print what it shows, and its shipped-tables
section is what ``svcflow graph`` renders for the tables under ``workflows/`` today (rules files
and the workflows' own ``tables:``). (Its YAML examples and messages are checked in
``tests/test_docs.py`` with the other pages.)

After changing a shipped table, rewrite that section in one step from the project root::

    python tests/test_tables_docs.py
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest

from support.workflows import ROOT, WORKFLOWS
from svcflow.cli import main
from svcflow.definitions import is_calendar_text
from svcflow.definitions.rulesfile import is_rules_text, load_rules_text
from svcflow.definitions.workflow import load_workflow_text
from svcflow.rules.render import tables_markdown
from svcflow.rules.tables.compiler import workflow_tables
from svcflow.rules.tables.table import CompiledTable

PAGE = ROOT / "docs" / "rules.md"
BEGIN = "<!-- BEGIN shipped tables"
END = "<!-- END shipped tables -->"
FENCE = re.compile(r"^```(\w+)(?: (\w+))?\n(.*?)^```$", re.DOTALL | re.MULTILINE)
COMMANDS = [m.group(3) for m in FENCE.finditer(PAGE.read_text()) if m.group(1) == "console"]


@pytest.mark.parametrize("block", COMMANDS, ids=lambda b: b.splitlines()[0])
def test_rules_page_command_prints_what_it_shows(
    block: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    command, _, shown = block.partition("\n")
    assert command.startswith("$ svcflow ")
    assert main(shlex.split(command)[2:]) == 0
    assert capsys.readouterr().out == shown


def shipped_table_files() -> list[tuple[Path, dict[str, CompiledTable]]]:
    """Each file under ``workflows/`` that declares tables, in name order (by path), with its
    tables in file order: rules files and workflows alike (calendars have none)."""
    found = []
    for path in sorted(WORKFLOWS.rglob("*.yaml"), key=lambda p: p.relative_to(ROOT).as_posix()):
        text = path.read_text(encoding="utf-8")
        if is_calendar_text(text):
            continue
        if is_rules_text(text):
            tables = load_rules_text(text, str(path)).tables
        else:
            loaded = load_workflow_text(text, str(path))
            tables = workflow_tables(loaded.spec, loaded.source_map).tables
        if tables:
            found.append((path, tables))
    return found


def shipped_tables_section() -> str:
    """The section as ``svcflow graph`` renders each file's tables (``--table NAME`` for a
    workflow's)."""
    return "\n".join(
        tables_markdown(tables, source=path.relative_to(ROOT).as_posix())
        for path, tables in shipped_table_files()
    )


def page_section(text: str) -> tuple[int, int]:
    """Where the generated section starts (after the BEGIN line) and ends (at END)."""
    return text.index("\n", text.index(BEGIN)) + 1, text.index(END)


def test_rules_page_shows_every_shipped_table_as_rendered() -> None:
    text = PAGE.read_text()
    begin, end = page_section(text)
    assert text[begin:end] == shipped_tables_section(), (
        "docs/rules.md is out of date: run `python tests/test_tables_docs.py` to rewrite its "
        "shipped-tables section from the files"
    )
    for _, tables in shipped_table_files():
        for name in tables:
            assert f"### `{name}`" in text[begin:end]


def test_the_section_lists_the_workflows_own_tables() -> None:
    sources = {path.relative_to(ROOT).as_posix() for path, _ in shipped_table_files()}
    assert "workflows/crisis.yaml" in sources
    assert "From `workflows/crisis.yaml`." in PAGE.read_text()


if __name__ == "__main__":
    page = PAGE.read_text()
    start, stop = page_section(page)
    PAGE.write_text(page[:start] + shipped_tables_section() + page[stop:])
    print(f"rewrote the shipped-tables section of {PAGE.relative_to(ROOT)}", file=sys.stderr)
