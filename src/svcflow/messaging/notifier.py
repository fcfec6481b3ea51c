"""From a step's notification requests to outbox rows: resolve roles, render per recipient.

Runs while a change is being committed, so the rows go into the outbox in the same
transaction as the case change. Nothing here may block the case: a role no plugin resolves, a
resolver plugin that raises, a template that fails -- each becomes a ``dead`` outbox row that
says why (visible in ``Engine.outbox(status="dead")``), and the case change commits.
A recipient address that is a URL with ``user:password@`` is stored and shown to templates
without them: secrets belong in the delivering plugin's configuration, not in the outbox.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
from typing import Any

from svcflow.core.effects import NotificationRequest
from svcflow.hooks.host import PluginHost
from svcflow.hooks.types import Recipient
from svcflow.messaging.templates import TemplateError, TemplateRenderer
from svcflow.privacy import strip_url_credentials
from svcflow.records import Case, plain
from svcflow.sla.clocks import SlaPolicy
from svcflow.sla.words import sla_words
from svcflow.store.base import NewDelivery

__all__ = ["Notifier", "SlaPolicies"]

SlaPolicies = Callable[[Case], SlaPolicy | None]
"""The compiled SLA section of a case's workflow version (None: the workflow has none)."""


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
        self, case: Case, key: str, request: NotificationRequest, now: datetime
    ) -> list[NewDelivery]:
        """One row per recipient, keyed ``<key>:<n>``; unresolved roles get a dead row."""
        rows: list[NewDelivery] = []
        due = request.hold_until or now
        recipients, problems = self._recipients(case, request)
        policy = None if self.sla_policies is None else self.sla_policies(case)
        localized = None if policy is None else partial(_sla_context, policy, case)
        for number, recipient in enumerate(recipients, start=1):
            channel = request.channel or recipient.channel
            locale = recipient.locale or case.data.get("locale") or self.renderer.default_locale
            row = NewDelivery(
                key=f"{key}:{number}",
                notification_key=key,
                template=request.template,
                channel=channel,
                address=strip_url_credentials(recipient.address),
                name=recipient.name,
                role=recipient.role,
                locale=str(locale),
                subject="",
                body="",
                urgent=request.urgent,
                next_attempt_at=due,
            )
            try:
                rendered = self.renderer.render(
                    request.template,
                    channel,
                    str(locale),
                    _context(case, recipient, request, now),
                    localized,
                )
            except TemplateError as error:
                rows.append(row._replace(status="dead", error=f"template failed: {error}"))
                continue
            except Exception as error:  # nothing a template does may block the case
                reason = f"template failed: {type(error).__name__}: {error}"
                rows.append(row._replace(status="dead", error=reason))
                continue
            rows.append(
                row._replace(subject=rendered.subject, body=rendered.body, locale=rendered.locale)
            )
        return rows + self._unresolved(key, request, due, problems)

    def _unresolved(
        self,
        key: str,
        request: NotificationRequest,
        due: datetime,
        problems: list[tuple[str, str]],
    ) -> list[NewDelivery]:
        """A dead row for each role that found no recipient, saying why."""
        return [
            NewDelivery(
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
                status="dead",
                error=problem,
            )
            for role, problem in problems
        ]

    def _recipients(
        self, case: Case, request: NotificationRequest
    ) -> tuple[list[Recipient], list[tuple[str, str]]]:
        found: list[Recipient] = []
        problems: list[tuple[str, str]] = []
        for role in request.recipients:
            try:
                resolved = self.plugins.resolve_recipients(role, case)
            except Exception as error:
                problems.append(
                    (role, f"resolving role '{role}' failed: {type(error).__name__}: {error}")
                )
                continue
            if resolved is None:
                problems.append(
                    (
                        role,
                        f"no recipient for role '{role}': name it in Engine(directory=...) or "
                        "install a plugin that resolves it",
                    )
                )
                continue
            found.extend(
                r if r.role else Recipient(r.address, r.channel, r.name, r.locale, role)
                for r in resolved
            )
        return found, problems


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
