from django.apps import AppConfig


def _health() -> str | None:
    """Failing once an ingest process has reported and none is alive and connected now; a
    never-started ingest shows on /status and as an alert instead (so a checkout without the
    mqtt process still answers /healthz)."""
    from . import supervision

    state = supervision.ingest_state()
    if state["status"] == supervision.DOWN and state["processes"]:
        return "; ".join(state["reasons"])
    return None


def _status() -> dict:
    from . import selectors

    return selectors.status_section()


class TelemetryConfig(AppConfig):
    """Live smart-meter telemetry over MQTT: devices, payload mapping, the ingest process and its
    supervision. A sub-app of meters: it feeds the meters app's ingest services."""

    name = "meters.telemetry"
    label = "telemetry"
    verbose_name = "Telemetry (MQTT)"

    def ready(self) -> None:
        from config.health import register_health_check
        from config.status import register_status_section

        register_health_check("mqtt_ingest", _health, lambda: "mqtt")
        register_status_section("telemetry", _status)
