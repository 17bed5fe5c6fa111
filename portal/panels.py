"""The energy panel on a customer's home page: today's and this month's use per meter, linking
to the dashboard."""

from django.http import HttpRequest

from . import selectors

HOME_PANEL_METERS = 5


def energy_panel(request: HttpRequest) -> dict | None:
    user = request.user
    if not user.is_authenticated or not user.is_customer:
        return None
    meters = list(selectors.meters_for_dashboard(user=user)[:HOME_PANEL_METERS])
    if not meters:
        return None
    return {
        "meters": [
            {
                "meter": meter,
                "cards": [
                    card
                    for card in selectors.period_summary(meter=meter)
                    if card["period"] in ("today", "this_month")
                ],
            }
            for meter in meters
        ]
    }
