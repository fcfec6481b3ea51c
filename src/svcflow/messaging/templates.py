"""Notification templates: Jinja2 in its sandbox, per channel and locale.

Process owners write the words a customer reads, so templates get the sandboxed environment (no
attribute access to Python internals, no file or module access) and ``StrictUndefined`` (a
misspelled variable is an error, not an empty string in a customer's e-mail).

Files live in a templates directory, one folder per locale (``en``, ``zh-CN``)::

    templates/en/complaint_received.j2          # any channel
    templates/en/complaint_received.sms.j2      # this channel only (tried first)
    templates/zh-CN/complaint_received.j2

A template may define ``{% block subject %}`` and ``{% block body %}``; without blocks the whole
text is the body and the subject is the template's name in words. A locale without the template
falls back to the default locale. Templates see ``case`` (``id``, ``workflow``, ``state``,
``data``), ``recipient`` (``name``, ``role``, ``address``), ``template``, ``urgent``, ``now``
and ``sla``: per SLA metric of the case's workflow its ``target`` (``24h``), ``target_words``
in the template's locale ("24 hours", "12 business hours") and ``warnings`` ("75%"), so a
message that names a deadline changes when the workflow's target does
(:mod:`svcflow.sla.words`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from svcflow.definitions.workflow import LoadedWorkflow
from svcflow.errors import Problem
from svcflow.messaging.template_limits import (
    DEFAULT_TEMPLATE_LIMITS,
    LimitedSandbox,
    TemplateLimitExceeded,
    TemplateLimits,
    collect,
)
from svcflow.spec.walk import referenced_templates
from svcflow.spec.yamlsource import format_key_path

__all__ = [
    "DEFAULT_LOCALE",
    "Rendered",
    "TemplateError",
    "TemplateRenderer",
    "template_problems",
]

DEFAULT_LOCALE = "en"
_SUFFIX = ".j2"


class TemplateError(Exception):
    """A template is missing or failed to render, for any reason (a syntax error, an undefined
    name, or an exception the template raised such as a division by zero); the message names
    the file (and the line when known) and what went wrong."""


@dataclass(frozen=True, slots=True)
class Rendered:
    """A notification's words for one recipient: the subject line, the body, the locale used."""

    subject: str
    body: str
    locale: str


class TemplateRenderer:
    """Renders notification templates from ``directories`` (searched in order).

    With no directories (an engine built without a templates folder) every notification gets
    a plain generic text naming the template and the case, so an embedding application sees
    its outbox working before anyone writes templates; with directories a missing template is
    an error (``missing()`` lists them at start-up).
    """

    def __init__(
        self,
        directories: Iterable[str | Path] = (),
        default_locale: str = DEFAULT_LOCALE,
        limits: TemplateLimits = DEFAULT_TEMPLATE_LIMITS,
    ) -> None:
        self.directories = [Path(directory) for directory in directories]
        self.default_locale = default_locale
        self.limits = limits
        self._environment = LimitedSandbox(
            limits,
            loader=jinja2.FileSystemLoader([str(d) for d in self.directories]),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    @property
    def strict(self) -> bool:
        return bool(self.directories)

    def locales(self) -> list[str]:
        """The locale folders present in the template directories."""
        return sorted(
            {
                entry.name
                for d in self.directories
                if d.is_dir()
                for entry in d.iterdir()
                if entry.is_dir()
            }
        )

    def missing(self, templates: Iterable[str]) -> list[str]:
        """The templates with no file in the default locale (checked at start-up)."""
        if not self.strict:
            return []
        names = set(self._environment.list_templates(extensions=["j2"]))
        prefix = f"{self.default_locale}/"
        return sorted(
            {
                template
                for template in templates
                if not any(
                    name.startswith(prefix) and name[len(prefix) :].split(".")[0] == template
                    for name in names
                )
            }
        )

    def render(
        self,
        template: str,
        channel: str,
        locale: str | None,
        context: Mapping[str, Any],
        localized: Callable[[str], Mapping[str, Any]] | None = None,
    ) -> Rendered:
        """Render ``template`` for ``channel`` in ``locale`` (or the default locale).

        ``localized`` adds variables that depend on the locale the template is found in (a
        missing ``zh-CN`` template falls back to ``en``, and its words must then be English).
        """
        if not self.strict:
            return _generic(template, context, locale or self.default_locale)
        chosen, found = self._find(template, channel, locale)
        if localized is not None:
            context = {**context, **localized(chosen)}
        try:
            compiled = self._environment.get_template(found)
            variables = compiled.new_context(dict(context))
            if "body" in compiled.blocks or "subject" in compiled.blocks:
                subject = _block(compiled, "subject", variables, self.limits) or _title(template)
                body = _block(compiled, "body", variables, self.limits)
            else:
                subject = _title(template)
                body = collect(compiled.generate(dict(context)), self.limits)
        except jinja2.TemplateSyntaxError as error:
            raise TemplateError(
                f"{found}:{error.lineno}: template syntax error: {error.message}"
            ) from None
        except jinja2.UndefinedError as error:
            raise TemplateError(
                f"{found}: {error.message}; templates see case, recipient, template, urgent, "
                "now and sla (case.data holds the case's fields, sla.<metric> its SLA targets)"
            ) from None
        except TemplateLimitExceeded as error:
            raise TemplateError(f"{found}: over a template limit: {error}") from None
        except jinja2.TemplateError as error:
            raise TemplateError(f"{found}: {error}") from None
        except Exception as error:  # 1/0, 'a'+1, a recursive macro: the author's mistake
            raise TemplateError(f"{found}: {type(error).__name__}: {error}") from None
        return Rendered(subject.strip(), body.strip() + "\n", chosen)

    def _find(self, template: str, channel: str, locale: str | None) -> tuple[str, str]:
        tried: list[str] = []
        for candidate in dict.fromkeys(filter(None, (locale, self.default_locale))):
            for name in (
                f"{candidate}/{template}.{channel}{_SUFFIX}",
                f"{candidate}/{template}{_SUFFIX}",
            ):
                tried.append(name)
                if self._exists(name):
                    return candidate, name
        raise TemplateError(
            f"no template '{template}' for channel '{channel}': looked for "
            + ", ".join(tried)
            + f" in {', '.join(str(d) for d in self.directories)}"
        )

    def _exists(self, name: str) -> bool:
        return any((directory / name).is_file() for directory in self.directories)


def _block(compiled: jinja2.Template, name: str, variables: Any, limits: TemplateLimits) -> str:
    render = compiled.blocks.get(name)
    return "" if render is None else collect(render(variables), limits)


def _title(template: str) -> str:
    return template.replace("_", " ").capitalize()


def _generic(template: str, context: Mapping[str, Any], locale: str) -> Rendered:
    case = context.get("case", {})
    lines: Sequence[str] = [
        f"{_title(template)} (case {case.get('id', '?')}, state {case.get('state', '?')})",
        *(f"{name}: {value}" for name, value in dict(case.get("data", {})).items()),
    ]
    return Rendered(
        f"{_title(template)} - case {case.get('id', '?')}", "\n".join(lines) + "\n", locale
    )


def template_problems(
    workflows: Iterable[LoadedWorkflow], renderer: TemplateRenderer
) -> list[Problem]:
    """A problem for every template a workflow names that has no file in the default locale
    (other locales and channel variants fall back to it), with the position of the reference;
    none when the renderer has no templates folder. The engine refuses to start on these, and
    ``svcflow validate`` reports them first."""
    if not renderer.strict:
        return []
    references = [
        (loaded, template, path)
        for loaded in workflows
        for template, path in referenced_templates(loaded.spec)
    ]
    missing = set(renderer.missing(template for _, template, _ in references))
    problems = []
    for loaded, template, path in references:
        if template not in missing:
            continue
        line, column = loaded.source_map.position(path)
        problems.append(
            Problem(
                loaded.file,
                line,
                column,
                format_key_path(path),
                f"no template '{template}' in "
                + ", ".join(str(d / renderer.default_locale) for d in renderer.directories)
                + f"; write {renderer.default_locale}/{template}.j2 there",
            )
        )
    return problems
