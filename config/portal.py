"""The one place apps add panels to the portal's home page.

An app registers, in its ``AppConfig.ready()``, a template and a function that returns that
template's context for the requesting user (or None to leave the panel out). The home page renders
the panels in registration order.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest


@dataclass(frozen=True)
class HomePanel:
    template: str
    context: Callable[[HttpRequest], dict | None]


_panels: list[HomePanel] = []


def register_home_panel(template: str, context: Callable[[HttpRequest], dict | None]) -> None:
    _panels.append(HomePanel(template, context))


def home_panels(request: HttpRequest) -> list[tuple[str, dict]]:
    rendered = []
    for panel in _panels:
        context = panel.context(request)
        if context is not None:
            rendered.append((panel.template, context))
    return rendered
