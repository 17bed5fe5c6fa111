from django.apps import AppConfig


class FlexConfig(AppConfig):
    name = "flex"
    label = "flex"
    verbose_name = "Flexibility: smart charging and battery schedules"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from billing.registry import register_session_savings
        from config.portal import register_home_panel

        from . import services, views

        register_home_panel("flex/home_panel.html", views.home_panel)
        # A smart-charged session's bill line says what it saved (billing sits below flex).
        register_session_savings(services.session_savings_for_bill)
