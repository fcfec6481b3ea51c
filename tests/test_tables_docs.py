"""``docs/rules.md`` cannot drift: its commands print what it shows, and its shipped-tables
section is what ``svcflow graph`` renders for ``workflows/rules/`` today. (Its YAML examples
and messages are checked in ``tests/test_docs.py`` with the other pages.)"""

from __future__ import annotations

import re
import shlex

import pytest

from conftest import ROOT, WORKFLOWS
from svcflow.cli import main
from svcflow.rules.render import tables_markdown
from svcflow.spec.rulesfile import load_rules_file

PAGE = ROOT / "docs" / "rules.md"
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


def test_rules_page_shows_every_shipped_table_as_rendered() -> None:
    text = PAGE.read_text()
    begin = text.index("\n", text.index("<!-- BEGIN shipped tables")) + 1
    end = text.index("<!-- END shipped tables -->")
    files = sorted((WORKFLOWS / "rules").glob("*.yaml"))
    rendered = "\n".join(
        tables_markdown(load_rules_file(f).tables, source=f.relative_to(ROOT).as_posix())
        for f in files
    )
    assert text[begin:end] == rendered, (
        "docs/rules.md is out of date: paste the output of `svcflow graph` for each file in "
        "workflows/rules/ (in name order) between the BEGIN/END markers"
    )
    for f in files:
        for name in load_rules_file(f).tables:
            assert f"### `{name}`" in text[begin:end]
