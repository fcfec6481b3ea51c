"""The built-in classifier: complaint category and sentiment from words, English and Chinese.

A baseline so that routing and escalation work out of the box; organisations replace it with
their own model through a ``svcflow_classify_message`` plugin registered after it (the later
plugin's verdict wins for every part it sets) or block it (``svcflow.classifier``).
Categories are the domain brief's: product quality, service attitude, logistics, after-sales,
other. Sentiment is -1.0 .. 1.0: negative words against positive ones.
"""

from __future__ import annotations

from collections.abc import Mapping

from svcflow.hooks.specs import hookimpl
from svcflow.hooks.types import Classification, InboundMessage

__all__ = ["CATEGORY_WORDS", "KeywordClassifier"]

CATEGORY_WORDS: Mapping[str, tuple[str, ...]] = {
    "product_quality": (
        "broken",
        "defect",
        "faulty",
        "damaged",
        "quality",
        "stopped working",
        "crack",
        "质量",
        "坏了",
        "损坏",
        "故障",
        "瑕疵",
    ),
    "service_attitude": (
        "rude",
        "impolite",
        "attitude",
        "unfriendly",
        "ignored",
        "hung up",
        "态度",
        "不礼貌",
        "服务差",
        "挂电话",
    ),
    "logistics": (
        "delivery",
        "delivered",
        "shipping",
        "shipment",
        "parcel",
        "package",
        "courier",
        "late",
        "物流",
        "快递",
        "配送",
        "发货",
        "送货",
    ),
    "after_sales": (
        "refund",
        "return",
        "warranty",
        "repair",
        "exchange",
        "replacement",
        "退款",
        "退货",
        "保修",
        "维修",
        "换货",
        "售后",
    ),
}
_NEGATIVE = (
    "angry",
    "unacceptable",
    "terrible",
    "worst",
    "disappointed",
    "complaint",
    "complain",
    "furious",
    "awful",
    "never again",
    "scam",
    "lawyer",
    "media",
    "生气",
    "投诉",
    "失望",
    "太差",
    "愤怒",
    "骗",
    "曝光",
    "无法接受",
)
_POSITIVE = ("thank", "great", "excellent", "happy", "satisfied", "谢谢", "满意", "很好", "感谢")


class KeywordClassifier:
    """Category by the most keyword hits, sentiment by negative against positive words; a
    message with negative sentiment or a category is a ``complaint``."""

    @hookimpl(trylast=True)
    def svcflow_classify_message(self, message: InboundMessage) -> Classification:
        text = f"{message.subject or ''}\n{message.body}".lower()
        hits = {
            category: sum(text.count(word) for word in words)
            for category, words in CATEGORY_WORDS.items()
        }
        best = max(hits, key=lambda category: hits[category])
        category = best if hits[best] else "other"
        negative = sum(text.count(word) for word in _NEGATIVE)
        positive = sum(text.count(word) for word in _POSITIVE)
        sentiment = (
            0.0 if negative + positive == 0 else (positive - negative) / (positive + negative)
        )
        kind = "complaint" if sentiment < 0 or hits[best] else None
        return Classification(
            kind=kind if message.kind == "message" else None,
            category=category,
            sentiment=round(sentiment, 3),
        )
