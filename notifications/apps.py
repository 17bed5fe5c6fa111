from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications and webhooks"

    def ready(self) -> None:
        # The tasks register with Celery here, so a service can enqueue them by name in any
        # process (web, worker, beat) without importing its own door.
        from config.portal import register_profile_section

        from . import tasks, views  # noqa: F401

        register_profile_section(
            "notifications/profile_section.html", views.profile_section_context
        )
