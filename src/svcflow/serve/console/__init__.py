"""The web console of ``svcflow serve``: an SLA board, case pages, workflow diagrams and the
KPI report, server-rendered in English and Chinese (zh-CN).

How it works: ``svcflow serve``'s application includes :func:`router` (the console at
``/console/`` over the app's engine and API tokens); :func:`create_console` builds the same
pages as a Starlette application to mount in any ASGI application. Pages are Jinja2
templates filled from view models (:mod:`.views`); forms post back with a CSRF token and fire
triggers with the signed-in agent as the actor (:mod:`.auth`); strings come from gettext
catalogues chosen per request (:mod:`.i18n`).
"""

from svcflow.serve.console.app import create_console
from svcflow.serve.console.auth import Agent, Authenticate
from svcflow.serve.console.mounted import router
from svcflow.serve.console.render import ConsoleSettings

__all__ = ["Agent", "Authenticate", "ConsoleSettings", "create_console", "router"]
