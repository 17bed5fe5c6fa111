from django.apps import AppConfig


class BatteriesConfig(AppConfig):
    name = "batteries"

    def ready(self) -> None:
        from config.portal import register_home_panel
        from config.status import register_status_section
        from meters.telemetry import topics
        from meters.telemetry.registry import register_topic_handler

        from . import mqtt, selectors, services, tasks, views

        register_status_section("batteries", selectors.fleet_status)
        register_home_panel("batteries/home_panel.html", views.home_panel_context)
        register_topic_handler(topics.BATTERY_TELEMETRY, mqtt.handle_telemetry_batch)
        register_topic_handler(topics.BATTERY_ACK, mqtt.handle_command_ack)
        services.instructions_delivery_register(queue=tasks.instructions_deliver_task.delay)
