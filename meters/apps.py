from django.apps import AppConfig


class MetersConfig(AppConfig):
    name = "meters"
    verbose_name = "Meters"

    def ready(self) -> None:
        from config.portal import register_home_panel
        from config.status import register_status_section

        from . import admin_corrections, selectors, views  # noqa: F401 - registers its admin

        register_status_section("meters", selectors.meters_status)
        register_home_panel("meters/home_panel.html", views.home_panel)
