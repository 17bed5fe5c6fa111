from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The portal's dashboards: a customer's live energy dashboard and mobile view, the analyst
    module and the staff operations page. No tables of its own: it reads the other apps'
    selectors."""

    name = "meters.dashboard"
    label = "dashboard"
    verbose_name = "Dashboards"
    # Its pages have short addresses of their own (/dashboard/, /m/, /analyst/, /ops/).
    url_prefix = ""

    def ready(self) -> None:
        from config.portal import register_home_panel

        from .panels import energy_panel

        register_home_panel("dashboard/home_panel.html", energy_panel)
