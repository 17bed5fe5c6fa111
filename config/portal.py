"""The one place apps add panels to the portal's home page and sections to the profile page.

An app registers, in its ``AppConfig.ready()``, a template and a function that returns that
template's context for the requesting user (or None to leave the panel out). The page renders
them in registration order (home panels as ``panel``, profile sections as ``section``).
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest


@dataclass(frozen=True)
class HomePanel:
    template: str
    context: Callable[[HttpRequest], dict | None]


_panels: list[HomePanel] = []
_profile_sections: list[HomePanel] = []


def register_home_panel(template: str, context: Callable[[HttpRequest], dict | None]) -> None:
    _panels.append(HomePanel(template, context))


def register_profile_section(template: str, context: Callable[[HttpRequest], dict | None]) -> None:
    _profile_sections.append(HomePanel(template, context))


def _rendered(registered: list[HomePanel], request: HttpRequest) -> list[tuple[str, dict]]:
    rendered = []
    for panel in registered:
        context = panel.context(request)
        if context is not None:
            rendered.append((panel.template, context))
    return rendered


def home_panels(request: HttpRequest) -> list[tuple[str, dict]]:
    return _rendered(_panels, request)


def profile_sections(request: HttpRequest) -> list[tuple[str, dict]]:
    return _rendered(_profile_sections, request)
