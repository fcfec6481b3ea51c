"""The built-in inbound channels: each payload shape, threading and dedupe ids, and the exact
text a person reads when a payload is rejected."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pluggy
import pytest

from svcflow.errors import MessageParseError
from svcflow.hooks import specs as hookspecs
from svcflow.hooks.types import ChannelInfo, InboundMessage
from svcflow.messaging.channels import (
    BUILTIN_CHANNELS,
    ChatChannel,
    EmailChannel,
    PhoneChannel,
    SmsChannel,
    SocialChannel,
    WebFormChannel,
)
from svcflow.messaging.channels.email import html_to_text

PLUGINS: dict[str, Any] = {
    "email": EmailChannel(),
    "sms": SmsChannel(),
    "chat": ChatChannel(),
    "web_form": WebFormChannel(),
    "phone": PhoneChannel(),
    "social": SocialChannel(),
}


def parse(channel: str, raw: Any) -> InboundMessage:
    message = PLUGINS[channel].svcflow_parse_message(channel=channel, raw=raw)
    assert isinstance(message, InboundMessage)
    assert message.channel == channel
    return message


def rejection(channel: str, raw: Any) -> str:
    with pytest.raises(MessageParseError) as excinfo:
        PLUGINS[channel].svcflow_parse_message(channel=channel, raw=raw)
    assert excinfo.value.reason == str(excinfo.value)
    return str(excinfo.value)


def b64(text: str, charset: str) -> str:
    return base64.b64encode(text.encode(charset)).decode("ascii")


def word(text: str, charset: str) -> str:
    """``text`` as an RFC 2047 encoded word."""
    return f"=?{charset}?B?{b64(text, charset)}?="


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# -- every plugin: what it declares, and silence about other channels ------------------------------


@pytest.mark.parametrize("channel", sorted(PLUGINS))
def test_each_plugin_declares_its_inbound_channel(channel: str) -> None:
    [info] = PLUGINS[channel].svcflow_register_channels()
    assert isinstance(info, ChannelInfo)
    assert (info.name, info.inbound, info.outbound) == (channel, True, False)
    assert info.description


@pytest.mark.parametrize("channel", sorted(PLUGINS))
def test_each_plugin_leaves_other_channels_alone(channel: str) -> None:
    for other, plugin in PLUGINS.items():
        if other != channel:
            assert plugin.svcflow_parse_message(channel=channel, raw=b"not for you") is None


def test_builtin_channels_register_in_one_plugin_manager() -> None:
    pm = pluggy.PluginManager("svcflow")
    pm.add_hookspecs(hookspecs)
    for name, plugin_class in BUILTIN_CHANNELS:
        pm.register(plugin_class(), name=name)
    pm.check_pending()

    names = [name for name, _ in BUILTIN_CHANNELS]
    assert names == [
        "svcflow.channels.email",
        "svcflow.channels.sms",
        "svcflow.channels.chat",
        "svcflow.channels.web_form",
        "svcflow.channels.phone",
        "svcflow.channels.social",
    ]
    declared = [info.name for infos in pm.hook.svcflow_register_channels() for info in infos]
    assert sorted(declared) == ["chat", "email", "phone", "sms", "social", "web_form"]

    message = pm.hook.svcflow_parse_message(
        channel="sms", raw={"id": "SM1", "from": "+8613800138000", "text": "你好"}
    )
    assert isinstance(message, InboundMessage)
    assert (message.channel, message.message_id, message.body) == ("sms", "SM1", "你好")
    assert pm.hook.svcflow_parse_message(channel="fax", raw=b"...") is None


# -- e-mail ----------------------------------------------------------------------------------------

SUPPORT_MAIL = (
    b"From: Li Wei <Li.Wei@Example.com>\r\n"
    b"To: Support <support@shop.example>, orders@shop.example\r\n"
    b"Cc: Zhang Min <ZHANG.MIN@example.com>\r\n"
    b"Subject: Re: Refund for order 88 [case:C-1042]\r\n"
    b"Message-ID: <20240603101500.42@mail.example.com>\r\n"
    b"In-Reply-To: <notify-C-1042-2@svcflow.shop.example>\r\n"
    b"References: <notify-C-1042-1@svcflow.shop.example>\r\n"
    b"\t<notify-C-1042-2@svcflow.shop.example>\r\n"
    b"Date: Mon, 03 Jun 2024 10:15:00 +0800\r\n"
    b"Content-Language: en-GB\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b1"\r\n'
    b"\r\n"
    b"--b1\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Hello,\r\n\r\nthe refund has still not arrived.\r\n\r\nLi Wei\r\n"
    b"--b1\r\n"
    b"Content-Type: application/pdf\r\n"
    b'Content-Disposition: attachment; filename="receipt-88.pdf"\r\n'
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"JVBERi0xLjQK\r\n"
    b"--b1--\r\n"
)

GB2312_MAIL = (
    f"From: {word('王芳', 'gb2312')} <wang.fang@example.cn>\n"
    f"To: kefu@shop.example.cn\n"
    f"Subject: {word('投诉：订单未送达', 'gb2312')}\n"
    f"Message-ID: <gb-1@mail.example.cn>\n"
    f"Date: Tue, 04 Jun 2024 09:00:00 +0800\n"
    f"MIME-Version: 1.0\n"
    f"Content-Type: text/plain; charset=gb2312\n"
    f"Content-Transfer-Encoding: base64\n"
    f"\n"
    f"{b64('你好，我的订单还没有送到，请尽快处理。', 'gb2312')}\n"
).encode("ascii")

# Labelled GB2312 but holding 镕, which only GBK/GB18030 have: common in real mail.
GBK_LABELLED_GB2312_MAIL = (
    f"From: {word('朱镕', 'gbk').replace('gbk', 'gb2312')} <zhu@example.cn>\n"
    f"Subject: =?gb2312?B?{b64('镕的快递', 'gbk')}?=\n"
    f"Content-Type: text/plain; charset=gb2312\n"
    f"Content-Transfer-Encoding: 8bit\n"
    f"\n"
).encode("ascii") + "快递丢了，朱镕。\n".encode("gbk")

UTF8_HEADERS_MAIL = (
    "From: 李伟 <li.wei@example.cn>\n"
    "Subject: 退款问题 [case:C-77]\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: 8bit\n"
    "Content-Language: zh-CN\n"
    "\n"
    "请退款。\n"
).encode()

HTML_ONLY_MAIL = b"""\
From: "Chen Jie" <chen.jie@example.com>
Subject: Broken kettle
Message-ID: <html-only@example.com>
Content-Type: text/html; charset=utf-8

<html><head><title>Ignored title</title><style>p { color: red }</style>
<script>track();</script></head>
<body><p>Hello&nbsp;<b>support</b>,</p>
<p>my kettle stopped working.<br>It is two weeks old.</p>
<ul><li>Order: 88</li><li>Model: K-2</li></ul></body></html>
"""

ALTERNATIVE_MAIL = b"""\
From: chen.jie@example.com
Subject: Both parts
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=us-ascii

Plain wins.
--alt
Content-Type: text/html; charset=utf-8

<p>HTML loses.</p>
--alt--
"""

BLANK_PLAIN_MAIL = ALTERNATIVE_MAIL.replace(b"Plain wins.", b"  ")


def test_email_reads_a_multipart_reply_with_attachment() -> None:
    message = parse("email", SUPPORT_MAIL)
    assert message == InboundMessage(
        channel="email",
        message_id="20240603101500.42@mail.example.com",
        sender="li.wei@example.com",
        sender_name="Li Wei",
        subject="Re: Refund for order 88 [case:C-1042]",
        body="Hello,\n\nthe refund has still not arrived.\n\nLi Wei",
        received_at=utc(2024, 6, 3, 2, 15),
        thread_refs=(
            "notify-C-1042-2@svcflow.shop.example",
            "notify-C-1042-1@svcflow.shop.example",
        ),
        case_ref="C-1042",
        locale="en-GB",
        fields=message.fields,
    )
    assert dict(message.fields) == {
        "to": ["support@shop.example", "orders@shop.example"],
        "cc": ["zhang.min@example.com"],
        "attachments": ["receipt-88.pdf"],
    }


@pytest.mark.parametrize(
    ("raw", "sender", "sender_name", "subject", "body"),
    [
        pytest.param(
            GB2312_MAIL,
            "wang.fang@example.cn",
            "王芳",
            "投诉：订单未送达",
            "你好，我的订单还没有送到，请尽快处理。",
            id="gb2312-base64",
        ),
        pytest.param(
            GBK_LABELLED_GB2312_MAIL,
            "zhu@example.cn",
            "朱镕",
            "镕的快递",
            "快递丢了，朱镕。",
            id="gbk-characters-labelled-gb2312",
        ),
        pytest.param(
            UTF8_HEADERS_MAIL,
            "li.wei@example.cn",
            "李伟",
            "退款问题 [case:C-77]",
            "请退款。",
            id="raw-utf8-headers",
        ),
        pytest.param(
            UTF8_HEADERS_MAIL.decode("utf-8"),
            "li.wei@example.cn",
            "李伟",
            "退款问题 [case:C-77]",
            "请退款。",
            id="given-as-str",
        ),
    ],
)
def test_email_reads_chinese_mail(
    raw: bytes | str, sender: str, sender_name: str, subject: str, body: str
) -> None:
    message = parse("email", raw)
    assert (message.sender, message.sender_name, message.subject, message.body) == (
        sender,
        sender_name,
        subject,
        body,
    )


def test_email_gb2312_mail_keeps_its_headers() -> None:
    message = parse("email", GB2312_MAIL)
    assert message.message_id == "gb-1@mail.example.cn"
    assert message.received_at == utc(2024, 6, 4, 1, 0)
    assert dict(message.fields)["to"] == ["kefu@shop.example.cn"]


def test_email_case_and_locale_from_a_chinese_subject() -> None:
    message = parse("email", UTF8_HEADERS_MAIL)
    assert (message.case_ref, message.locale) == ("C-77", "zh-CN")


def test_email_html_only_body_becomes_text() -> None:
    message = parse("email", HTML_ONLY_MAIL)
    assert message.body == (
        "Hello support,\n\nmy kettle stopped working.\nIt is two weeks old.\n\n"
        "Order: 88\nModel: K-2"
    )
    assert (message.sender_name, message.message_id) == ("Chen Jie", "html-only@example.com")


@pytest.mark.parametrize(
    ("raw", "body"),
    [
        pytest.param(ALTERNATIVE_MAIL, "Plain wins.", id="plain-preferred"),
        pytest.param(BLANK_PLAIN_MAIL, "HTML loses.", id="blank-plain-falls-back-to-html"),
        pytest.param(b"From: a@example.com\n\n  \n", "", id="empty-plain-body-is-an-empty-message"),
    ],
)
def test_email_body_choice(raw: bytes, body: str) -> None:
    assert parse("email", raw).body == body


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>a</p><p>b</p>", "a\n\nb"),
        ("<div>a</div><div>b</div>", "a\nb"),
        ("x<br>y<br/><br>z", "x\ny\n\nz"),
        ("<b>bold</b> <i>italic</i>", "bold italic"),
        ("Fish &amp; chips &lt;3", "Fish & chips <3"),
        ("<style>body{}</style><script>if (a < b) {}</script>only this", "only this"),
        ("<p>  spread\n   over\tlines  </p>", "spread over lines"),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


@pytest.mark.parametrize(
    ("headers", "refs"),
    [
        ("In-Reply-To: <a@x>", ("a@x",)),
        ("References: <r1@x> <r2@x>", ("r1@x", "r2@x")),
        ("In-Reply-To: <r2@x>\nReferences: <r1@x>\n <r2@x>", ("r2@x", "r1@x")),
        ("In-Reply-To: bare-id@x", ("bare-id@x",)),
        ("Subject: no threading", ()),
    ],
)
def test_email_thread_refs(headers: str, refs: tuple[str, ...]) -> None:
    raw = f"From: a@example.com\n{headers}\n\nbody\n"
    assert parse("email", raw).thread_refs == refs


@pytest.mark.parametrize(
    ("subject", "case_ref"),
    [
        ("[case:C-1042] refund", "C-1042"),
        ("Re: Re: late delivery [Case: ord_77]", "ord_77"),
        ("case C-1042 without brackets", None),
        ("[case:] empty", None),
    ],
)
def test_email_case_ref_from_subject(subject: str, case_ref: str | None) -> None:
    raw = f"From: a@example.com\nSubject: {subject}\n\nbody\n"
    assert parse("email", raw).case_ref == case_ref


def test_email_without_message_id_gets_a_deterministic_content_id() -> None:
    raw = b"From: a@example.com\nSubject: no id\n\nsame body\n"
    first, again = parse("email", raw), parse("email", raw)
    other = parse("email", raw.replace(b"same", b"other"))
    assert first.message_id == again.message_id
    assert first.message_id.startswith("sha256:") and len(first.message_id) == 7 + 64
    assert other.message_id != first.message_id
    assert parse("email", raw.decode("ascii")).message_id == first.message_id


@pytest.mark.parametrize(
    ("date", "received_at"),
    [
        ("Mon, 03 Jun 2024 10:15:00 +0800", utc(2024, 6, 3, 2, 15)),
        ("Mon, 03 Jun 2024 10:15:00 -0000", utc(2024, 6, 3, 10, 15)),
        ("3 Jun 2024 10:15 GMT", utc(2024, 6, 3, 10, 15)),
    ],
)
def test_email_date_in_utc(date: str, received_at: datetime) -> None:
    message = parse("email", f"From: a@example.com\nDate: {date}\n\nbody\n")
    assert message.received_at == received_at
    assert message.received_at.tzinfo is UTC


def test_email_without_date_or_subject() -> None:
    message = parse("email", "From: a@example.com\n\nbody\n")
    assert (message.received_at, message.subject, message.sender_name) == (None, None, None)
    assert dict(message.fields) == {"to": [], "cc": [], "attachments": []}


EXAMPLE_FROM = "e.g. 'From: Li Wei <li.wei@example.com>'"
SHAPE = "header lines such as 'From: Li Wei <li.wei@example.com>', a blank line, then the body"


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        pytest.param(
            b"",
            f"e-mail payload is empty; send the raw RFC 5322 message: {SHAPE}",
            id="empty-bytes",
        ),
        pytest.param(
            " \n\n ",
            f"e-mail payload is empty; send the raw RFC 5322 message: {SHAPE}",
            id="blank-str",
        ),
        pytest.param(
            {"from": "a@example.com"},
            "e-mail payload must be the raw RFC 5322 message as bytes or str, not dict",
            id="not-bytes-or-str",
        ),
        pytest.param(
            b"hello, my order never arrived\nplease help",
            "e-mail payload has no header lines (it starts with 'hello, my order never "
            f"arrived'); send the raw RFC 5322 message: {SHAPE}",
            id="not-an-email",
        ),
        pytest.param(
            b"Subject: refund\nTo: support@shop.example\n\nbody",
            "e-mail has no From header (headers found: Subject, To); the sender's address is "
            f"required, {EXAMPLE_FROM}",
            id="no-from",
        ),
        pytest.param(
            b"Subject: refund\nthis line is not a header\nFrom: a@example.com\n\nbody",
            "e-mail has no From header (headers found: Subject; the headers end early, at a "
            "line that is not a header: 'this line is not a header'); the sender's address is "
            f"required, {EXAMPLE_FROM}",
            id="header-block-cut-short",
        ),
        pytest.param(
            b"From: Li Wei\n\nbody",
            "e-mail From header 'Li Wei' has no address (addr-spec local part with no "
            f"domain); expected {EXAMPLE_FROM}",
            id="from-name-only",
        ),
        pytest.param(
            b"From: <>\n\nbody",
            f"e-mail From header '<>' has no address (null addr-spec in angle-addr); expected "
            f"{EXAMPLE_FROM}",
            id="from-empty-brackets",
        ),
        pytest.param(
            b"From: undisclosed-recipients:;\n\nbody",
            f"e-mail From header 'undisclosed-recipients:;' has no address; expected "
            f"{EXAMPLE_FROM}",
            id="from-empty-group",
        ),
        pytest.param(
            b"From: Li Wei <li@\n\nbody",
            f"e-mail From header 'Li Wei <li@' is not a valid address; expected {EXAMPLE_FROM}",
            id="from-unparseable",
        ),
        pytest.param(
            b"From: a@example.com\nContent-Type: application/pdf\n\n%PDF",
            "e-mail has no text body (its parts: application/pdf); a text/plain or text/html "
            "part that is not an attachment is required",
            id="no-text-part",
        ),
        pytest.param(
            b'From: a@example.com\nContent-Type: multipart/mixed; boundary="b"\n\n'
            b"--b\nContent-Type: text/plain\nContent-Disposition: attachment; "
            b"filename=a.txt\n\nx\n--b--\n",
            "e-mail has no text body (its parts: multipart/mixed, text/plain); a text/plain "
            "or text/html part that is not an attachment is required",
            id="only-a-text-attachment",
        ),
        pytest.param(
            b"From: a@example.com\nDate: yesterday afternoon\n\nbody",
            "e-mail Date header 'yesterday afternoon' is not an RFC 5322 date; expected e.g. "
            "'Date: Mon, 03 Jun 2024 10:15:00 +0800'",
            id="invalid-date",
        ),
    ],
)
def test_email_rejections(raw: Any, error: str) -> None:
    assert rejection("email", raw) == error


# -- SMS -------------------------------------------------------------------------------------------

SMS_FIELDS = "required fields: id, from, text; optional: to, received_at, locale"
PHONE_RULE = "'+' and 6 to 15 digits, e.g. '+8613800138000' (spaces and dashes are allowed)"
SMS_OK = {"id": "SM1", "from": "+8613800138000", "text": "hello"}


def test_sms_reads_a_gateway_message() -> None:
    raw = {
        "id": "SM8f2a",
        "from": "+86 138-0013-8000",
        "to": "10690000",
        "text": "  我的快递三天没动了，订单88  ",
        "received_at": "2024-06-03T10:15:00+08:00",
        "locale": "zh-CN",
        "gateway": "aliyun",
    }
    message = parse("sms", raw)
    assert message == InboundMessage(
        channel="sms",
        message_id="SM8f2a",
        sender="+8613800138000",
        body="我的快递三天没动了，订单88",
        received_at=utc(2024, 6, 3, 2, 15),
        thread_refs=("sms:+8613800138000",),
        locale="zh-CN",
        fields=message.fields,
    )
    assert dict(message.fields) == {"to": "10690000", "gateway": "aliyun"}


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda payload: payload, id="dict"),
        pytest.param(lambda payload: json.dumps(payload, ensure_ascii=False), id="json-text"),
        pytest.param(
            lambda payload: json.dumps(payload, ensure_ascii=False).encode(), id="json-bytes"
        ),
    ],
)
def test_sms_accepts_dict_json_text_and_bytes(encode: Callable[[Any], Any]) -> None:
    payload = {
        "id": 4711,
        "from": "13800138000",
        "to": 10690000,
        "text": "你好",
        "received_at": "2024-06-03T02:15Z",
    }
    message = parse("sms", encode(payload))
    assert (message.message_id, message.sender, message.body, message.received_at) == (
        "4711",
        "13800138000",
        "你好",
        utc(2024, 6, 3, 2, 15),
    )
    assert dict(message.fields) == {"to": "10690000"}
    assert dict(parse("sms", SMS_OK).fields) == {"to": None}


def test_sms_from_one_number_threads_together_however_spaced() -> None:
    first = parse("sms", {"id": "1", "from": "+86 138 0013 8000", "text": "order 88?"})
    second = parse("sms", {"id": "2", "from": "+86-138-0013-8000", "text": "hello??"})
    assert first.thread_refs == second.thread_refs == ("sms:+8613800138000",)
    assert first.sender == second.sender


def test_sms_naive_timestamp_is_utc() -> None:
    message = parse(
        "sms",
        {"id": "1", "from": "+4915112345678", "text": "hi", "received_at": "2024-06-03 08:00"},
    )
    assert message.received_at == utc(2024, 6, 3, 8, 0)


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (
            {"from": "+8613800138000", "text": "hi"},
            f"SMS payload is missing required field 'id'; {SMS_FIELDS}",
        ),
        (
            {"id": "SM1", "text": "hi"},
            f"SMS payload is missing required field 'from'; {SMS_FIELDS}",
        ),
        (
            {"id": "SM1", "from": "+8613800138000"},
            f"SMS payload is missing required field 'text'; {SMS_FIELDS}",
        ),
        (
            {**SMS_OK, "text": 42},
            "SMS payload field 'text' must be a string, not int",
        ),
        (
            {**SMS_OK, "text": None},
            "SMS payload field 'text' must not be null",
        ),
        (
            {**SMS_OK, "text": "   "},
            "SMS payload field 'text' must not be empty",
        ),
        (
            {**SMS_OK, "id": ""},
            "SMS payload field 'id' must not be empty",
        ),
        (
            {**SMS_OK, "id": 1.5},
            "SMS payload field 'id' must be a string or an integer, not float",
        ),
        (
            {**SMS_OK, "from": "call me"},
            f"SMS payload field 'from' is not a phone number: 'call me'; expected {PHONE_RULE}",
        ),
        (
            {**SMS_OK, "from": "+86 123"},
            f"SMS payload field 'from' is not a phone number: '+86 123'; expected {PHONE_RULE}",
        ),
        (
            {**SMS_OK, "from": 8613800138000},
            "SMS payload field 'from' must be a string, not int",
        ),
        (
            {**SMS_OK, "received_at": "03/06/2024"},
            "SMS payload field 'received_at' is not an ISO 8601 timestamp: '03/06/2024'; expected "
            "e.g. '2024-06-03T10:15:00+08:00'",
        ),
        (
            {**SMS_OK, "received_at": 1717380900},
            "SMS payload field 'received_at' must be a string, not int",
        ),
        (
            {**SMS_OK, "locale": ["zh"]},
            "SMS payload field 'locale' must be a string, not list",
        ),
        (
            '{"id": "SM1", "from": ',
            "SMS payload is not valid JSON: Expecting value at line 1 column 23",
        ),
        (
            "[1, 2]",
            "SMS payload must be a JSON object, not a JSON list",
        ),
        (
            b"\xff\xfe",
            "SMS payload is not UTF-8 text (byte 0); send a JSON object",
        ),
        (
            12,
            "SMS payload must be a JSON object (a dict, or JSON text), not int",
        ),
    ],
)
def test_sms_rejections(raw: Any, error: str) -> None:
    assert rejection("sms", raw) == error


# -- chat ------------------------------------------------------------------------------------------

CHAT_OK = {"conversation_id": "conv-77", "message_id": "m-1", "from": "user-5521", "text": "在吗？"}


def test_chat_reads_a_wechat_message() -> None:
    raw = {
        **CHAT_OK,
        "name": "李伟",
        "sent_at": "2024-06-03T10:15:00+08:00",
        "locale": "zh-CN",
        "app": "wechat",
        "bot_handled": True,
        "openid": "o6_bmjrPTlm6_2sgVt7hMZOPfL2M",
    }
    message = parse("chat", raw)
    assert message == InboundMessage(
        channel="chat",
        message_id="m-1",
        sender="user-5521",
        sender_name="李伟",
        body="在吗？",
        received_at=utc(2024, 6, 3, 2, 15),
        thread_refs=("chat:conv-77",),
        locale="zh-CN",
        fields=message.fields,
    )
    assert dict(message.fields) == {
        "app": "wechat",
        "bot_handled": True,
        "openid": "o6_bmjrPTlm6_2sgVt7hMZOPfL2M",
    }


def test_chat_messages_of_one_conversation_thread_together() -> None:
    first = parse("chat", CHAT_OK)
    second = parse("chat", {**CHAT_OK, "message_id": "m-2", "text": "订单88"})
    elsewhere = parse("chat", {**CHAT_OK, "conversation_id": 78, "message_id": "m-3"})
    assert first.thread_refs == second.thread_refs == ("chat:conv-77",)
    assert elsewhere.thread_refs == ("chat:78",)
    assert dict(first.fields) == {"app": None, "bot_handled": False}


CHAT_FIELDS = (
    "required fields: conversation_id, message_id, from, text; "
    "optional: name, sent_at, locale, app, bot_handled"
)


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (
            {k: v for k, v in CHAT_OK.items() if k != "conversation_id"},
            f"chat payload is missing required field 'conversation_id'; {CHAT_FIELDS}",
        ),
        (
            {k: v for k, v in CHAT_OK.items() if k != "message_id"},
            f"chat payload is missing required field 'message_id'; {CHAT_FIELDS}",
        ),
        (
            {**CHAT_OK, "from": ["user"]},
            "chat payload field 'from' must be a string or an integer, not list",
        ),
        (
            {**CHAT_OK, "text": ""},
            "chat payload field 'text' must not be empty",
        ),
        (
            {**CHAT_OK, "bot_handled": "yes"},
            "chat payload field 'bot_handled' must be true or false, not str",
        ),
        (
            {**CHAT_OK, "sent_at": "10:15"},
            "chat payload field 'sent_at' is not an ISO 8601 timestamp: '10:15'; expected e.g. "
            "'2024-06-03T10:15:00+08:00'",
        ),
        (
            {**CHAT_OK, "name": 7},
            "chat payload field 'name' must be a string, not int",
        ),
        (
            "",
            "chat payload is not valid JSON: Expecting value at line 1 column 1",
        ),
    ],
)
def test_chat_rejections(raw: Any, error: str) -> None:
    assert rejection("chat", raw) == error


# -- web form --------------------------------------------------------------------------------------

FORM = {
    "name": "王芳",
    "email": "Wang.Fang@Example.cn",
    "phone": "+86 139 1234 5678",
    "subject": "快递丢失",
    "message": "我的包裹显示已签收，但我没有收到。",
    "type": "Complaint",
    "category": "delivery",
    "order_id": "88",
    "submitted_at": "2024-06-03T10:15:00+08:00",
    "locale": "zh-CN",
    "utm_source": "footer",
}


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda form: form, id="dict"),
        pytest.param(lambda form: json.dumps(form, ensure_ascii=False), id="json-text"),
        pytest.param(lambda form: urlencode(form), id="urlencoded-text"),
        pytest.param(lambda form: urlencode(form).encode("ascii"), id="urlencoded-bytes"),
    ],
)
def test_web_form_reads_a_complaint_in_every_encoding(encode: Callable[[Any], Any]) -> None:
    message = parse("web_form", encode(FORM))
    assert message == InboundMessage(
        channel="web_form",
        message_id=message.message_id,
        sender="wang.fang@example.cn",
        sender_name="王芳",
        subject="快递丢失",
        body="我的包裹显示已签收，但我没有收到。",
        kind="complaint",
        category="delivery",
        received_at=utc(2024, 6, 3, 2, 15),
        locale="zh-CN",
        fields=message.fields,
    )
    assert dict(message.fields) == {
        "email": "wang.fang@example.cn",
        "phone": "+8613912345678",
        "order_id": "88",
        "utm_source": "footer",
    }
    assert message.message_id == parse("web_form", FORM).message_id


def test_web_form_content_id_is_deterministic() -> None:
    first = parse("web_form", {"message": "hi", "email": "a@example.com"})
    same = parse("web_form", "email=a%40example.com&message=hi&phone=")
    other = parse("web_form", {"message": "hi!", "email": "a@example.com"})
    assert first.message_id == same.message_id
    assert first.message_id.startswith("sha256:") and len(first.message_id) == 7 + 64
    assert other.message_id != first.message_id


def test_web_form_phone_only_with_ids_given() -> None:
    message = parse(
        "web_form",
        {
            "message": "Call me back please",
            "phone": "0151-2345-6789",
            "submission_id": "F-900",
            "case_id": "C-1042",
            "type": "inquiry",
        },
    )
    assert (message.sender, message.message_id, message.case_ref, message.kind) == (
        "015123456789",
        "F-900",
        "C-1042",
        "inquiry",
    )
    assert dict(message.fields) == {"email": None, "phone": "015123456789", "order_id": None}


def test_web_form_extra_fields_become_strings() -> None:
    form = "message=hi&email=a%40example.com&topics=billing&topics=refund&newsletter=on"
    json_form = {
        "message": "hi",
        "email": "a@example.com",
        "consent": True,
        "rating": 2,
        "tags": ["late", "rude"],
        "blank": "",
    }
    assert dict(parse("web_form", form).fields) == {
        "email": "a@example.com",
        "phone": None,
        "order_id": None,
        "topics": "billing, refund",
        "newsletter": "on",
    }
    assert dict(parse("web_form", json_form).fields) == {
        "email": "a@example.com",
        "phone": None,
        "order_id": None,
        "consent": "true",
        "rating": "2",
        "tags": "late, rude",
    }
    assert parse("web_form", form).kind == "message"


FORM_FIELDS = (
    "required fields: message; optional: email, phone, name, subject, type, category, "
    "case_id, submission_id, submitted_at, locale, order_id"
)


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (
            {"email": "a@example.com"},
            f"web form payload is missing required field 'message'; {FORM_FIELDS}",
        ),
        (
            "email=a%40example.com&message=",
            f"web form payload is missing required field 'message'; {FORM_FIELDS}",
        ),
        (
            {"message": "hi", "name": "Li"},
            "web form payload needs 'email' or 'phone' to answer the customer, and has neither; "
            f"{FORM_FIELDS}",
        ),
        (
            {"message": "hi", "email": "li.wei@example"},
            "web form payload field 'email' is not an e-mail address: 'li.wei@example'; expected "
            "name@domain.tld",
        ),
        (
            {"message": "hi", "phone": "12-34"},
            f"web form payload field 'phone' is not a phone number: '12-34'; expected {PHONE_RULE}",
        ),
        (
            {"message": "hi", "email": "a@example.com", "type": "very angry"},
            "web form payload field 'type' must be a lower-case identifier (letters, digits, '_') "
            "such as complaint, inquiry or praise, not 'very angry'",
        ),
        (
            {"message": 3, "email": "a@example.com"},
            "web form payload field 'message' must be a string, not int",
        ),
        (
            {"message": "hi", "email": "a@example.com", "submitted_at": "today"},
            "web form payload field 'submitted_at' is not an ISO 8601 timestamp: 'today'; "
            "expected e.g. '2024-06-03T10:15:00+08:00'",
        ),
        (
            "message=hi&email=a%40example.com&email=b%40example.com",
            "web form payload field 'email' was given 2 times; send it once",
        ),
        (
            {"message": "hi", "email": "a@example.com", "address": {"city": "Beijing"}},
            "web form payload field 'address' must be text, a number or true/false, not dict",
        ),
        (
            "",
            "web form payload is empty; send the form's fields as a JSON object or form-encoded "
            "(message=...&email=...)",
        ),
        (
            "I want a refund",
            "web form payload is neither a JSON object nor form-encoded (message=...&email=...): "
            "'I want a refund'",
        ),
        (
            "message=%FF&email=a%40example.com",
            "web form payload is form-encoded, but a percent-escaped value is not UTF-8",
        ),
        (
            b"message=\xff",
            "web form payload is not UTF-8 text (byte 8); send a JSON object or form-encoded "
            "fields (message=...&email=...)",
        ),
        (
            '{"message": "hi",}',
            "web form payload is not valid JSON: Expecting property name enclosed in double "
            "quotes at line 1 column 18",
        ),
        (
            None,
            "web form payload must be a JSON object (a dict, or JSON text), not NoneType",
        ),
    ],
)
def test_web_form_rejections(raw: Any, error: str) -> None:
    assert rejection("web_form", raw) == error


# -- phone -----------------------------------------------------------------------------------------

CALL_OK = {
    "call_id": "CALL-42",
    "caller": "+86 10 6552 9988",
    "started_at": "2024-06-03T09:58:00+08:00",
}


def test_phone_reads_a_call_record() -> None:
    raw = {
        **CALL_OK,
        "duration_seconds": 312,
        "direction": "Inbound",
        "agent": "zhang.min",
        "summary": "客户投诉快递延误，已承诺24小时内回电。",
        "ivr_path": ["main", "orders", "complaints"],
        "case_id": "C-1042",
        "recording_url": "https://pbx.example.com/rec/42",
        "locale": "zh-CN",
        "queue": "vip",
    }
    message = parse("phone", raw)
    assert message == InboundMessage(
        channel="phone",
        message_id="CALL-42",
        sender="+861065529988",
        body="客户投诉快递延误，已承诺24小时内回电。",
        received_at=utc(2024, 6, 3, 1, 58),
        thread_refs=("phone:+861065529988",),
        case_ref="C-1042",
        locale="zh-CN",
        fields=message.fields,
    )
    assert dict(message.fields) == {
        "duration_seconds": 312,
        "direction": "inbound",
        "agent": "zhang.min",
        "ivr_path": ["main", "orders", "complaints"],
        "recording_url": "https://pbx.example.com/rec/42",
        "queue": "vip",
    }


@pytest.mark.parametrize("summary", [{}, {"summary": ""}, {"summary": None}])
def test_phone_summary_may_be_missing_or_empty(summary: dict[str, Any]) -> None:
    message = parse("phone", {**CALL_OK, **summary})
    assert message.body == ""
    assert dict(message.fields) == {
        "duration_seconds": None,
        "direction": "inbound",
        "agent": None,
        "ivr_path": [],
        "recording_url": None,
    }


PHONE_FIELDS = (
    "required fields: call_id, caller, started_at; optional: duration_seconds, direction, "
    "agent, summary, ivr_path, case_id, recording_url, locale"
)


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (
            {"call_id": "C1", "started_at": "2024-06-03T09:58:00Z"},
            f"phone payload is missing required field 'caller'; {PHONE_FIELDS}",
        ),
        (
            {k: v for k, v in CALL_OK.items() if k != "started_at"},
            f"phone payload is missing required field 'started_at'; {PHONE_FIELDS}",
        ),
        (
            {**CALL_OK, "started_at": "2024-06-31T09:58:00"},
            "phone payload field 'started_at' is not an ISO 8601 timestamp: "
            "'2024-06-31T09:58:00'; expected e.g. '2024-06-03T10:15:00+08:00'",
        ),
        (
            {**CALL_OK, "duration_seconds": -5},
            "phone payload field 'duration_seconds' must be 0 or more, not -5",
        ),
        (
            {**CALL_OK, "duration_seconds": "312"},
            "phone payload field 'duration_seconds' must be an integer, not str",
        ),
        (
            {**CALL_OK, "duration_seconds": True},
            "phone payload field 'duration_seconds' must be an integer, not bool",
        ),
        (
            {**CALL_OK, "direction": "sideways"},
            "phone payload field 'direction' must be one of inbound, outbound, not 'sideways'",
        ),
        (
            {**CALL_OK, "ivr_path": "main>orders"},
            "phone payload field 'ivr_path' must be a list of strings, not str",
        ),
        (
            {**CALL_OK, "ivr_path": ["main", 2]},
            "phone payload field 'ivr_path' must be a list of strings, but item 1 is int",
        ),
        (
            {**CALL_OK, "summary": ["a"]},
            "phone payload field 'summary' must be a string, not list",
        ),
    ],
)
def test_phone_rejections(raw: Any, error: str) -> None:
    assert rejection("phone", raw) == error


# -- social ----------------------------------------------------------------------------------------

POST = {
    "platform": "weibo",
    "post_id": "4990001",
    "author": "@liwei88",
    "author_name": "李伟",
    "text": "@某某商城 买的电水壶两周就坏了，客服也不回！",
    "url": "https://weibo.com/1234/4990001",
    "followers": 15200,
    "posted_at": "2024-06-03T10:15:00+08:00",
    "locale": "zh-CN",
    "reposts": 31,
}


def test_social_reads_a_public_weibo_post() -> None:
    message = parse("social", POST)
    assert message == InboundMessage(
        channel="social",
        message_id="weibo:4990001",
        sender="@liwei88",
        sender_name="李伟",
        body="@某某商城 买的电水壶两周就坏了，客服也不回！",
        received_at=utc(2024, 6, 3, 2, 15),
        locale="zh-CN",
        tags=("public",),
        fields=message.fields,
    )
    assert dict(message.fields) == {
        "platform": "weibo",
        "url": "https://weibo.com/1234/4990001",
        "followers": 15200,
        "public": True,
        "reposts": 31,
    }


def test_social_reply_threads_to_its_parents_message_id() -> None:
    parent = parse("social", POST)
    reply = parse(
        "social",
        {
            "platform": "Weibo",
            "post_id": 4990002,
            "parent_id": 4990001,
            "author": "@liwei88",
            "text": "还是没人理",
        },
    )
    assert reply.message_id == "weibo:4990002"
    assert reply.thread_refs == (parent.message_id,)


def test_social_private_message_is_not_tagged_public() -> None:
    message = parse(
        "social",
        {
            "platform": "x",
            "post_id": "17",
            "author": "@chen",
            "text": "DM: order 88",
            "public": False,
        },
    )
    assert (message.tags, message.thread_refs) == ((), ())
    assert dict(message.fields) == {
        "platform": "x",
        "url": None,
        "followers": None,
        "public": False,
    }


SOCIAL_FIELDS = (
    "required fields: platform, post_id, author, text; "
    "optional: author_name, parent_id, url, followers, public, posted_at, locale"
)
POST_OK = {"platform": "weibo", "post_id": "1", "author": "@li", "text": "hi"}


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (
            {k: v for k, v in POST_OK.items() if k != "platform"},
            f"social payload is missing required field 'platform'; {SOCIAL_FIELDS}",
        ),
        (
            {k: v for k, v in POST_OK.items() if k != "author"},
            f"social payload is missing required field 'author'; {SOCIAL_FIELDS}",
        ),
        (
            {**POST_OK, "platform": "we chat"},
            "social payload field 'platform' must be a lower-case identifier (letters, digits, "
            "'_') such as weibo, wechat, x or facebook, not 'we chat'",
        ),
        (
            {**POST_OK, "platform": 3},
            "social payload field 'platform' must be a string, not int",
        ),
        (
            {**POST_OK, "text": " "},
            "social payload field 'text' must not be empty",
        ),
        (
            {**POST_OK, "followers": -1},
            "social payload field 'followers' must be 0 or more, not -1",
        ),
        (
            {**POST_OK, "public": "yes"},
            "social payload field 'public' must be true or false, not str",
        ),
        (
            {**POST_OK, "parent_id": {"id": 1}},
            "social payload field 'parent_id' must be a string or an integer, not dict",
        ),
        (
            {**POST_OK, "posted_at": "yesterday"},
            "social payload field 'posted_at' is not an ISO 8601 timestamp: 'yesterday'; expected "
            "e.g. '2024-06-03T10:15:00+08:00'",
        ),
    ],
)
def test_social_rejections(raw: Any, error: str) -> None:
    assert rejection("social", raw) == error
