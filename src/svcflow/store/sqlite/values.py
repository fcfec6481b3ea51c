"""Case data in a values-only form: the field names once per file, each case row its values.

A case's data is a JSON object with every field of its workflow version, most of them ``null``
until the case gets that far (the shipped complaint: 31 fields, 585 bytes, of which about 400
are names, quotes and ``null``). The SQLite store keeps it as ``[shape, present, v1, v2, ...]``:
``shape`` names the field names in their order, stored once in ``shared_texts`` as
:data:`SHAPE_PREFIX` and their JSON list; ``present`` is an integer whose bit ``i`` is set
when field ``i`` is not ``null``; then the values of those fields, in order (issue 16: about
135 bytes for the bench's complaint).

:func:`object_form` gives the very JSON object back, in the same order, so the workflow's
codec reads exactly what it wrote. A row written before (a JSON object, ``{``) is read as it
is; a JSON array is always this form, since case data is always an object.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from itertools import islice
from math import isfinite
from typing import Any

from pydantic_core import from_json
from pydantic_core import to_json as json_bytes

from svcflow.store.sqlite.rows import to_json

__all__ = [
    "SHAPE_PREFIX",
    "Shape",
    "decodable",
    "object_form",
    "shape_of",
    "shape_text",
    "values_form",
    "values_object",
]

SHAPE_PREFIX = "data fields:"
"""How a shared text naming field names starts (the rest is their JSON list)."""

Shape = tuple[str, ...]
"""The field names of a case's data, in order."""


def shape_text(shape: Shape) -> str:
    """The shared text that names ``shape``."""
    return SHAPE_PREFIX + to_json(list(shape))


def shape_of(text: str) -> Shape:
    """The field names a shared text of :func:`shape_text` names."""
    return tuple(json.loads(text.removeprefix(SHAPE_PREFIX)))


def values_form(data: Mapping[str, Any], shape_id: Callable[[Shape], int]) -> str:
    """The data in the values-only form, from its plain JSON values (``DataCodec.plain``: the
    codec's text is not parsed back, issue 16); ``shape_id`` gives the id of its field names,
    storing them when new. A number that is not finite counts as ``null``, as the codec's JSON
    text writes it."""
    present = 0
    values: list[Any] = [0, 0]
    for bit, value in enumerate(data.values()):
        if value is not None and (value.__class__ is not float or isfinite(value)):
            present |= 1 << bit
            values.append(value)
    values[0], values[1] = shape_id(tuple(data)), present
    return str(json_bytes(values, inf_nan_mode="null"), "utf-8")


def object_form(stored: str, shape: Callable[[int], Shape]) -> str:
    """The JSON object text of a stored data value, in either form (see the module)."""
    if not stored.startswith("["):
        return stored
    shape_id, present, *values = json.loads(stored)
    given = iter(values)
    names = shape(shape_id)
    return to_json(
        {name: next(given) if present >> bit & 1 else None for bit, name in enumerate(names)}
    )


def decodable(stored: str, shape: Callable[[int], Shape]) -> str:
    """A JSON object text of a stored data value for the codec to read: the same fields and
    values in the same order as :func:`object_form`'s, written by pydantic-core's serializer
    (about 23 kIr less a case read than the ``json`` module's; the text may differ in spacing
    or escapes, never in what it parses to). A row written before is read as it is."""
    if not stored.startswith("["):
        return stored
    return str(json_bytes(values_object(stored, shape)), "utf-8")


def values_object(stored: str, shape: Callable[[int], Shape]) -> dict[str, Any]:
    """The JSON object of a stored values-only data value (``[``...), as its values: the
    fields of :func:`object_form`'s text, in the same order, parsed (``DataCodec.from_plain``
    reads them without their text, issue 16). Parsed by pydantic-core's reader (about 11 kIr a
    case read less than ``json.loads``), or by the ``json`` module for a text it refuses (an
    escaped lone surrogate, which ``values_form`` never writes)."""
    try:
        values = from_json(stored)
    except ValueError:
        values = json.loads(stored)
    names = shape(values[0])
    found = dict.fromkeys(names)
    found.update(zip(_names_present(names, values[1]), islice(values, 2, None), strict=False))
    return found


def _names_present(names: Shape, present: int) -> Shape:
    """The names of ``names`` whose bit is set in ``present``, worked out once for each (a
    case read then fills its fields without a loop in Python: about 10 kIr less, issue 16)."""
    key = (names, present)
    found = _present_names.get(key)
    if found is None:
        found = tuple(name for bit, name in enumerate(names) if present >> bit & 1)
        if len(_present_names) >= _PRESENT_NAMES_KEPT:
            _present_names.clear()
        _present_names[key] = found
    return found


_PRESENT_NAMES_KEPT = 1024
_present_names: dict[tuple[Shape, int], Shape] = {}
