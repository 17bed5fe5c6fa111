from django.apps import AppConfig


class ChargingConfig(AppConfig):
    name = "charging"
    verbose_name = "EV charging"

    def ready(self) -> None:
        from config.status import register_status_section

        from . import selectors

        register_status_section("charging", selectors.charger_counts)
