from django.apps import AppConfig


class BatteriesConfig(AppConfig):
    name = "batteries"

    def ready(self) -> None:
        from config.portal import register_home_panel
        from config.status import register_status_section

        from . import selectors, views

        register_status_section("batteries", selectors.fleet_status)
        register_home_panel("batteries/home_panel.html", views.home_panel_context)
