"""PyYAML's syntax errors in a process owner's words, with the line and a caret under the spot.

PyYAML names its parser's states ("while parsing a block mapping, expected <block end>, but
found '<block mapping start>'"); a person editing a workflow needs to know what to change. The
common mistakes (a tab, a key out of line, an unclosed bracket or quote, a stray colon, an
undefined alias) get their own sentence; anything else keeps PyYAML's words.
"""

from __future__ import annotations

import yaml

__all__ = ["caret", "plain_yaml_message"]


def plain_yaml_message(error: yaml.MarkedYAMLError) -> str:
    """What is wrong, in words that say what to write instead."""
    problem, context = error.problem or "", error.context or ""
    started = error.context_mark
    where = f" (line {started.line + 1}, column {started.column + 1})" if started else ""
    if "'\\t'" in problem:
        return "tabs are not allowed; indent with spaces"
    if "block mapping" in context and "expected <block end>" in problem:
        return (
            "this line is not lined up with the keys above it; the keys of one mapping start "
            f"in the same column, as the first one does{where}"
        )
    if "block collection" in context and "expected <block end>" in problem:
        return (
            "this line is not lined up with the list above it; every '- ' item of one list "
            f"starts in the same column, as the first one does{where}"
        )
    if problem == "mapping values are not allowed here":
        return "a ':' where a value goes; put a value that contains ': ' in quotes"
    if problem == "could not find expected ':'":
        return f"a line without 'key: value' inside a mapping{where}; add the ':' or quote the text"
    if "flow sequence" in context:
        return f"the list opened with '['{where} needs a ']' at its end and ',' between items"
    if "flow mapping" in context:
        return f"the mapping opened with '{{'{where} needs a '}}' at its end and ',' between keys"
    if "quoted scalar" in context:
        return f"the quote opened{where} is not closed"
    if "undefined alias" in problem:
        name = problem.removeprefix("found undefined alias").strip(" '")
        return f"no anchor '&{name}' above this '*{name}'; mark an earlier value with '&{name}'"
    return f"{context}, {problem}" if context else problem or "not valid YAML"


def caret(lines: list[str], line: int, column: int) -> str:
    """The source line and a caret under ``column`` (1-based), indented for a terminal; tabs are
    kept in the caret line so it lines up with the tabs above it."""
    if not 1 <= line <= len(lines):
        return ""
    text = lines[line - 1]
    pad = "".join(c if c == "\t" else " " for c in text[: column - 1])
    return f"\n    {text}\n    {pad}^"
