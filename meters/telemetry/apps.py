from django.apps import AppConfig


class TelemetryConfig(AppConfig):
    """Live smart-meter telemetry over MQTT: devices, payload mapping, the ingest process and its
    supervision. A sub-app of meters: it feeds the meters app's ingest services."""

    name = "meters.telemetry"
    label = "telemetry"
    verbose_name = "Telemetry (MQTT)"
