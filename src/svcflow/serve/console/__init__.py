"""The web console of ``svcflow serve``: an SLA board, case pages, workflow diagrams and the
KPI report, server-rendered in English and Chinese (zh-CN).

How it works: :func:`create_console` builds a Starlette application over an
:class:`~svcflow.engine.Engine`, mounted by ``svcflow serve`` at ``/console``. Pages are Jinja2
templates filled from view models (:mod:`.views`); forms post back with a CSRF token and fire
triggers with the signed-in agent as the actor (:mod:`.auth`); strings come from gettext
catalogues chosen per request (:mod:`.i18n`).
"""

from svcflow.serve.console.app import create_console
from svcflow.serve.console.auth import Agent, Authenticate
from svcflow.serve.console.render import ConsoleSettings

__all__ = ["Agent", "Authenticate", "ConsoleSettings", "create_console"]
