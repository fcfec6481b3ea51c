"""The built-in e-mail channel: one RFC 5322 message as the mail server delivered it."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime
from email.errors import MissingHeaderBodySeparatorDefect
from email.message import EmailMessage, Message
from email.parser import BytesParser, Parser
from email.policy import default as default_policy
from email.utils import getaddresses
from html.parser import HTMLParser
from types import MappingProxyType
from typing import Any

from svcflow.errors import MessageParseError
from svcflow.hooks.specs import hookimpl
from svcflow.hooks.types import ChannelInfo, InboundMessage
from svcflow.messaging.channels.base import as_utc, content_id

__all__ = ["EmailChannel", "html_to_text"]

CHANNEL = "email"
FROM_EXAMPLE = "'From: Li Wei <li.wei@example.com>'"
DATE_EXAMPLE = "'Date: Mon, 03 Jun 2024 10:15:00 +0800'"
SHAPE = "header lines such as " + FROM_EXAMPLE + ", a blank line, then the body"

_CASE_REF = re.compile(r"\[case:\s*([A-Za-z0-9_-]+)\s*\]", re.IGNORECASE)
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_Q_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_SPACES = re.compile(r"\s+")
_SURROGATES = re.compile("[\udc80-\udcff]")
# Mail labelled GB2312 or GBK routinely holds characters only GB18030 (their superset) has.
_CHARSET_ALIASES = {
    "gb2312": "gb18030",
    "gb_2312-80": "gb18030",
    "euc-cn": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "ks_c_5601-1987": "cp949",
}


class EmailChannel:
    """Reads channel ``email``: one raw RFC 5322 message as ``bytes`` (preferred, as received)
    or ``str``, MIME and encoded-word headers included::

        From: 李伟 <li.wei@example.cn>
        To: support@example.com
        Subject: =?UTF-8?B?6YCA5qy+?= [case:C-1042]
        Message-ID: <20240603101500.42@mail.example.cn>
        In-Reply-To: <notify-C-1042@svcflow.example.com>
        Date: Mon, 03 Jun 2024 10:15:00 +0800
        Content-Type: text/plain; charset=GB2312

        (body)

    Required: a ``From`` header with an address, and a text body (a ``text/plain`` or
    ``text/html`` part that is not an attachment). Everything else is optional.

    ``message_id`` is the Message-ID without angle brackets or, when there is none,
    ``sha256:<hex>`` of the raw bytes (the same message ingested twice gets the same id).
    ``sender`` is the From address lower-cased, ``sender_name`` its display name. ``body`` is
    the plain-text part, or the HTML part as text when there is no (or only a blank) plain
    part, with line breaks normalized and outer whitespace stripped; the declared charset is
    honoured (GB2312/GBK are read as GB18030). ``received_at`` is the Date header in UTC
    (``None`` without one). ``thread_refs`` are the ids in In-Reply-To, then References,
    without brackets, de-duplicated in order. ``case_ref`` is the id in a ``[case:<id>]`` tag
    of the subject (letters, digits, ``-``, ``_``). ``locale`` is the first Content-Language.
    ``fields`` holds ``to`` and ``cc`` (lower-cased addresses) and ``attachments`` (file
    names).
    """

    @hookimpl
    def svcflow_register_channels(self) -> list[ChannelInfo]:
        """Own ``email`` inbound."""
        return [ChannelInfo(CHANNEL, inbound=True, description="E-mail (RFC 5322 messages)")]

    @hookimpl
    def svcflow_parse_message(self, channel: str, raw: Any) -> InboundMessage | None:
        """The e-mail in ``raw`` as a message; ``None`` for other channels."""
        if channel != CHANNEL:
            return None
        return parse_email(raw)


def parse_email(raw: Any) -> InboundMessage:
    """``raw`` (bytes or str) as an ``InboundMessage``; ``MessageParseError`` says what is wrong."""
    data, message = _read(raw)
    sender, sender_name = _sender(message)
    raw_id = _first(message, "Message-ID")
    found = _MESSAGE_ID.search(raw_id or "")
    message_id = found.group(1) if found else " ".join((raw_id or "").split())
    subject = _decode_words(_first(message, "Subject") or "").strip() or None
    case = _CASE_REF.search(subject or "")
    body_part, body = _body(message, as_text=isinstance(raw, str))
    language = _first(message, "Content-Language") or _first(body_part, "Content-Language")
    return InboundMessage(
        channel=CHANNEL,
        message_id=message_id or content_id(data),
        sender=sender,
        body=body,
        received_at=_received_at(message),
        subject=subject,
        sender_name=sender_name,
        thread_refs=_thread_refs(message),
        case_ref=case.group(1) if case else None,
        locale=(language or "").split(",")[0].strip() or None,
        fields=MappingProxyType(
            {
                "to": _addresses(message, "To"),
                "cc": _addresses(message, "Cc"),
                "attachments": _attachments(message),
            }
        ),
    )


def html_to_text(html: str) -> str:
    """The readable text of an HTML document: tags, scripts and styles dropped, block
    elements on their own lines, paragraphs separated by a blank line, spaces collapsed."""
    parser = _HTMLText()
    parser.feed(html)
    parser.close()
    return parser.text()


# -- reading the message ---------------------------------------------------------------------------


def _read(raw: Any) -> tuple[bytes, EmailMessage]:
    if isinstance(raw, bytes | bytearray):
        data = bytes(raw)
        text = data.decode("utf-8", "replace")
    elif isinstance(raw, str):
        text = raw
        data = raw.encode("utf-8", "surrogatepass")
    else:
        raise MessageParseError(
            f"e-mail payload must be the raw RFC 5322 message as bytes or str, "
            f"not {type(raw).__name__}"
        )
    if not text.strip():
        raise MessageParseError(f"e-mail payload is empty; send the raw RFC 5322 message: {SHAPE}")
    if isinstance(raw, str):
        message = Parser(policy=default_policy).parsestr(raw.lstrip("\r\n"))
    else:
        message = BytesParser(policy=default_policy).parsebytes(data.lstrip(b"\r\n"))
    if not message.keys():
        first = text.strip().splitlines()[0].strip()
        raise MessageParseError(
            f"e-mail payload has no header lines (it starts with '{_shorten(first)}'); send the "
            f"raw RFC 5322 message: {SHAPE}"
        )
    return data, message


def _sender(message: EmailMessage) -> tuple[str, str | None]:
    raw_from = _first(message, "From")
    if raw_from is None:
        found = ", ".join(dict.fromkeys(message.keys()))
        early = ""
        payload = message.get_payload()
        cut_short = any(isinstance(d, MissingHeaderBodySeparatorDefect) for d in message.defects)
        if cut_short and isinstance(payload, str) and payload.strip():
            line = payload.strip().splitlines()[0]
            early = f"; the headers end early, at a line that is not a header: '{_shorten(line)}'"
        raise MessageParseError(
            f"e-mail has no From header (headers found: {found}{early}); the sender's address "
            f"is required, e.g. {FROM_EXAMPLE}"
        )
    shown = _shorten(raw_from)
    try:
        header = message["From"]
        addresses = tuple(header.addresses)
        defects = tuple(header.defects)
    except Exception:  # the stdlib header parser has raised IndexError and others on junk
        raise MessageParseError(
            f"e-mail From header '{shown}' is not a valid address; expected e.g. {FROM_EXAMPLE}"
        ) from None
    for address in addresses:
        if address.username and address.domain:
            name = address.display_name
            if "\ufffd" in name or _SURROGATES.search(name):
                name = _name_from_raw(raw_from, address.addr_spec) or _fix_surrogates(name)
            return _fix_surrogates(address.addr_spec).lower(), name.strip() or None
    problems = [str(defect) for defect in defects if "obsolete" not in str(defect).lower()]
    why = f" ({problems[0]})" if problems and problems[0] else ""
    raise MessageParseError(
        f"e-mail From header '{shown}' has no address{why}; expected e.g. {FROM_EXAMPLE}"
    )


def _name_from_raw(raw_from: str, addr_spec: str) -> str | None:
    for name, address in getaddresses([_decode_words(raw_from)]):
        if address.lower() == addr_spec.lower():
            return name
    return None


def _received_at(message: EmailMessage) -> datetime | None:
    raw_date = _first(message, "Date")
    if raw_date is None or not raw_date.strip():
        return None
    try:
        moment = message["Date"].datetime
    except Exception:  # see _sender
        moment = None
    if moment is None:
        raise MessageParseError(
            f"e-mail Date header '{_shorten(raw_date)}' is not an RFC 5322 "
            f"date; expected e.g. {DATE_EXAMPLE}"
        )
    return as_utc(moment)


def _thread_refs(message: EmailMessage) -> tuple[str, ...]:
    refs: list[str] = []
    for name in ("In-Reply-To", "References"):
        for value in _all(message, name):
            refs.extend(_MESSAGE_ID.findall(value) or value.split())
    return tuple(dict.fromkeys(refs))


def _addresses(message: EmailMessage, name: str) -> list[str]:
    values = _all(message, name)
    try:
        found = [
            address.addr_spec
            for header in message.get_all(name, [])
            for address in header.addresses
            if address.username
        ]
    except Exception:  # see _sender; fall back to the lenient parser
        found = [address for _, address in getaddresses(values) if address]
    return list(dict.fromkeys(_fix_surrogates(address).lower() for address in found))


def _attachments(message: EmailMessage) -> list[str]:
    names: list[str] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        filename = part.get_filename()
        if filename:
            names.append(_fix_surrogates(str(filename)))
    return names


def _body(message: EmailMessage, *, as_text: bool) -> tuple[Message, str]:
    """The body part and its text. ``as_text``: the message was given as ``str``, so parts
    that are not base64 or quoted-printable hold text already, not bytes to decode."""
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    if plain is not None:
        text = _part_text(plain, as_text).replace("\r\n", "\n").replace("\r", "\n").strip()
        if text or html is None:
            return plain, text
    if html is not None:
        return html, html_to_text(_part_text(html, as_text))
    parts = ", ".join(dict.fromkeys(part.get_content_type() for part in message.walk()))
    raise MessageParseError(
        f"e-mail has no text body (its parts: {parts}); a text/plain or text/html part that "
        "is not an attachment is required"
    )


def _part_text(part: Message, as_text: bool) -> str:
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if as_text and encoding not in ("base64", "quoted-printable"):
        payload = part.get_payload()
        return payload if isinstance(payload, str) else ""
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return ""
    return _decode_bytes(data, part.get_content_charset())


# -- header and charset helpers --------------------------------------------------------------------


def _all(message: Message, name: str) -> list[str]:
    """The raw values of header ``name``, unfolded, raw 8-bit text decoded, encoded words
    left as they are."""
    wanted = name.lower()
    return [
        _fix_surrogates(_FOLD.sub("", str(value)).strip())
        for key, value in message.raw_items()
        if key.lower() == wanted
    ]


def _first(message: Message, name: str) -> str | None:
    values = _all(message, name)
    return values[0] if values else None


def _decode_bytes(data: bytes, charset: str | None, guesses: tuple[str, ...] = ("utf-8",)) -> str:
    declared = (charset or "").strip().strip('"').lower()
    candidates = [_CHARSET_ALIASES.get(declared, declared)] if declared else []
    for name in (*candidates, *guesses):
        try:
            return data.decode(name)
        except (LookupError, UnicodeDecodeError):
            continue
    for name in (*candidates, "utf-8"):
        try:
            return data.decode(name, "replace")
        except LookupError:
            continue
    return data.decode("utf-8", "replace")


def _fix_surrogates(text: str) -> str:
    """Header text the parser kept as undecodable bytes (raw 8-bit headers), decoded."""
    if not _SURROGATES.search(text):
        return text
    return _decode_bytes(text.encode("utf-8", "surrogateescape"), None, ("utf-8", "gb18030"))


def _decode_words(value: str) -> str:
    """A header value with its RFC 2047 encoded words decoded, charset aliases applied."""
    out: list[str] = []
    position = 0
    for word in _ENCODED_WORD.finditer(value):
        between = value[position : word.start()]
        if position == 0 or between.strip():
            out.append(_fix_surrogates(between))
        out.append(_decode_word(word))
        position = word.end()
    out.append(_fix_surrogates(value[position:]))
    return _SPACES.sub(" ", "".join(out))


def _decode_word(word: re.Match[str]) -> str:
    charset, encoding, text = word.group(1).split("*")[0], word.group(2).upper(), word.group(3)
    try:
        if encoding == "B":
            data = base64.b64decode(text + "=" * (-len(text) % 4))
        else:
            data = _Q_ESCAPE.sub(
                lambda escape: bytes([int(escape.group(1), 16)]),
                text.replace("_", " ").encode("ascii"),
            )
    except (binascii.Error, UnicodeEncodeError):
        return word.group(0)
    return _decode_bytes(data, charset)


def _shorten(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- HTML to text ----------------------------------------------------------------------------------

_SKIPPED = frozenset({"script", "style", "title", "template"})
_PARAGRAPHS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "ul", "ol", "hr"}
)
_LINES = frozenset(
    {"div", "li", "tr", "dd", "dt", "dl", "section", "article", "header", "footer", "address"}
)


class _HTMLText(HTMLParser):
    """Collects an HTML document's text with line breaks where blocks begin and end."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._out: list[str] = []
        self._skipping = 0
        self._newlines = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skipping += 1
        elif tag == "br":
            self._newlines = min(self._newlines + 1, 2)
        else:
            self._block(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skipping = max(self._skipping - 1, 0)
        else:
            self._block(tag)

    def _block(self, tag: str) -> None:
        if tag in _PARAGRAPHS:
            self._newlines = 2
        elif tag in _LINES:
            self._newlines = max(self._newlines, 1)

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        text = _SPACES.sub(" ", data)
        if not text.strip():
            if self._out and not self._newlines and text:
                self._out.append(" ")
            return
        if self._out and self._newlines:
            self._out.append("\n" * self._newlines)
        self._newlines = 0
        self._out.append(text)

    def text(self) -> str:
        lines = (" ".join(line.split()) for line in "".join(self._out).split("\n"))
        return "\n".join(lines).strip()
