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
    """``moment.isoformat()``, remembered for the last moment asked: one event writes its
    instant several times (a clock's ``since``, its events' ``at``, a timer's due moment)."""
    last = _last_text
    if last[0] is moment:
        return last[1]
    text = moment.isoformat()
    _remember(moment, text)
    return text


_last_text: tuple[datetime | None, str] = (None, "")


def _remember(moment: datetime, text: str) -> None:
    global _last_text  # one tuple, swapped whole: safe to read from any thread
    _last_text = (moment, text)


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
