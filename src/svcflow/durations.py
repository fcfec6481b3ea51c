"""Durations as process owners write them: ``30s``, ``15m``, ``4h``, ``2d``, ``1w``, ``1h30m``."""

from __future__ import annotations

import re
from datetime import timedelta
from functools import lru_cache

__all__ = ["DURATION_PATTERN", "format_duration", "parse_duration"]

_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+)(w|d|h|m|s)")
DURATION_PATTERN = r"^\s*(\d+\s*[wdhms]\s*)+$"
_WHOLE = re.compile(DURATION_PATTERN)


def parse_duration(text: str) -> timedelta:
    """Parse ``"15m"``-style text into a ``timedelta``.

    Units are ``w`` (weeks), ``d`` (days), ``h``, ``m``, ``s``; parts may be combined largest
    first (``1h30m``). Raises ``ValueError`` with the accepted forms on anything else.
    """
    compact = text.replace(" ", "") if isinstance(text, str) else ""
    if not compact or not _WHOLE.match(compact):
        raise ValueError(
            f"invalid duration {text!r}: write a number and a unit, e.g. 30s, 15m, 4h, 2d, 1w "
            "or 1h30m"
        )
    seconds = sum(int(amount) * _UNITS[unit] for amount, unit in _PART.findall(compact))
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError(f"duration {text!r} is too long; the longest is 999999999 days") from None


@lru_cache(maxsize=4096)  # SLA events format the same few budgets and times used again and again
def format_duration(value: timedelta) -> str:
    """Render a ``timedelta`` in the same notation (``timedelta(minutes=90)`` -> ``"1h30m"``)."""
    total = int(value.total_seconds())
    if total == 0:
        return "0s"
    sign = "-" if total < 0 else ""
    total = abs(total)
    parts = []
    for unit, size in _UNITS.items():
        if unit == "w":
            continue
        amount, total = divmod(total, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return sign + "".join(parts)
