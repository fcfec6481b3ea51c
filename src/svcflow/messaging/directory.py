"""The built-in recipient directory: who ``customer``, ``assignee`` and named roles are.

A workflow notifies roles; people and addresses change without touching it. This directory is the
fallback every other ``svcflow_resolve_recipients`` plugin (an on-call rota, a CRM lookup of a VIP's
account manager) is asked before: it answers ``customer`` from the customer who owns the case (the
contact point they last wrote from when verified, else their preferred one: see
:func:`~svcflow.messaging.customers.reach`), else the case's ``customer_email`` /
``customer_phone`` fields, else (for a case without an owner) the sender of its first inbound
message, else the directory's own ``customer`` entry; ``assignee`` from the case's ``assignee``
field, and any other role from ``Engine(directory={...})``. Never "whoever wrote last".

It is also the default identity system: ``svcflow_actor_roles`` answers the roles a person holds
from ``Engine(roles={"agent-7": ["agent"], ...})`` (other plugins, such as an LDAP or SSO lookup,
are asked first).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from svcflow.hooks.specs import hookimpl
from svcflow.hooks.types import InboundMessage, Recipient
from svcflow.messaging.customers import REPLY_CHANNELS, contact_of, reach
from svcflow.records import Case, Customer

__all__ = ["REPLY_CHANNELS", "Directory", "recipient_from"]

DirectoryEntry = str | Recipient | Mapping[str, Any]


def recipient_from(entry: DirectoryEntry, role: str | None = None) -> Recipient:
    """A recipient from a directory entry: a ``Recipient``, a mapping with ``address`` and
    ``channel`` (and optionally ``name``, ``locale``), or an address whose form says its
    channel (``x@y`` e-mail, ``+86...`` SMS, ``https://...`` webhook, ``console:name``)."""
    if isinstance(entry, Recipient):
        return entry if entry.role or role is None else _with_role(entry, role)
    if isinstance(entry, Mapping):
        return Recipient(
            str(entry["address"]),
            str(entry.get("channel") or _channel_of(str(entry["address"]))),
            entry.get("name"),
            entry.get("locale"),
            role,
        )
    return Recipient(entry.removeprefix("console:"), _channel_of(entry), None, None, role)


def _with_role(recipient: Recipient, role: str) -> Recipient:
    return Recipient(recipient.address, recipient.channel, recipient.name, recipient.locale, role)


def _channel_of(address: str) -> str:
    if address.startswith(("http://", "https://")):
        return "webhook"
    if address.startswith("console:"):
        return "console"
    if "@" in address:
        return "email"
    if address.lstrip("+").replace(" ", "").isdigit():
        return "sms"
    return "console"


class Directory:
    """Roles to recipients from host configuration and the case itself (see module docs).

    ``entries`` maps a role or a person's name to one entry or a list; ``messages`` returns a
    case's inbound messages, oldest first (the engine attaches its store's).
    """

    def __init__(
        self,
        entries: Mapping[str, DirectoryEntry | Iterable[DirectoryEntry]],
        messages: Callable[[str], list[Mapping[str, Any]]] | None = None,
        roles: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.roles = {person: tuple(held) for person, held in (roles or {}).items()}
        self.entries = {
            name: [value] if isinstance(value, str | Recipient | Mapping) else list(value)
            for name, value in entries.items()
        }
        self._messages = messages or (lambda case_id: [])
        self._outbound: Iterable[str] = ()
        self._reply_channel: Callable[[str], str | None] = lambda channel: None

    def attach(
        self,
        messages: Callable[[str], list[Mapping[str, Any]]],
        outbound: Iterable[str] = (),
        reply_channel: Callable[[str], str | None] | None = None,
    ) -> None:
        """Read customers' messages from here (the engine attaches its store, including the
        message being committed), reply on these channels when a customer wrote on one, and
        ask ``reply_channel`` for the reply channel a channel plugin declared."""
        self._messages = messages
        self._outbound = frozenset(outbound)
        self._reply_channel = reply_channel or self._reply_channel

    @hookimpl(trylast=True)
    def svcflow_actor_roles(self, actor: str) -> Iterable[str] | None:
        return self.roles.get(actor)

    @hookimpl(trylast=True)
    def svcflow_resolve_recipients(
        self, role: str, case: Case, customer: Customer | None, message: InboundMessage | None
    ) -> list[Recipient] | None:
        if role == "customer":
            found = self._owner(case, customer) if customer is not None else None
            return found or self._customer(case) or self._named(role, role) or []
        if role == "assignee":
            person = case.data.get("assignee")
            if not person:
                return []
            return self._named(str(person), role) or [recipient_from(str(person), role)]
        return self._named(role, role)

    def _named(self, name: str, role: str) -> list[Recipient] | None:
        found = self.entries.get(name)
        return None if found is None else [recipient_from(entry, role) for entry in found]

    def _owner(self, case: Case, customer: Customer) -> list[Recipient]:
        messages = self._messages(case.id)
        last = messages[-1] if messages else None
        used = None
        if last is not None:
            channel = str(last["channel"])
            used = contact_of(channel, str(last["sender"]), self._reply_channel(channel))
        point = reach(customer, used)
        if point is None:
            return []
        name = customer.name or case.data.get("customer_name")
        locale = customer.locale or case.data.get("locale")
        return [Recipient(point.address, point.channel, name, locale, "customer")]

    def _customer(self, case: Case) -> list[Recipient]:
        name = case.data.get("customer_name")
        locale = case.data.get("locale")
        for field, channel in (("customer_email", "email"), ("customer_phone", "sms")):
            address = case.data.get(field)
            if address:
                return [Recipient(str(address), channel, name, locale, "customer")]
        messages = self._messages(case.id)
        if not messages:
            return []
        latest = messages[0]  # a case without an owner: whoever wrote first, never a later sender
        sender = str(latest["sender"])
        wrote_on = latest["channel"]
        channel = (
            self._reply_channel(wrote_on)
            or (wrote_on if wrote_on in self._outbound else REPLY_CHANNELS.get(wrote_on))
            or _channel_of(sender)
        )
        return [
            Recipient(
                sender,
                channel,
                latest.get("sender_name") or name,
                latest.get("locale") or locale,
                "customer",
            )
        ]
