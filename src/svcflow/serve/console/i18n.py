"""The console's two languages: which one a request gets, its message catalogue, and how times
and durations read in it.

English is the source language: the templates and the view code mark their text with
``_("...")`` and English needs no catalogue. Chinese (``zh-CN``) comes from the gettext
catalogue ``locales/zh_CN/LC_MESSAGES/console.po``, read with Babel when the console starts
(no compiled ``.mo`` file, so no build step); a message missing from it shows in English rather
than failing. A request's language is, in order: the ``svcflow_lang`` cookie the language
switch sets, then the browser's ``Accept-Language`` (any ``zh`` tag chooses ``zh-CN``), then
English. Dates, times and durations are formatted by Babel in the chosen locale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from functools import cache
from gettext import NullTranslations

from babel.dates import format_datetime
from babel.units import format_unit

from svcflow.report.language import BABEL_NAMES, read_catalogue

__all__ = ["DEFAULT_LOCALE", "LANGUAGE_COOKIE", "LOCALES", "Language", "choose_locale", "language"]

LOCALES = ("en", "zh-CN")
"""The console's languages as BCP 47 tags, the default first."""

DEFAULT_LOCALE = LOCALES[0]
LANGUAGE_COOKIE = "svcflow_lang"
"""The cookie the language switch sets; it wins over ``Accept-Language``."""

_BABEL_NAMES = BABEL_NAMES
_CATALOGUES = {"zh-CN": "zh_CN"}


def choose_locale(cookie: str | None, accept_language: str | None) -> str:
    """The language for a request: the switch's cookie when it names a known language, else
    the first language of ``Accept-Language`` (by its ``q`` weights) the console has, else
    English. ``zh``, ``zh-Hans`` and ``zh-CN`` all mean ``zh-CN``."""
    if cookie in LOCALES:
        return cookie
    for tag in _preferred(accept_language or ""):
        found = _known(tag)
        if found is not None:
            return found
    return DEFAULT_LOCALE


def _preferred(header: str) -> list[str]:
    """The tags of an ``Accept-Language`` header, most wanted first (``q=0`` dropped)."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        if tag and weight > 0:
            weighted.append((-weight, position, tag.strip().lower()))
    return [tag for _, _, tag in sorted(weighted)]


def _known(tag: str) -> str | None:
    if tag == "*":
        return DEFAULT_LOCALE
    for locale in LOCALES:
        if tag == locale.lower() or tag.split("-")[0] == locale.lower().split("-")[0]:
            return locale
    return None


@dataclass(frozen=True, slots=True)
class Language:
    """One request's language: its tag, its translations and its formats."""

    locale: str
    translations: NullTranslations

    def gettext(self, message: str) -> str:
        """``message`` (English) in this language, or as it is when the catalogue lacks it."""
        return self.translations.gettext(message)

    def moment(self, at: datetime | None, zone: tzinfo) -> str:
        """A date and time in ``zone``, as this language writes them; ``-`` for none."""
        if at is None:
            return "-"
        return format_datetime(
            at, "yyyy-MM-dd HH:mm", tzinfo=zone, locale=_BABEL_NAMES[self.locale]
        )

    def span(self, amount: timedelta) -> str:
        """A duration to the minute in the largest two units (``1 day 3 hr``, ``1天3小时``);
        a negative one gets a minus sign (time past a deadline)."""
        minutes = int(abs(amount).total_seconds() // 60)
        days, rest = divmod(minutes, 24 * 60)
        hours, minutes = divmod(rest, 60)
        parts = [(days, "duration-day"), (hours, "duration-hour"), (minutes, "duration-minute")]
        shown = [(value, unit) for value, unit in parts if value][:2] or [(0, "duration-minute")]
        name = _BABEL_NAMES[self.locale]
        separator = "" if self.locale == "zh-CN" else " "
        text = separator.join(
            format_unit(value, unit, length="short", locale=name) for value, unit in shown
        )
        return f"-{text}" if amount < timedelta(0) else text


def language(locale: str) -> Language:
    """The :class:`Language` for one of :data:`LOCALES` (catalogues are read once)."""
    return Language(locale, _translations(locale))


@cache
def _translations(locale: str) -> NullTranslations:
    folder = _CATALOGUES.get(locale)
    if folder is None:
        return NullTranslations()
    return read_catalogue("svcflow.serve.console", "console", folder)
