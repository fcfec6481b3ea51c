"""Everything a plugin author imports, from one module that semantic versioning covers.

A channel, delivery or listener plugin needs the hook marker, the records its hooks receive and
return, the errors it raises to tell svcflow what went wrong, and the payload helpers the
built-in channels use. They are defined in the internal packages (``svcflow.hooks``,
``svcflow.errors``, ``svcflow.messaging.channels``), whose layout may change between minor
versions; the names here stay (``docs/api.md``)::

    from svcflow.plugin import ChannelInfo, Delivery, DeliveryReceipt, hookimpl
"""

from __future__ import annotations

from svcflow.errors import (
    DeliveryFailed,
    MessageParseError,
    MessageRejected,
    PermanentDeliveryError,
    PluginError,
    SvcflowError,
)
from svcflow.hooks.specs import hookimpl
from svcflow.hooks.types import (
    MESSAGE_FIELDS,
    ActionCall,
    Assignment,
    CaseLookup,
    ChannelInfo,
    Classification,
    ContactPoint,
    Customer,
    CustomerErasure,
    Delivery,
    DeliveryReceipt,
    InboundMessage,
    Recipient,
)
from svcflow.messaging.channels.base import (
    PHONE_RULE,
    PayloadReader,
    content_id,
    json_payload,
    normalize_phone,
    parse_timestamp,
    type_name,
)
from svcflow.privacy import mask, masked_logger, strip_url_credentials
from svcflow.records import Case, HistoryEntry

__all__ = [
    "MESSAGE_FIELDS",
    "PHONE_RULE",
    "ActionCall",
    "Assignment",
    "Case",
    "CaseLookup",
    "ChannelInfo",
    "Classification",
    "ContactPoint",
    "Customer",
    "CustomerErasure",
    "Delivery",
    "DeliveryFailed",
    "DeliveryReceipt",
    "HistoryEntry",
    "InboundMessage",
    "MessageParseError",
    "MessageRejected",
    "PayloadReader",
    "PermanentDeliveryError",
    "PluginError",
    "Recipient",
    "SvcflowError",
    "content_id",
    "hookimpl",
    "json_payload",
    "mask",
    "masked_logger",
    "normalize_phone",
    "parse_timestamp",
    "strip_url_credentials",
    "type_name",
]
