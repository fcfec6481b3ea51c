"""Case data types as a process owner declares them, and the clock and durations they use."""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import pytest

from svcflow import CaseDataError, ManualClock
from svcflow.durations import format_duration, parse_duration
from svcflow.spec.datamodel import CaseDataSchema
from svcflow.spec.models import FieldSpec

FIELDS = {
    "customer": FieldSpec(type="string", required=True),
    "opened_at": FieldSpec(type="datetime"),
    "grace": FieldSpec(type="duration", default="15m"),
    "tags": FieldSpec(type="list", items=FieldSpec(type="string")),
    "address": FieldSpec(
        type="object",
        fields={"city": FieldSpec(type="string", required=True), "zip": FieldSpec(type="string")},
    ),
    "extra": FieldSpec(type="object"),
    "score": FieldSpec(type="number", default=0),
    "vip": FieldSpec(type="boolean", default=False),
}


@pytest.fixture
def schema() -> CaseDataSchema:
    return CaseDataSchema("kyc", 1, FIELDS)


def test_types_are_converted_and_defaults_filled(schema: CaseDataSchema) -> None:
    data = schema.initial(
        {
            "customer": "Ann",
            "opened_at": "2026-03-02T09:00:00",
            "tags": ["vip"],
            "address": {"city": "Shanghai"},
            "extra": {"anything": [1, 2]},
        }
    )
    assert data == {
        "customer": "Ann",
        "opened_at": datetime(2026, 3, 2, 9, tzinfo=UTC),
        "grace": timedelta(minutes=15),
        "tags": ["vip"],
        "address": {"city": "Shanghai"},
        "extra": {"anything": [1, 2]},
        "score": 0.0,
        "vip": False,
    }
    assert schema.from_json(schema.to_json(data)) == data


def test_nested_problems_are_all_listed(schema: CaseDataSchema) -> None:
    with pytest.raises(CaseDataError) as caught:
        schema.initial(
            {"customer": "Ann", "tags": ["ok", 3], "address": {"zip": "200000", "street": "x"}}
        )
    assert str(caught.value) == (
        "invalid case data for workflow 'kyc' v1: tags.1: Input should be a valid string "
        "(got 3); missing required field 'address.city'; address.street: Extra inputs are not "
        "permitted (got 'x')"
    )


def test_changes_are_validated_per_field(schema: CaseDataSchema) -> None:
    assert schema.validate_changes({"grace": "1h30m", "score": 3}, origin="payload") == {
        "grace": timedelta(hours=1, minutes=30),
        "score": 3.0,
    }
    with pytest.raises(CaseDataError) as caught:
        schema.validate_changes({"grace": "soon"}, origin="payload")
    assert str(caught.value) == (
        "invalid case data for workflow 'kyc' v1: payload: grace: Value error, invalid "
        "duration 'soon': write a number and a unit, e.g. 30s, 15m, 4h, 2d, 1w or 1h30m "
        "(got 'soon')"
    )


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("15m", 900),
        ("4h", 14400),
        ("2d", 172800),
        ("1w", 604800),
        ("1h30m", 5400),
        (" 2d 12h ", 216000),
    ],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)
    assert parse_duration(format_duration(timedelta(seconds=seconds))) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "15", "m", "15 minutes", "1.5h", "-5m"])
def test_invalid_durations(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration(text)
    assert str(caught.value) == (
        f"invalid duration {text!r}: write a number and a unit, e.g. 30s, 15m, 4h, 2d, 1w or 1h30m"
    )


def test_manual_clock_only_moves_forward() -> None:
    clock = ManualClock("2026-03-02T09:00:00+08:00")
    assert clock.now() == datetime(2026, 3, 2, 1, tzinfo=UTC)
    assert clock.advance("15m") == datetime(2026, 3, 2, 1, 15, tzinfo=UTC)
    assert clock.set("2026-03-02T02:00:00Z") == datetime(2026, 3, 2, 2, tzinfo=UTC)
    with pytest.raises(ValueError) as caught:
        clock.set("2026-03-02T01:00:00Z")
    assert str(caught.value) == (
        "a clock cannot go backwards: now 2026-03-02T02:00:00+00:00, asked for "
        "2026-03-02T01:00:00+00:00"
    )


def test_data_in_any_mapping_encodes_as_the_same_plain_dict(schema: CaseDataSchema) -> None:
    """A case's data is a mapping proxy of a dict (copied at once, issue 16); a proxy of
    another mapping, a plain dict and any other mapping give the same values and text, and
    the data given is left as it was."""
    data = schema.initial({"customer": "Ann", "opened_at": "2026-03-02T09:00:00", "tags": ["a"]})
    expected = schema.to_jsonable(data)
    assert list(expected) == list(data) and expected["opened_at"].startswith("2026-03-02T09:00")
    for given in (
        MappingProxyType(dict(data)),
        MappingProxyType(OrderedDict(data)),
        OrderedDict(data),
    ):
        assert schema.to_jsonable(given) == expected
        assert list(schema.to_jsonable(given)) == list(expected)
        assert schema.to_json(given) == schema.to_json(data)
        assert dict(given) == data
