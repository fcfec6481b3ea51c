"""Personal data and secrets kept out of log lines and stored rows.

Log lines end up in places with weaker protection and longer retention than the store (log
shippers, support tickets, screenshots), so svcflow never writes a customer's e-mail address
or phone number into one. Every svcflow module gets its logger from :func:`masked_logger`,
which masks both in the formatted message, its arguments and any exception text, whatever
the caller passed; a test forbids ``logging.getLogger`` elsewhere in the source.

What is masked (and what a reader may rely on):

- an e-mail address keeps the first character of its local part and the top-level domain:
  ``jane.doe@example.com`` → ``j***@***.com``;
- a phone number (``+`` and 7 to 15 digits, or 9 to 15 digits without ``+``; spaces, dots,
  dashes or brackets between them) keeps its last two digits:
  ``+44 20 7946 0958`` → ``+***58``. Dates, times, durations and identifiers with letters are
  left alone;
- user information in a URL (``https://user:secret@host/``) is removed by
  :func:`strip_url_credentials`, which notifications apply before anything is stored.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

__all__ = ["MaskingFilter", "mask", "masked_logger", "strip_url_credentials"]

_EMAIL = re.compile(r"([A-Za-z0-9._%+'-])[A-Za-z0-9._%+'-]*@[A-Za-z0-9.-]*?(\.[A-Za-z]{2,24})\b")
_PHONE = re.compile(r"(?<![\w./+-])(?<!\d:)\(?\+?\(?\d(?:[ ().-]{0,2}\d){6,18}(?![\w:/+-])")
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s]+@")


def mask(text: str) -> str:
    """``text`` with e-mail addresses, phone numbers and URL credentials masked."""
    text = _USERINFO.sub(r"\1***@", text)
    text = _EMAIL.sub(r"\1***@***\2", text)
    return _PHONE.sub(_masked_phone, text)


def _masked_phone(match: re.Match[str]) -> str:
    found = match.group(0)
    digits = re.sub(r"\D", "", found)
    international = "+" in found
    if not (7 if international else 9) <= len(digits) <= 15:
        return found
    return ("+***" if international else "***") + digits[-2:]


def strip_url_credentials(address: str) -> str:
    """``address`` without the ``user:password@`` of a URL; any other text unchanged."""
    if "://" not in address or "@" not in address:
        return address
    parts = urlsplit(address)
    if "@" not in parts.netloc:
        return address
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


class MaskingFilter(logging.Filter):
    """Rewrites a record's message (arguments merged in) and exception text through
    :func:`mask`, so no handler ever sees the unmasked values."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        return True


_FILTER = MaskingFilter()


def masked_logger(name: str) -> logging.Logger:
    """The logger ``name`` with :class:`MaskingFilter` attached (once, however often asked)."""
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger
