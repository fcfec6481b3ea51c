"""Injected time. Every component asks a :class:`Clock`; nothing in svcflow reads the system time
directly, so tests and simulations run on a :class:`ManualClock` and never sleep."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from svcflow.durations import parse_duration

__all__ = ["Clock", "ManualClock", "SystemClock", "as_utc", "iso_text"]


def as_utc(moment: datetime) -> datetime:
    """Return ``moment`` as an aware UTC datetime; a naive datetime is taken to be UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def iso_text(moment: datetime) -> str:
    """``moment.isoformat()``, remembered for the instants in UTC asked for lately: one event
    writes the same few instants several times (a clock's ``since`` and deadline, its events'
    ``at``, a timer's due moment), and formatting one costs about ten times a look-up."""
    if moment.tzinfo is not UTC or type(moment) is not datetime:
        return moment.isoformat()  # equal instants in other zones or folds read differently
    text = _texts.get(moment)
    if text is None:
        text = moment.isoformat()
        if len(_texts) >= _REMEMBERED:
            _texts.clear()  # a bound, not a policy: the next event's instants come back at once
        _texts[moment] = text
    return text


_REMEMBERED = 512
_texts: dict[datetime, str] = {}  # a dict's get and set are atomic: safe from any thread


@runtime_checkable
class Clock(Protocol):
    """Anything with ``now()`` returning an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to: for tests, simulations and dry runs.

    ``ManualClock("2026-03-02T09:00:00Z")`` or ``ManualClock(datetime(...))``; ``advance("15m")``
    or ``advance(timedelta(...))`` moves it forward; ``set(...)`` jumps to a moment. Time never
    goes backwards: moving it back raises ``ValueError``.
    """

    def __init__(self, start: datetime | str | None = None) -> None:
        self._lock = threading.Lock()
        if start is None:
            start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        self._now = as_utc(datetime.fromisoformat(start) if isinstance(start, str) else start)

    def now(self) -> datetime:
        return self._now

    def advance(self, by: timedelta | str) -> datetime:
        """Move forward by a duration (``"15m"``, ``timedelta(minutes=15)``); return the new now."""
        step = parse_duration(by) if isinstance(by, str) else by
        if step < timedelta(0):
            raise ValueError(f"a clock cannot go backwards (advance by {by!r})")
        with self._lock:
            self._now += step
            return self._now

    def set(self, moment: datetime | str) -> datetime:
        """Jump to ``moment`` (not earlier than now)."""
        target = as_utc(datetime.fromisoformat(moment) if isinstance(moment, str) else moment)
        with self._lock:
            if target < self._now:
                raise ValueError(
                    f"a clock cannot go backwards: now {self._now.isoformat()}, "
                    f"asked for {target.isoformat()}"
                )
            self._now = target
            return self._now

    def __repr__(self) -> str:
        return f"ManualClock({self._now.isoformat()!r})"
