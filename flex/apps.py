from django.apps import AppConfig


class FlexConfig(AppConfig):
    name = "flex"
    label = "flex"
    verbose_name = "Flexibility: smart charging and battery schedules"
    default_auto_field = "django.db.models.BigAutoField"
