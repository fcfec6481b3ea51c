"""``docs/plugin-guide.md`` cannot drift from the code it walks through.

The guide's convention (also written in an HTML comment at its top):

- a fenced block whose first line is ``# <path from the repository root>`` is an excerpt of
  that file: the lines after the comment appear in it verbatim, as whole lines; every
  ``python``, ``toml`` and ``yaml`` block must be marked so;
- a ``text`` block whose first line is ``$ [VAR=value ...] svcflow <args>`` shows that command's
  output: the runs of lines between ``...`` lines appear in the real output, in that order;
- every ``@hookimpl`` of the example package appears in an excerpt.
"""

from __future__ import annotations

import ast
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.workflows import ROOT
from svcflow.cli import main

GUIDE = ROOT / "docs" / "plugin-guide.md"
PACKAGE = ROOT / "docs" / "examples" / "svcflow-kiosk"
PLUGIN_MODULE = PACKAGE / "src" / "svcflow_kiosk" / "__init__.py"
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```$", re.DOTALL | re.MULTILINE)
MARKER = re.compile(r"# (\S+)")
CHECKED_LANGUAGES = ("python", "toml", "yaml")
ELISION = "..."


@dataclass(frozen=True)
class Block:
    language: str
    line: int  # of the opening fence, 1-based
    first: str
    rest: str

    @property
    def marked_path(self) -> str | None:
        found = MARKER.fullmatch(self.first)
        return found.group(1) if found and "/" in found.group(1) else None

    def __str__(self) -> str:
        return f"docs/plugin-guide.md:{self.line} ({self.language} block)"


def guide_blocks() -> list[Block]:
    text = GUIDE.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        first, _, rest = match.group(2).partition("\n")
        line = text.count("\n", 0, match.start()) + 1
        found.append(Block(match.group(1), line, first, rest))
    return found


def excerpts() -> list[Block]:
    return [block for block in guide_blocks() if block.marked_path is not None]


def commands() -> list[Block]:
    return [
        block
        for block in guide_blocks()
        if block.language == "text" and block.first.startswith("$ ")
    ]


def test_every_python_toml_and_yaml_block_names_the_file_it_comes_from() -> None:
    blocks = [block for block in guide_blocks() if block.language in CHECKED_LANGUAGES]
    assert len(blocks) >= 20
    unmarked = [str(block) for block in blocks if block.marked_path is None]
    assert unmarked == [], "blocks without a '# <path>' first line"
    missing = [
        f"{block}: {block.marked_path}"
        for block in blocks
        if not (ROOT / str(block.marked_path)).is_file()
    ]
    assert missing == [], "blocks naming a file that does not exist"


@pytest.mark.parametrize("block", excerpts(), ids=str)
def test_each_marked_block_is_a_verbatim_excerpt_of_its_file(block: Block) -> None:
    source = (ROOT / str(block.marked_path)).read_text(encoding="utf-8")
    assert block.rest.strip(), f"{block} is empty"
    if "\n" + block.rest in "\n" + source:
        return
    lines = source.splitlines()
    absent = [line for line in block.rest.splitlines() if line not in lines]
    detail = (
        f"first line not in the file: {absent[0]!r}"
        if absent
        else "every line is in the file, but not as one contiguous run"
    )
    pytest.fail(f"{block} is not an excerpt of {block.marked_path}: {detail}")


def test_the_guide_quotes_every_hook_implementation_of_the_package() -> None:
    tree = ast.parse(PLUGIN_MODULE.read_text(encoding="utf-8"))
    hooks = sorted(
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and any(ast.unparse(decorator).startswith("hookimpl") for decorator in node.decorator_list)
    )
    assert hooks == [
        "svcflow_customer_erased",
        "svcflow_deliver",
        "svcflow_parse_message",
        "svcflow_register_channels",
    ]
    quoted = "\n".join(
        block.rest for block in excerpts() if (ROOT / str(block.marked_path)) == PLUGIN_MODULE
    )
    assert [hook for hook in hooks if f"def {hook}(" not in quoted] == []


@pytest.mark.parametrize("block", commands(), ids=str)
def test_each_command_output_block_is_what_the_command_prints(
    block: Block, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    words = shlex.split(block.first.removeprefix("$ "))
    monkeypatch.delenv("SVCFLOW_DISABLE_PLUGINS", raising=False)
    monkeypatch.delenv("SVCFLOW_PLUGINS_DIR", raising=False)
    while words and "=" in words[0]:
        name, _, value = words.pop(0).partition("=")
        monkeypatch.setenv(name, value)
    assert words[0] == "svcflow", f"{block}: only svcflow commands are checked"
    assert main(words[1:]) == 0
    output = capsys.readouterr().out.splitlines()
    position = 0
    runs: list[list[str]] = [[]]
    for line in block.rest.splitlines():
        if line == ELISION:
            runs.append([])
        else:
            runs[-1].append(line)
    for run in filter(None, runs):
        starts = [
            index
            for index in range(position, len(output) - len(run) + 1)
            if output[index : index + len(run)] == run
        ]
        assert starts, f"{block}: these lines are not in the output (after line {position}):\n" + (
            "\n".join(run) + "\n--- output ---\n" + "\n".join(output)
        )
        position = starts[0] + len(run)


def test_the_guide_shows_at_least_two_commands() -> None:
    assert len(commands()) >= 2


@pytest.mark.parametrize(
    "page", [GUIDE, PACKAGE / "README.md"], ids=lambda page: str(page.relative_to(ROOT))
)
def test_relative_links_resolve(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [target for target in targets if "://" not in target]
    assert local
    broken = [target for target in local if not (page.parent / target).exists()]
    assert broken == []
