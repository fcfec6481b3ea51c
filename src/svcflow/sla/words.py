"""SLA targets in words, for the notification templates (pure, no I/O).

A template that says "we aim to resolve it within 24 hours" lies as soon as a process owner
edits the target to 12 business hours. So templates read the target from the workflow instead:
:func:`sla_words` gives, per metric, ``target`` in the workflow's notation (``24h``, ``3 business
days``), ``target_words`` in the template's locale ("24 hours", "12 business hours", "12 个工作
小时"), the calendar, and ``warnings`` (each warning as words: "75%", "30 minutes before").

The target is the one in effect for the case: the target its running (or last) clock chose, or,
for a metric that has not started yet, the workflow's catch-all (last) target. Time counted on a
calendar other than the always-open ``24x7`` is *business* time, and the words say so.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from svcflow.sla.clocks import Clock, SlaPolicy
from svcflow.spec.sla import ALWAYS_OPEN, TargetSpec, WarningSpec, Within

__all__ = ["WORD_LOCALES", "duration_words", "sla_words", "target_words"]

_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))
_EN = {"day": "day", "hour": "hour", "minute": "minute", "second": "second"}
_ZH = {"day": "天", "hour": "小时", "minute": "分钟", "second": "秒"}
_ZH_BUSINESS = {"day": "个工作日", "hour": "个工作小时", "minute": "工作分钟", "second": "工作秒"}
WORD_LOCALES = ("en", "zh-CN")
"""Locales with their own words; any other locale gets the English words."""


def _parts(value: timedelta) -> list[tuple[int, str]]:
    """Hours stay hours up to three days ("48 hours", as people say it); whole days beyond."""
    total = int(value.total_seconds())
    parts: list[tuple[int, str]] = []
    for unit, size in _UNITS:
        if unit == "day" and (total % size or total <= 3 * size):
            continue
        amount, total = divmod(total, size)
        if amount:
            parts.append((amount, unit))
    return parts


def _chinese(locale: str) -> bool:
    return locale.lower().startswith("zh")


def duration_words(value: timedelta, locale: str = "en", *, business: bool = False) -> str:
    """``timedelta(hours=12)`` -> "12 hours" ("12 business hours" with ``business``; "12 小时"
    or "12 个工作小时" in ``zh-*``). Several parts read "1 hour 30 minutes" and, in business
    time, "1 hour 30 minutes of business time"."""
    parts = _parts(value) or [(0, "minute")]
    if _chinese(locale):
        if business and len(parts) == 1:
            amount, unit = parts[0]
            return f"{amount} {_ZH_BUSINESS[unit]}"
        text = " ".join(f"{amount} {_ZH[unit]}" for amount, unit in parts)
        return f"{text}（工作时间）" if business else text
    words = [f"{amount} {_EN[unit]}{'' if amount == 1 else 's'}" for amount, unit in parts]
    if business and len(parts) == 1:
        return f"{parts[0][0]} business {words[0].split(' ', 1)[1]}"
    return " ".join(words) + (" of business time" if business else "")


def target_words(within: Within, calendar: str, locale: str = "en") -> str:
    """A target as a customer or an agent reads it, in ``locale``."""
    if isinstance(within.amount, timedelta):
        return duration_words(within.amount, locale, business=calendar != ALWAYS_OPEN)
    count = within.amount
    if within.unit == "business_days":
        if _chinese(locale):
            return f"{count} 个工作日"
        return f"{count} business day{'' if count == 1 else 's'}"
    if _chinese(locale):
        return f"{count} 天"
    return f"{count} day{'' if count == 1 else 's'}"


def _warning_words(warning: WarningSpec, locale: str, business: bool) -> str:
    if warning.at is not None:
        return f"{warning.at * 100:g}%"
    lead = duration_words(warning.before or timedelta(0), locale, business=business)
    return f"提前 {lead}" if _chinese(locale) else f"{lead} before"


def _in_effect(policy: SlaPolicy, name: str, stored: Any) -> tuple[TargetSpec, str]:
    metric = policy.metrics[name]
    if isinstance(stored, Mapping):
        clock = Clock.from_json(stored)
        return policy.target_of(name, clock), clock.calendar
    return metric.targets[-1], metric.calendars[-1]


def sla_words(
    policy: SlaPolicy, service: Mapping[str, Any], locale: str = "en"
) -> dict[str, dict[str, Any]]:
    """Per metric of ``policy``: ``target``, ``target_words``, ``calendar`` and ``warnings``
    for a case whose SLA state is ``service`` (``Case.sla``), in ``locale``."""
    stored = service.get("metrics", {})
    words: dict[str, dict[str, Any]] = {}
    for name, metric in policy.metrics.items():
        target, calendar = _in_effect(policy, name, stored.get(name))
        business = calendar != ALWAYS_OPEN
        words[name] = {
            "target": target.within.describe(),
            "target_words": target_words(target.within, calendar, locale),
            "calendar": calendar,
            "warnings": [_warning_words(w, locale, business) for w in metric.spec.warnings],
        }
    return words
