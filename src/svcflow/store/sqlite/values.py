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
from math import isfinite
from typing import Any, NamedTuple

from pydantic_core import from_json
from pydantic_core import to_json as json_bytes

from svcflow.store.sqlite.rows import to_json

__all__ = [
    "SHAPE_PREFIX",
    "Shape",
    "ValuesRow",
    "changed_row",
    "decodable",
    "object_form",
    "parsed_row",
    "shape_of",
    "shape_text",
    "values_dict",
    "values_form",
    "values_object",
    "values_row",
    "values_text",
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
    return values_text(values_row(data), shape_id)


class ValuesRow(NamedTuple):
    """A data value's values-only form before it is written: its field names, the bits of the
    fields present and their plain values in order (:func:`values_text` writes it)."""

    names: Shape
    present: int
    values: list[Any]


def values_row(data: Mapping[str, Any]) -> ValuesRow:
    """The values-only form of plain JSON values (see :func:`values_form`)."""
    present = 0
    values: list[Any] = []
    for bit, value in enumerate(data.values()):
        if value is not None and (value.__class__ is not float or isfinite(value)):
            present |= 1 << bit
            values.append(value)
    return ValuesRow(tuple(data), present, values)


def values_text(row: ValuesRow, shape_id: Callable[[Shape], int]) -> str:
    """The stored text of a :class:`ValuesRow` (``shape_id`` as :func:`values_form`'s)."""
    return str(
        json_bytes([shape_id(row.names), row.present, *row.values], inf_nan_mode="null"), "utf-8"
    )


def changed_row(row: ValuesRow, changed: Mapping[str, Any]) -> ValuesRow:
    """``row`` with the fields of ``changed`` (plain JSON values of some of its fields) set: the
    :func:`values_row` of the whole data with them, the others' values taken as they are
    (issue 16: a change sets a few of a case's fields)."""
    present, values = row.present, list(row.values)
    bits = _bits(row.names)
    for name, value in changed.items():
        bit = bits[name]
        rank = (present & ((1 << bit) - 1)).bit_count()
        if value is not None and (value.__class__ is not float or isfinite(value)):
            if present >> bit & 1:
                values[rank] = value
            else:
                values.insert(rank, value)
                present |= 1 << bit
        elif present >> bit & 1:
            del values[rank]
            present &= ~(1 << bit)
    return ValuesRow(row.names, present, values)


def _bits(names: Shape) -> dict[str, int]:
    """Each field's bit in a values row of ``names``, worked out once for each."""
    found = _bits_of.get(names)
    if found is None:
        found = {name: bit for bit, name in enumerate(names)}
        if len(_bits_of) >= _PRESENT_NAMES_KEPT:
            _bits_of.clear()
        _bits_of[names] = found
    return found


_bits_of: dict[Shape, dict[str, int]] = {}


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
    reads them without their text, issue 16)."""
    return values_dict(parsed_row(stored, shape))


def parsed_row(stored: str, shape: Callable[[int], Shape]) -> ValuesRow:
    """The :class:`ValuesRow` of a stored values-only data value (``[``...), parsed by
    pydantic-core's reader (about 11 kIr a case read less than ``json.loads``), or by the
    ``json`` module for a text it refuses (an escaped lone surrogate, which ``values_form``
    never writes)."""
    try:
        values = from_json(stored)
    except ValueError:
        values = json.loads(stored)
    return ValuesRow(shape(values[0]), values[1], values[2:])


def values_dict(row: ValuesRow) -> dict[str, Any]:
    """The fields of a :class:`ValuesRow` by name, ``None`` where not present."""
    found = dict.fromkeys(row.names)
    found.update(zip(_names_present(row.names, row.present), row.values, strict=False))
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
