"""Durations as people write and read them: the text a process owner types and the text svcflow
prints back in history, reports and simulation timelines."""

from __future__ import annotations

from datetime import timedelta

import pytest

from svcflow.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(0), "0s"),
        (timedelta(seconds=1), "1s"),
        (timedelta(minutes=90), "1h30m"),
        (timedelta(days=1, seconds=1), "1d1s"),
        # Weeks are printed as days: "2w" reads back as 14 days, "1w1d" as 8.
        (timedelta(weeks=2), "14d"),
        (timedelta(weeks=1, days=1, hours=1, minutes=1, seconds=1), "8d1h1m1s"),
        # A deadline already passed prints as a negative duration, sign first, once.
        (-timedelta(minutes=90), "-1h30m"),
        (-timedelta(seconds=1), "-1s"),
        (-timedelta(weeks=1), "-7d"),
        # Fractions of a second are dropped (toward zero).
        (timedelta(milliseconds=999), "0s"),
        (-timedelta(milliseconds=1500), "-1s"),
    ],
)
def test_format_duration(value: timedelta, text: str) -> None:
    assert format_duration(value) == text


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("15m", timedelta(minutes=15)),
        ("15 m", timedelta(minutes=15)),
        (" 1h 30m ", timedelta(hours=1, minutes=30)),
        ("1w", timedelta(weeks=1)),
        ("1w2d", timedelta(days=9)),
        ("0s", timedelta(0)),
        ("90m", timedelta(minutes=90)),
    ],
)
def test_parse_duration(text: str, value: timedelta) -> None:
    assert parse_duration(text) == value


@pytest.mark.parametrize(
    "value", [timedelta(0), timedelta(weeks=3), timedelta(days=2, hours=3, seconds=4)]
)
def test_a_printed_duration_parses_back_to_itself(value: timedelta) -> None:
    assert parse_duration(format_duration(value)) == value


@pytest.mark.parametrize("text", ["", "   ", "15", "m", "15 minutes", "1.5h", "-1h", "1h30"])
def test_invalid_text_says_what_to_write(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration(text)
    assert str(caught.value) == (
        f"invalid duration {text!r}: write a number and a unit, e.g. 30s, 15m, 4h, 2d, 1w or 1h30m"
    )


@pytest.mark.parametrize("value", [None, 15, 1.5])
def test_a_value_that_is_not_text_is_a_value_error_too(value: object) -> None:
    with pytest.raises(ValueError, match=r"^invalid duration .*: write a number and a unit"):
        parse_duration(value)  # type: ignore[arg-type]


def test_the_longest_duration_is_named_in_the_error() -> None:
    assert parse_duration("999999999d") == timedelta(days=999_999_999)
    with pytest.raises(ValueError) as caught:
        parse_duration("1000000000d")
    assert str(caught.value) == "duration '1000000000d' is too long; the longest is 999999999 days"


def test_a_duration_too_long_for_a_timedelta_is_a_value_error_that_says_so() -> None:
    with pytest.raises(ValueError, match=r"^duration '1000000000d' is too long; the longest is "):
        parse_duration("1000000000d")
