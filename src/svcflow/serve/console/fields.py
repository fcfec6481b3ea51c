"""Case fields typed into a console form, one ``name: value`` per line.

The text is read by svcflow's own safe YAML reader (the one workflow files go through: only
``true``/``false`` are booleans, a size and node limit, positions on every problem), so an
agent writes ``resolution: Replacement sent`` or ``compensation_percent: 5`` and the workflow's
``data:`` section then checks the values as it checks any payload.
"""

from __future__ import annotations

from typing import Any

from svcflow.errors import FieldsNotReadable
from svcflow.spec.yamlsource import parse_yaml

__all__ = ["FIELDS", "parse_fields"]

FIELDS = "fields"
"""The name problems are reported under (``fields:2:7: ...``)."""


def parse_fields(text: str) -> dict[str, Any] | None:
    """The fields in ``text``, or ``None`` when it is blank. Raises
    :class:`~svcflow.errors.FieldsNotReadable` naming each problem's line and column."""
    if not text.strip():
        return None
    document = parse_yaml(text.replace("\r\n", "\n"), FIELDS)
    if document.problems:
        raise FieldsNotReadable(FIELDS, document.problems)
    if not isinstance(document.data, dict):
        raise FieldsNotReadable(
            FIELDS, [f"{FIELDS}:1:1: write one 'name: value' per line, e.g. 'resolution: Sent'"]
        )
    return document.data
