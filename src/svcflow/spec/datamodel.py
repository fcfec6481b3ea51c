"""Case data validated against a workflow's ``data`` declaration.

The declaration is turned into a pydantic ``TypedDict`` adapter once per workflow version, so
validation runs in pydantic's compiled core and yields a plain ``dict`` (cases are plain
records). Per-field adapters validate the few fields an event changes without re-validating the
whole case, which keeps ``fire`` cheap.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Annotated, Any, Literal, NotRequired, Required

from pydantic import AfterValidator, ConfigDict, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from svcflow.clock import as_utc
from svcflow.errors import CaseDataError, did_you_mean
from svcflow.spec.models import Duration, FieldSpec

__all__ = ["CaseDataSchema", "field_annotation", "sample_value", "value_problem"]

_UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]
_IMMUTABLE = frozenset({type(None), str, int, float, bool})
_SCALARS: dict[str, Any] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "datetime": _UtcDatetime,
    "duration": Duration,
}


def field_annotation(spec: FieldSpec, name: str = "value") -> Any:
    """The Python type annotation pydantic validates a field with."""
    if spec.type in _SCALARS:
        return _SCALARS[spec.type]
    if spec.type == "enum":
        return Literal[tuple(spec.values or ())]
    if spec.type == "list":
        return list[field_annotation(spec.items, name) if spec.items else Any]  # type: ignore[misc]
    if spec.fields is None:
        return dict[str, Any]
    return _typed_dict(f"{name}_object", spec.fields)


def _typed_dict(name: str, fields: Mapping[str, FieldSpec]) -> Any:
    members = {
        key: (Required if spec.required else NotRequired)[_nullable(spec, key)]
        for key, spec in fields.items()
    }
    shape = TypedDict(name, members)  # type: ignore[misc]
    shape.__pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[attr-defined]
    return shape


def _nullable(spec: FieldSpec, name: str) -> Any:
    annotation = field_annotation(spec, name)
    return annotation if spec.required else annotation | None


def _describe(error: Mapping[str, Any], prefix: str = "") -> str:
    location = ".".join(str(part) for part in error["loc"])
    where = f"{prefix}{location}" if location else prefix.rstrip(".") or "data"
    shown = repr(error["input"])
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{where}: {error['msg']} (got {shown})"


def value_problem(spec: FieldSpec, value: Any) -> str | None:
    """Why ``value`` is not valid for ``spec``, or None. Used for defaults and ``set`` literals."""
    try:
        TypeAdapter(_nullable(spec, "value")).validate_python(value)
    except ValidationError as error:
        return "; ".join(
            f"{e['msg']} (got {e['input']!r})" if not e["loc"] else _describe(e)
            for e in error.errors(include_url=False)
        )
    return None


_SAMPLES: dict[str, Any] = {
    "string": "text",
    "integer": 1,
    "number": 1.5,
    "boolean": True,
    "datetime": datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
    "duration": timedelta(minutes=15),
    "list": [],
}


def sample_value(spec: FieldSpec, *, use_default: bool = True) -> Any:
    """A typical value of the field's type (its default if it has one and ``use_default``),
    used to type-check expressions at load."""
    if use_default and spec.default is not None and value_problem(spec, spec.default) is None:
        return TypeAdapter(field_annotation(spec)).validate_python(spec.default)
    if spec.type == "enum":
        return (spec.values or [""])[0]
    if spec.type == "object":
        return {
            name: sample_value(field, use_default=use_default)
            for name, field in (spec.fields or {}).items()
        }
    return _SAMPLES[spec.type]


def _as_dict(data: Mapping[str, Any]) -> dict[str, Any]:
    """A plain dict of ``data`` for pydantic-core. A case's data is a mapping proxy of a dict,
    whose ``copy()`` copies the dict at once: ``dict(proxy)`` looks every field up through the
    mapping protocol, ten times the instructions for the complaint's 31 fields (issue 16)."""
    if type(data) is MappingProxyType:
        copied = data.copy()
        if type(copied) is dict:
            return copied
    return dict(data)


class CaseDataSchema:
    """Validates, completes and (de)serialises the data of one workflow version's cases."""

    def __init__(self, workflow: str, version: int, fields: Mapping[str, FieldSpec]) -> None:
        self.workflow, self.version = workflow, version
        self.fields = dict(fields)
        self._whole: TypeAdapter[Any] = TypeAdapter(
            _typed_dict(f"{workflow.replace('-', '_')}_v{version}_data", self.fields)
        )
        # pydantic-core's compiled validators, called without TypeAdapter's per-call wrapper
        # (which only passes its defaults on): what a start and each field an event sets run
        self._validate_whole = self._whole.validator.validate_python
        self._dump_plain = self._whole.serializer.to_python  # (likewise for the store's plain)
        self._validate_each = {
            name: TypeAdapter(_nullable(spec, name)).validator.validate_python
            for name, spec in self.fields.items()
        }
        self._defaults = {
            name: spec.default for name, spec in self.fields.items() if not spec.required
        }

    def initial(self, data: Mapping[str, Any] | None) -> dict[str, Any]:
        """Validate the data a case starts with; fill defaults; unset optional fields are None."""
        given = dict(data or {})
        self._reject_unknown(given)
        for name, default in self._defaults.items():
            if name not in given:
                shared = type(default) in _IMMUTABLE  # a list or map default is copied per case
                given[name] = default if shared else copy.deepcopy(default)
        try:
            return dict(self._validate_whole(given))
        except ValidationError as error:
            raise self._error(error) from None

    def validate_changes(self, changes: Mapping[str, Any], *, origin: str) -> dict[str, Any]:
        """Validate the fields an event sets. ``origin`` names the source ("payload", "set ...")."""
        self._reject_unknown(changes, origin=origin)
        validated: dict[str, Any] = {}
        problems: list[str] = []
        for name, value in changes.items():
            try:
                validated[name] = self._validate_each[name](value)
            except ValidationError as error:
                problems.extend(
                    _describe(e, prefix=f"{origin}: {name}.")
                    if e["loc"]
                    else f"{origin}: {name}: {e['msg']} (got {value!r})"
                    for e in error.errors(include_url=False)
                )
            else:
                if validated[name] is None and self.fields[name].required:
                    problems.append(f"{origin}: {name}: a required field cannot be cleared")
        if problems:
            raise CaseDataError(self.workflow, self.version, problems)
        return validated

    def to_json(self, data: Mapping[str, Any]) -> str:
        return self._whole.dump_json(_as_dict(data)).decode()

    def from_json(self, text: str | bytes) -> dict[str, Any]:
        return dict(self._whole.validate_json(text))

    def from_plain(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """The data from the JSON values :meth:`to_jsonable` gives, as :meth:`from_json` reads
        their text (a store that keeps values without their JSON text need not write it to read
        them: about 13 kIr less a case read, issue 16)."""
        return dict(self._validate_whole(data))

    def to_jsonable(self, data: Mapping[str, Any]) -> Any:
        return self._dump_plain(_as_dict(data), mode="json")

    def _reject_unknown(self, data: Iterable[str], *, origin: str = "data") -> None:
        unknown = [name for name in data if name not in self.fields]
        if unknown:
            raise CaseDataError(
                self.workflow,
                self.version,
                [
                    f"{origin}: unknown field '{name}'"
                    + did_you_mean(name, self.fields, noun="field")
                    for name in unknown
                ],
            )

    def _error(self, error: ValidationError) -> CaseDataError:
        problems = []
        for item in error.errors(include_url=False):
            if item["type"] == "missing":
                problems.append(f"missing required field '{'.'.join(map(str, item['loc']))}'")
            else:
                problems.append(_describe(item))
        return CaseDataError(self.workflow, self.version, problems)
