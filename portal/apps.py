from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The portal's cross-app pages: a customer's live energy dashboard and mobile view, the
    analyst module and the staff operations page, and the JSON doors the dashboard's scripts
    read. No tables of its own: it reads the other apps through their public doors (selectors,
    services' exports, models for types only).

    A top-level app since issue #15 (it was meters.dashboard, though it aggregates meters,
    billing, batteries and charging). Its label is "portal" (it has no tables, so no migration or
    permission names it); its URL namespace stays "dashboard" and its templates stay in
    templates/dashboard/: {% url "dashboard:..." %}, the pages' scripts and the tests name them
    so, and renaming would churn all of them for no change in behaviour."""

    name = "portal"
    label = "portal"
    verbose_name = "Dashboards"

    def ready(self) -> None:
        from config.portal import register_home_panel

        from .panels import energy_panel

        register_home_panel("dashboard/home_panel.html", energy_panel)
