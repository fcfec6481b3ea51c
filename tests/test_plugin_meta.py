"""Meta-tests of the plugin hooks: every hook in ``svcflow.hooks.specs`` has a test that implements
or calls it, a section in ``docs/plugins.md`` with its exact signature and an example, and a
docstring with the parts the conventions ask for; and ``docs/plugins.md`` runs.

In the spirit of datasette's ``test_plugin_hooks_have_tests`` and
``test_plugin_hooks_are_documented``: adding a hook without a test or docs fails here, naming
the hook and what it lacks.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import io
import re
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from support.workflows import ROOT
from svcflow import Engine, ManualClock
from svcflow.hooks import specs as hookspecs
from svcflow.hooks.specs import ASYNC_HOOKS, PROJECT
from svcflow.testing import START, CapturedDeliveries, EngineFactory, InlinePlugins

PLUGIN_DOCS = ROOT / "docs" / "plugins.md"
THIS_FILE = Path(__file__).resolve()
FENCE = re.compile(r"^([ \t]*)```(\w+)(?: (\w+))?\n(.*?)^\1```$", re.DOTALL | re.MULTILINE)
HEADING = re.compile(r"^(#{1,6}) (.+?)\s*$")


@dataclass(frozen=True)
class Block:
    """A fenced code block: ```language kind, its text (dedented) and its first line."""

    language: str
    kind: str
    body: str
    line: int

    def compiled(self) -> Any:
        """The block as code whose line numbers are those of docs/plugins.md."""
        return compile("\n" * (self.line - 1) + self.body, "docs/plugins.md", "exec")


def code_blocks(text: str, first_line: int = 1) -> list[Block]:
    return [
        Block(
            match.group(2),
            match.group(3) or "",
            textwrap.dedent(match.group(4)),
            first_line + text.count("\n", 0, match.start()) + 1,
        )
        for match in FENCE.finditer(text)
    ]


def hook_specs() -> dict[str, Callable[..., Any]]:
    """Every hook spec, by name, in the order ``hooks/specs.py`` defines them (by phase)."""
    found = {
        name: value
        for name, value in vars(hookspecs).items()
        if callable(value) and getattr(value, f"{PROJECT}_spec", None) is not None
    }
    return dict(sorted(found.items(), key=lambda item: inspect.getsourcelines(item[1])[1]))


HOOKS = hook_specs()


def spec_options(hook: Callable[..., Any]) -> dict[str, Any]:
    options: dict[str, Any] = getattr(hook, f"{PROJECT}_spec")
    return options


def is_first_result(name: str) -> bool:
    return bool(spec_options(HOOKS[name]).get("firstresult"))


def signature_of(name: str) -> str:
    """``def name(param: Annotation, ...) -> Return`` with the annotations as written (the
    module uses ``from __future__ import annotations``, so they are the source text)."""
    signature = inspect.signature(HOOKS[name])
    parameters = []
    for parameter in signature.parameters.values():
        assert isinstance(parameter.annotation, str), f"{name}: '{parameter.name}' unannotated"
        parameters.append(f"{parameter.name}: {parameter.annotation}")
    returns = signature.return_annotation
    assert isinstance(returns, str), f"{name}: no return annotation"
    return f"def {name}({', '.join(parameters)}) -> {returns}"


def test_the_hook_specs_are_found() -> None:
    assert len(HOOKS) >= 12
    stray = sorted(
        name for name in vars(hookspecs) if name.startswith("svcflow_") and name not in HOOKS
    )
    assert stray == [], f"svcflow_* names in hooks/specs.py without @hookspec: {stray}"
    assert all(name.startswith("svcflow_") for name in HOOKS)


# -- (a) every hook has a test ---------------------------------------------------------------------


def hook_test_modules() -> list[Path]:
    """The test modules of svcflow and of the plugin packages, except this one."""
    files = [
        *ROOT.glob("tests/**/test_*.py"),
        *ROOT.glob("plugins/*/tests/**/test_*.py"),
        *ROOT.glob("docs/examples/*/tests/**/test_*.py"),
    ]
    return sorted(path for path in files if path.resolve() != THIS_FILE)


def _is_hookimpl(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return (isinstance(target, ast.Name) and target.id == "hookimpl") or (
        isinstance(target, ast.Attribute) and target.attr == "hookimpl"
    )


def exercised_hooks(source: str, filename: str) -> dict[str, str]:
    """The hooks a test module really exercises, each with how: a ``@hookimpl`` function of
    that name (in the module, or in plugin source text the test writes out), or a call of it
    (``plugin.svcflow_x(...)``, ``pm.hook.svcflow_x(...)``). A name in a string, a comment or
    an error text does not count."""
    found: dict[str, str] = {}
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in HOOKS:
            if any(_is_hookimpl(d) for d in node.decorator_list):
                found.setdefault(node.name, f"implements it (line {node.lineno})")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in HOOKS:
                found.setdefault(node.func.attr, f"calls it (line {node.lineno})")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            for name in HOOKS:
                written = rf"@hookimpl\b[^\n]*\n[ \t]*(?:async[ \t]+)?def[ \t]+{name}[ \t]*\("
                if re.search(written, node.value):
                    found.setdefault(name, f"writes a plugin implementing it (line {node.lineno})")
    return found


def test_the_hook_usage_finder_ignores_mere_mentions() -> None:
    source = (
        "# svcflow_deliver is not tested here\n"
        "ERROR = 'unknown hook svcflow_sla_breach'\n"
        "def svcflow_match_case(message, lookup): ...\n"  # not a hookimpl
        "class P:\n"
        "    @hookimpl(trylast=True)\n"
        "    async def svcflow_sla_warning(self, case, event): ...\n"
        "host.hook.svcflow_parse_message(channel='sms', raw={})\n"
        "PLUGIN = '@hookimpl\\ndef svcflow_cel_functions():\\n    return {}\\n'\n"
    )
    assert sorted(exercised_hooks(source, "<example>")) == [
        "svcflow_cel_functions",
        "svcflow_parse_message",
        "svcflow_sla_warning",
    ]


def test_every_hook_has_a_test() -> None:
    """Each hook is implemented (``@hookimpl def <hook>(``) or called (``.<hook>(``) by a test
    module under tests/ (or a plugin package's tests/), this meta-test excepted."""
    files = hook_test_modules()
    assert files, "no test files found"
    evidence: dict[str, list[str]] = {name: [] for name in HOOKS}
    for path in files:
        used = exercised_hooks(path.read_text(encoding="utf-8"), str(path))
        for name, how in used.items():
            evidence[name].append(f"{path.relative_to(ROOT)} {how}")
    untested = [name for name, where in evidence.items() if not where]
    assert untested == [], "hooks without a test: " + "; ".join(
        f"{name} (no test module implements it with @hookimpl or calls .{name}(...))"
        for name in untested
    )


# -- (b) every hook is documented with its exact signature -----------------------------------------


@dataclass(frozen=True)
class Section:
    title: str
    level: int
    text: str
    line: int

    def blocks(self) -> list[Block]:
        return code_blocks(self.text, self.line + 1)


def sections(text: str) -> Iterator[Section]:
    """The page's sections: each heading (outside code blocks) with the text up to the next
    heading of the same or a higher level."""
    lines = text.splitlines(keepends=True)
    headings: list[tuple[int, int, str]] = []
    fenced = False
    for number, line in enumerate(lines):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        match = None if fenced else HEADING.match(line)
        if match:
            headings.append((number, len(match.group(1)), match.group(2)))
    for index, (number, level, title) in enumerate(headings):
        end = next(
            (later for later, deeper, _ in headings[index + 1 :] if deeper <= level), len(lines)
        )
        yield Section(title, level, "".join(lines[number + 1 : end]), number + 1)


def hook_sections() -> dict[str, list[Section]]:
    found: dict[str, list[Section]] = {}
    for section in sections(PLUGIN_DOCS.read_text(encoding="utf-8")):
        title = section.title.strip("`")
        if section.level == 3 and title.startswith("svcflow_"):
            found.setdefault(title, []).append(section)
    return found


def test_every_hook_has_a_docs_section_with_its_exact_signature_and_an_example() -> None:
    documented = hook_sections()
    problems = []
    for name in HOOKS:
        if name not in documented:
            problems.append(f"{name}: no '### {name}' section in docs/plugins.md")
            continue
        if len(documented[name]) > 1:
            problems.append(f"{name}: {len(documented[name])} sections; keep one")
        section = documented[name][0]
        blocks = section.blocks()
        expected = signature_of(name)
        if not blocks:
            problems.append(f"{name}: its section has no code block; start with: {expected}")
            continue
        first = blocks[0]
        if (first.language, first.kind) != (
            "python",
            "signature",
        ) or first.body.strip() != expected:
            problems.append(
                f"{name}: the first code block (line {first.line}) must be ```python signature "
                f"holding exactly {expected!r}, not ```{first.language} {first.kind}: "
                f"{first.body.strip()!r}"
            )
        example = re.compile(rf"@hookimpl\b[^\n]*\n[ \t]*(?:async[ \t]+)?def {name}\(")
        if not any(
            (b.language, b.kind) == ("python", "") and example.search(b.body) for b in blocks
        ):
            problems.append(f"{name}: no example (a ```python block with '@hookimpl def {name}(')")
        says_first = "first result" in " ".join(section.text.split()).lower()
        if is_first_result(name) and not says_first:
            problems.append(
                f"{name}: is firstresult=True but its section does not say 'first result'"
            )
        if not is_first_result(name) and says_first:
            problems.append(f"{name}: is not firstresult but its section says 'first result'")
        if name in ASYNC_HOOKS and "async def" not in section.text:
            problems.append(f"{name}: may be async, but its section does not say 'async def'")
    stale = sorted(set(documented) - set(HOOKS))
    problems += [f"{name}: documented in docs/plugins.md but no such hook spec" for name in stale]
    assert problems == [], "docs/plugins.md:\n" + "\n".join(problems)


def test_the_hook_sections_are_in_the_order_of_hookspecs() -> None:
    documented = [name for name in hook_sections() if name in HOOKS]
    assert documented == [name for name in HOOKS if name in documented], (
        "docs/plugins.md documents the hooks in another order than hooks/specs.py (by phase): "
        f"{documented}"
    )


# -- (c) every hook docstring has the conventional parts -------------------------------------------


def docstring_problems(name: str) -> list[str]:
    hook = HOOKS[name]
    doc = " ".join((inspect.getdoc(hook) or "").split())
    missing = []
    if not doc:
        return ["a docstring"]
    if not re.search(r"\b(Called|called|fires|fired)\b", doc):
        missing.append("when it fires ('Called ...')")
    for parameter in inspect.signature(hook).parameters:
        if not re.search(rf"\b{parameter}\b", doc):
            missing.append(f"parameter '{parameter}'")
    if inspect.signature(hook).return_annotation != "None" and not re.search(
        r"\b[Rr]eturns?\b", doc
    ):
        missing.append("what it returns ('Returns ...' / 'Return ...')")
    if not re.search(r"\bAdded in \d+\.\d+", doc):
        missing.append("'Added in X.Y'")
    if is_first_result(name) and "First result" not in doc:
        missing.append("'First result' (it is firstresult=True)")
    if not is_first_result(name) and "First result" in doc:
        missing.append("no 'First result' (it is not firstresult)")
    if name in ASYNC_HOOKS and "async def" not in doc:
        missing.append("'May be ``async def``' (it is in ASYNC_HOOKS)")
    if name not in ASYNC_HOOKS and "async" in doc:
        missing.append("no mention of async (it is not in ASYNC_HOOKS)")
    return missing


@pytest.mark.parametrize("name", list(HOOKS))
def test_every_hook_docstring_has_the_conventional_parts(name: str) -> None:
    missing = docstring_problems(name)
    assert missing == [], f"the docstring of {name} in hooks/specs.py lacks: " + ", ".join(missing)


# -- (d) the async hooks exist ---------------------------------------------------------------------


def test_every_async_hook_exists() -> None:
    assert ASYNC_HOOKS, "ASYNC_HOOKS is empty"
    unknown = sorted(ASYNC_HOOKS - set(HOOKS))
    assert unknown == [], f"ASYNC_HOOKS names hooks hooks/specs.py does not define: {unknown}"


# -- docs/plugins.md runs --------------------------------------------------------------------------


def test_the_plugin_reference_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every plain ```python block of docs/plugins.md runs, in order, in one namespace; a
    ```text output block after one is exactly what it printed. ```python file blocks (files a
    reader writes) must compile."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SVCFLOW_DISABLE_PLUGINS", raising=False)
    monkeypatch.delenv("SVCFLOW_PLUGINS_DIR", raising=False)
    blocks = code_blocks(PLUGIN_DOCS.read_text(encoding="utf-8"))
    namespace: dict[str, object] = {"__name__": "plugins_md"}
    ran = 0
    try:
        for index, block in enumerate(blocks):
            if (block.language, block.kind) == ("python", "file"):
                block.compiled()
            if (block.language, block.kind) != ("python", ""):
                continue
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                exec(block.compiled(), namespace)
            ran += 1
            after = blocks[index + 1] if index + 1 < len(blocks) else None
            if after is not None and (after.language, after.kind) == ("text", "output"):
                assert printed.getvalue() == after.body, (
                    f"docs/plugins.md:{after.line}: the output of the block at line "
                    f"{block.line} is not what the page shows"
                )
    finally:
        for value in list(namespace.values()):
            if isinstance(value, Engine):
                value.close()
    assert ran >= 10


def test_the_test_example_of_the_plugin_reference_passes(tmp_path: Path) -> None:
    """The ```python file blocks holding pytest tests pass, given svcflow.testing's fixtures."""
    examples = [
        block
        for block in code_blocks(PLUGIN_DOCS.read_text(encoding="utf-8"))
        if (block.language, block.kind) == ("python", "file") and "def test_" in block.body
    ]
    assert examples, "docs/plugins.md shows no test using svcflow.testing"
    for block in examples:
        namespace: dict[str, Any] = {"__name__": "plugins_md_test"}
        exec(block.compiled(), namespace)
        tests = [value for name, value in namespace.items() if name.startswith("test_")]
        assert tests
        for test in tests:
            clock = ManualClock(START)
            captured = CapturedDeliveries()
            inline = InlinePlugins()
            factory = EngineFactory(tmp_path, clock, captured, inline.registered)
            fixtures = {
                "svcflow_clock": clock,
                "svcflow_captured": captured,
                "svcflow_plugin": inline,
                "svcflow_engine": factory,
                "tmp_path": tmp_path,
            }
            try:
                test(**{name: fixtures[name] for name in inspect.signature(test).parameters})
            finally:
                factory.close()
