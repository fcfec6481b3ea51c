"""From a step's notification requests to outbox rows: resolve roles, render per recipient.

Runs while a change is being committed, so the rows go into the outbox in the same
transaction as the case change. Nothing here may block the case: a role no plugin resolves, a
resolver plugin that raises, a template that fails -- each becomes a ``dead`` outbox row that
says why (visible in ``Engine.outbox(status="dead")``), and the case change commits.
A recipient address that is a URL with ``user:password@`` is stored and shown to templates
without them: secrets belong in the delivering plugin's configuration, not in the outbox.
A role that resolves to nobody (a customer with no contact point, an empty rota) becomes an
``undeliverable`` row whose error is the :class:`~svcflow.errors.NoRecipient` text, and the
engine adds it to the step's history entry as a warning: never a notice pending for ever.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from svcflow.compiled import raised_from
from svcflow.core.effects import NotificationRequest
from svcflow.errors import NoRecipient
from svcflow.hooks.host import PluginHost
from svcflow.hooks.types import InboundMessage, Recipient
from svcflow.messaging.templates import Rendered, TemplateError, TemplateRenderer
from svcflow.privacy import strip_url_credentials
from svcflow.records import Case, Customer, OutboxEntry, plain
from svcflow.sla.clocks import SlaPolicy
from svcflow.sla.words import sla_words
from svcflow.store.base import NewDelivery

__all__ = ["ADDRESSED_CHANNELS", "NO_AUDIENCE", "Audience", "Notifier", "SlaPolicies"]

SlaPolicies = Callable[[Case], SlaPolicy | None]
"""The compiled SLA section of a case's workflow version (None: the workflow has none)."""

ADDRESSED_CHANNELS = frozenset({"email", "sms"})
"""Channels whose addresses have a form of their own: a notice on one goes to the customer's
contact point there or, without one, nowhere (``undeliverable``)."""


@dataclass(frozen=True, slots=True)
class Audience:
    """What recipient plugins learn besides the case: its owner, and the inbound message that
    caused the step (``None`` for an API call or a timer)."""

    customer: Customer | None = None
    message: InboundMessage | None = None


NO_AUDIENCE = Audience()
"""A step with neither an owning customer nor an inbound message (shared: it is frozen)."""


class Notifier:
    """Turns one notification request of a committed step into outbox rows."""

    def __init__(
        self,
        plugins: PluginHost,
        renderer: TemplateRenderer,
        sla_policies: SlaPolicies | None = None,
    ) -> None:
        self.plugins = plugins
        self.renderer = renderer
        self.sla_policies = sla_policies

    def deliveries(
        self,
        case: Case,
        key: str,
        request: NotificationRequest,
        now: datetime,
        audience: Audience = NO_AUDIENCE,
    ) -> list[NewDelivery]:
        """One row per recipient, keyed ``<key>:<n>``; unresolved roles get a dead row, roles
        resolved to nobody an ``undeliverable`` one."""
        rows: list[NewDelivery] = []
        due = request.hold_until or now
        recipients, problems = self._recipients(case, request, audience)
        localized = self._localized(case) if recipients else None
        for number, recipient in enumerate(recipients, start=1):
            channel = request.channel or recipient.channel
            locale = str(
                recipient.locale or case.data.get("locale") or self.renderer.default_locale
            )
            subject, body, status, error = "", "", "pending", None
            try:
                context = _context(case, recipient, request, now)
                rendered = self.renderer.render(
                    request.template, channel, locale, context, localized
                )
            except TemplateError as failure:
                status, error = "dead", f"template failed: {failure}"
            except Exception as failure:  # nothing a template does may block the case
                status, error = "dead", f"template failed: {type(failure).__name__}: {failure}"
            else:
                subject, body, locale = rendered.subject, rendered.body, rendered.locale
            rows.append(
                NewDelivery.__new__(
                    NewDelivery,
                    key=f"{key}:{number}",
                    notification_key=key,
                    template=request.template,
                    channel=channel,
                    address=strip_url_credentials(recipient.address),
                    name=recipient.name,
                    role=recipient.role,
                    locale=locale,
                    subject=subject,
                    body=body,
                    urgent=request.urgent,
                    next_attempt_at=due,
                    status=status,
                    error=error,
                )
            )
        rows.extend(self._problem_rows(key, request, problems, due))
        return rows

    def _localized(self, case: Case) -> Callable[[str], Mapping[str, Any]] | None:
        """The case's SLA words for templates, by locale (None: its workflow has no SLA)."""
        policy = None if self.sla_policies is None else self.sla_policies(case)
        return None if policy is None else partial(_sla_context, policy, case)

    def _problem_rows(
        self,
        key: str,
        request: NotificationRequest,
        problems: list[tuple[str, str, str]],
        due: datetime,
    ) -> list[NewDelivery]:
        """One ``dead`` or ``undeliverable`` row per role that reached nobody, keyed
        ``<key>:<role>``, saying why."""
        first: dict[str, tuple[str, str]] = {}
        for role, status, problem in problems:
            first.setdefault(role, (status, problem))
        return [
            NewDelivery.__new__(
                NewDelivery,
                key=f"{key}:{role}",
                notification_key=key,
                template=request.template,
                channel=request.channel or "",
                address="",
                name=None,
                role=role,
                locale=self.renderer.default_locale,
                subject="",
                body="",
                urgent=request.urgent,
                next_attempt_at=due,
                status=status,
                error=problem,
            )
            for role, (status, problem) in first.items()
        ]

    def render_again(self, case: Case, entry: OutboxEntry, now: datetime) -> Rendered:
        """An outbox entry's words rendered again from ``case`` as it is now (after its
        template was fixed); raises ``TemplateError`` if it still fails."""
        recipient = Recipient(entry.address, entry.channel, entry.name, entry.locale, entry.role)
        request = NotificationRequest(
            template=entry.template,
            recipients=(entry.role or "",),
            channel=entry.channel,
            urgent=entry.urgent,
        )
        context = _context(case, recipient, request, now)
        localized = self._localized(case)
        try:
            return self.renderer.render(
                entry.template, entry.channel, entry.locale, context, localized
            )
        except TemplateError:
            raise
        except Exception as error:
            raise raised_from(TemplateError(f"{type(error).__name__}: {error}"), None)  # noqa: B904 (svcflow.compiled)

    def _recipients(
        self, case: Case, request: NotificationRequest, audience: Audience
    ) -> tuple[list[Recipient], list[tuple[str, str, str]]]:
        found: list[Recipient] = []
        problems: list[tuple[str, str, str]] = []
        for role in request.recipients:
            try:
                resolved = self.plugins.resolve_recipients(
                    role, case, audience.customer, audience.message
                )
            except Exception as error:
                problems.append(
                    (
                        role,
                        "dead",
                        f"resolving role '{role}' failed: {type(error).__name__}: {error}",
                    )
                )
                continue
            if resolved is None:
                problems.append(
                    (
                        role,
                        "dead",
                        f"no recipient for role '{role}': name it in Engine(directory=...) or "
                        "install a plugin that resolves it",
                    )
                )
                continue
            if not resolved:
                why = _nobody(role, audience.customer)
                problems.append((role, "undeliverable", NoRecipient.text(role, case.id, why)))
                continue
            for r in resolved:
                recipient = r if r.role else Recipient(r.address, r.channel, r.name, r.locale, role)
                moved = _on_channel(recipient, request.channel, audience.customer)
                if moved is None:
                    why = f"the notice goes by {request.channel}, and the customer has no "
                    why += f"{request.channel} contact point"
                    problems.append((role, "undeliverable", NoRecipient.text(role, case.id, why)))
                else:
                    found.append(moved)
        return found, problems


def _on_channel(
    recipient: Recipient, channel: str | None, customer: Customer | None
) -> Recipient | None:
    """The customer as reached on the channel a notice names (``notify: {channel: sms}``): their
    contact point there. An SMS or e-mail goes only to a phone number or e-mail address of theirs
    (``None`` when they have none), never to a chat id; another channel (a kiosk's display)
    gets the address they are known by."""
    if channel is None or channel == recipient.channel or recipient.role != "customer":
        return recipient
    point = None if customer is None else customer.contact(channel)
    if point is not None:
        return Recipient(point.address, channel, recipient.name, recipient.locale, recipient.role)
    if customer is not None and channel in ADDRESSED_CHANNELS:
        return None
    return Recipient(recipient.address, channel, recipient.name, recipient.locale, recipient.role)


def _nobody(role: str, customer: Customer | None) -> str:
    if role != "customer":
        return "every recipient plugin and the directory resolved it to nobody"
    if customer is None:
        return (
            "the case has no customer and no customer_email or customer_phone field; start it "
            "with Engine.start(..., customer=...) or from a message"
        )
    return f"customer '{customer.id}' has no contact point to reach"


def _sla_context(policy: SlaPolicy, case: Case, locale: str) -> Mapping[str, Any]:
    return {"sla": sla_words(policy, case.sla, locale)}


def _context(
    case: Case, recipient: Recipient, request: NotificationRequest, now: datetime
) -> Mapping[str, Any]:
    return {
        "case": {
            "id": case.id,
            "workflow": case.workflow,
            "state": case.state,
            "data": plain(case.data),
        },
        "recipient": {
            "name": recipient.name,
            "role": recipient.role,
            "address": strip_url_credentials(recipient.address),
        },
        "template": request.template,
        "urgent": request.urgent,
        "now": now,
    }
