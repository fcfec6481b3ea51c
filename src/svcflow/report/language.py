"""The KPI report's languages: English, the source text, and Simplified Chinese (``zh-CN``).

The renderers (``render_text(report, lang=...)``, ``render_html(report, lang=...)``) make a
language *current* while they render, in a context variable (so renderings in other threads or
tasks never mix); :func:`_` translates a sentence and the value formatters of
:mod:`svcflow.report.format` read the current language. English needs nothing: its text is the
source and its numbers keep the report's compact forms (``87.5%``, ``2h03m``,
``2026-03-02 09:15 UTC``), so an English report is the same as before languages existed.
Chinese comes from the gettext catalogue ``locales/zh_CN/LC_MESSAGES/report.po``, read with
Babel when first used (no compiled ``.mo`` file, no build step); Babel also writes its
numbers, shares, dates and durations from the CLDR data (``3,000``, ``2小时3分钟``,
``2026年3月2日 09:15 UTC``). Babel comes with the ``serve`` extra; asking for Chinese without
it is a :class:`~svcflow.errors.ReportLanguageError` that says how to install it.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from gettext import NullTranslations
from importlib.resources import files

from svcflow.errors import ReportLanguageError

__all__ = [
    "DEFAULT_LOCALE",
    "LOCALES",
    "ReportLanguage",
    "_",
    "current",
    "read_catalogue",
    "report_language",
    "speaking",
]

LOCALES = ("en", "zh-CN")
"""The report's languages as BCP 47 tags, the default first."""

DEFAULT_LOCALE = LOCALES[0]
BABEL_NAMES = {"en": "en", "zh-CN": "zh_Hans_CN"}
_CATALOGUES = {"zh-CN": "zh_CN"}


@dataclass(frozen=True, slots=True)
class ReportLanguage:
    """A language the report is written in: its tag, its Babel locale name (``None`` for
    English, which Babel does not format) and its translations."""

    locale: str
    babel: str | None
    translations: NullTranslations

    def gettext(self, message: str) -> str:
        """``message`` (English) in this language, or as it is when the catalogue lacks it."""
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        """The singular or plural form for ``count`` (Chinese has one form)."""
        return self.translations.ngettext(singular, plural, count)


def read_catalogue(package: str, domain: str, folder: str) -> NullTranslations:
    """The gettext catalogue ``locales/<folder>/LC_MESSAGES/<domain>.po`` of ``package``,
    read with Babel (compiled in memory: no ``.mo`` file to build or ship)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import Translations

    source = files(package).joinpath("locales", folder, "LC_MESSAGES", f"{domain}.po")
    with source.open("rb") as text:
        catalogue = read_po(text, locale=folder)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return Translations(compiled)


@cache
def report_language(locale: str = DEFAULT_LOCALE) -> ReportLanguage:
    """The :class:`ReportLanguage` for one of :data:`LOCALES` (its catalogue is read once).

    :class:`~svcflow.errors.ReportLanguageError` for another tag, or for Chinese without
    Babel installed."""
    if locale not in LOCALES:
        raise ReportLanguageError(locale, f"the report is written in {', '.join(LOCALES)}")
    folder = _CATALOGUES.get(locale)
    if folder is None:
        return ReportLanguage(locale, None, NullTranslations())
    try:
        translations = read_catalogue("svcflow.report", "report", folder)
    except ImportError:
        raise ReportLanguageError(locale, "it needs Babel (pip install 'svcflow[serve]')") from None
    return ReportLanguage(locale, BABEL_NAMES[locale], translations)


_CURRENT: ContextVar[ReportLanguage | None] = ContextVar("svcflow_report_language", default=None)


def current() -> ReportLanguage:
    """The language being rendered (English outside a rendering)."""
    return _CURRENT.get() or report_language(DEFAULT_LOCALE)


@contextmanager
def speaking(locale: str) -> Iterator[ReportLanguage]:
    """Make ``locale`` the current language inside the ``with`` block."""
    token = _CURRENT.set(report_language(locale))
    try:
        yield current()
    finally:
        _CURRENT.reset(token)


def _(message: str) -> str:
    """``message`` in the current language (the marker gettext's tools look for)."""
    return current().gettext(message)
