from django.apps import AppConfig


class FlexConfig(AppConfig):
    name = "flex"
    label = "flex"
    verbose_name = "Flexibility: smart charging and battery schedules"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from config.portal import register_home_panel

        from . import views

        register_home_panel("flex/home_panel.html", views.home_panel)
