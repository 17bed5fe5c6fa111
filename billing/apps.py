from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from config.portal import register_home_panel
        from config.status import register_status_section
        from notifications.registry import register_mail_composer

        from . import mail, selectors, tasks, views  # noqa: F401  (tasks: registered by name)

        register_mail_composer("bill_issued", mail.bill_issued_mail)
        register_status_section("billing", selectors.bill_run_status)
        register_home_panel("billing/home_panel.html", views.home_panel_context)

        from meters.services import reading_change_listener_register

        from .services.reading_corrections import bills_rebill_for_reading_change

        reading_change_listener_register(bills_rebill_for_reading_change)
