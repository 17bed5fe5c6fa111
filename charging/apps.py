from django.apps import AppConfig


class ChargingConfig(AppConfig):
    name = "charging"
    verbose_name = "EV charging"

    def ready(self) -> None:
        from config.portal import register_home_panel
        from config.status import register_status_section

        from . import selectors, views

        register_status_section("charging", selectors.charger_counts)
        register_home_panel("charging/home_panel.html", views.home_panel)
